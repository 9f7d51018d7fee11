-- Every pii column names at least one regulation it falls under (gdpr, ccpa, ...), so privacy
-- requests and audits can find it.
with

columns as (

    select * from {{ ref('stg_mesh_catalog__columns') }}

),

violations as (

    select
        column_id,
        dataset_id,
        column_name

    from columns
    where classification = 'pii'
        and regulations_count = 0

)

select * from violations
