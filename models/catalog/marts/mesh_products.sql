with

products as (

    select * from {{ ref('stg_mesh_catalog__products') }}

),

ports as (

    select * from {{ ref('stg_mesh_catalog__ports') }}

),

datasets as (

    select * from {{ ref('stg_mesh_catalog__datasets') }}

),

consumers as (

    select
        product_id,
        count(distinct consumer_product_id) as consumer_products_count,
        count(distinct domain) as consumer_domains_count,
        count(distinct unique_id) as consumer_models_count

    from ports
    where port_direction = 'consumer'
    group by 1

),

upstream_products as (

    select
        ports.product_id,
        count(distinct datasets.product_id) as upstream_products_count

    from ports
    inner join datasets
        on ports.port_ref = datasets.dataset_id
    where ports.port_direction = 'input'
        and ports.port_kind = 'product'
    group by 1

),

final as (

    select
        products.product_id,
        products.domain,
        products.product_name,
        products.description,
        products.owner_name,
        products.owner_email,
        products.status,
        products.tier,
        products.sla_freshness,
        products.tags,
        products.support,
        products.datasets_count,
        products.tests_passed,
        products.tests_failed,
        products.pass_rate,
        products.health,
        products.health_reasons,
        coalesce(consumers.consumer_products_count, 0) as consumer_products_count,
        coalesce(consumers.consumer_domains_count, 0) as consumer_domains_count,
        coalesce(consumers.consumer_models_count, 0) as consumer_models_count,
        coalesce(upstream_products.upstream_products_count, 0) as upstream_products_count

    from products
    left join consumers
        on products.product_id = consumers.product_id
    left join upstream_products
        on products.product_id = upstream_products.product_id

)

select * from final
