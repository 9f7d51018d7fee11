with

columns as (

    select * from {{ ref('stg_mesh_catalog__columns') }}
    where is_classified

),

datasets as (

    select * from {{ ref('stg_mesh_catalog__datasets') }}

),

products as (

    select * from {{ ref('stg_mesh_catalog__products') }}

),

final as (

    select
        columns.column_id,
        columns.dataset_id,
        datasets.address,
        datasets.domain,
        datasets.product_id,
        datasets.dataset_kind,
        datasets.dataset_name,
        datasets.is_latest,
        columns.column_name,
        columns.column_position,
        columns.data_type,
        columns.description,
        columns.classification,
        columns.regulations,
        columns.regulations_count,
        products.owner_name,
        products.owner_email

    from columns
    inner join datasets
        on columns.dataset_id = datasets.dataset_id
    left join products
        on datasets.product_id = products.product_id

)

select * from final
