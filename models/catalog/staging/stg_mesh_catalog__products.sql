with

source as (

    select * from {{ source('mesh_catalog', 'products') }}

),

renamed as (

    select
        product_id,
        domain,
        product as product_name,
        owner_name,
        owner_email,
        description,
        status,
        tier,
        sla_freshness,
        {{ mesh_platform.json_list_join('tags') }} as tags,
        support,
        datasets as datasets_count,
        tests_passed,
        tests_failed,
        pass_rate,
        health,
        {{ mesh_platform.json_list_join('health_reasons') }} as health_reasons

    from source

)

select * from renamed
