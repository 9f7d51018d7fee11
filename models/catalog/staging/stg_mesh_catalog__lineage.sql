with

source as (

    select * from {{ source('mesh_catalog', 'lineage') }}

),

renamed as (

    select
        level as lineage_level,
        upstream as upstream_unique_id,
        upstream_column,
        upstream_domain,
        upstream_dataset as upstream_dataset_id,
        downstream as downstream_unique_id,
        downstream_column,
        downstream_domain,
        downstream_dataset as downstream_dataset_id,
        downstream_product as downstream_product_id,
        transform as column_transform

    from source

)

select * from renamed
