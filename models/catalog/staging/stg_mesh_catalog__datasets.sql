with

source as (

    select * from {{ source('mesh_catalog', 'datasets') }}

),

renamed as (

    select
        dataset_id,
        address,
        domain,
        product_id,
        dataset as dataset_name,
        kind as dataset_kind,
        unique_id,
        -- versions of one model share its unique_id up to the version suffix
        split_part(unique_id, '.', 3) as model_name,
        version,
        latest_version,
        is_latest,
        relation,
        cast(left(deprecation_date, 10) as date) as deprecation_date,
        coalesce(contract_enforced, false) as contract_enforced,
        description,
        last_build_status,
        last_success_at,
        build_seconds,
        row_count,
        fresh as is_fresh,
        tests_total,
        tests_passed,
        pass_rate,
        health,
        {{ mesh_platform.json_list_join('health_reasons') }} as health_reasons

    from source

)

select * from renamed
