with

source as (

    select * from {{ source('mesh_catalog', 'ports') }}

),

renamed as (

    select
        product_id,
        direction as port_direction,
        kind as port_kind,
        ref as port_ref,
        unique_id,
        domain,
        dataset_id,
        consumer_product as consumer_product_id

    from source

)

select * from renamed
