-- Compliance per product: the violations of the last sync's checks (contracts and governance
-- policies) located in the product or one of its datasets, counted by severity.
with

products as (

    select * from {{ ref('stg_mesh_catalog__products') }}

),

datasets as (

    select dataset_id, unique_id, product_id
    from {{ ref('stg_mesh_catalog__datasets') }}
    where dataset_kind = 'product'

),

violations as (

    select * from {{ source('mesh_catalog', 'violations') }}

),

located as (

    select
        coalesce(products.product_id, by_node.product_id, by_id.product_id) as product_id,
        violations.severity,
        violations.rule

    from violations
    left join products
        on violations.node = products.product_id
    left join datasets as by_node
        on violations.node = by_node.unique_id
    left join datasets as by_id
        on violations.node = by_id.dataset_id

),

counts as (

    select
        product_id,
        count(distinct case when severity = 'error' then rule end) as error_rules_count,
        count(case when severity = 'error' then 1 end) as errors_count,
        count(case when severity = 'warn' then 1 end) as warnings_count

    from located
    where product_id is not null
    group by product_id

),

final as (

    select
        products.product_id,
        products.domain,
        products.product_name,
        products.owner_email,
        coalesce(counts.errors_count, 0) as errors_count,
        coalesce(counts.warnings_count, 0) as warnings_count,
        coalesce(counts.error_rules_count, 0) as error_rules_count,
        case
            when coalesce(counts.errors_count, 0) > 0 then 'violations'
            when coalesce(counts.warnings_count, 0) > 0 then 'warnings'
            else 'compliant'
        end as compliance

    from products
    left join counts
        on products.product_id = counts.product_id

)

select * from final
