-- Every published dataset (an output port of a product) enforces its dbt contract, so its
-- columns and types are a promise to consumers, not an accident of the last build.
with

datasets as (

    select * from {{ ref('stg_mesh_catalog__datasets') }}

),

violations as (

    select
        dataset_id,
        product_id,
        unique_id

    from datasets
    where dataset_kind = 'product'
        and not contract_enforced

)

select * from violations
