with

source as (

    select * from {{ source('mesh_catalog', 'columns') }}

),

renamed as (

    select
        dataset_id || '.' || column_name as column_id,
        dataset_id,
        column_name,
        position as column_position,
        data_type,
        description,
        classification,
        {{ mesh_platform.is_masked_classification('classification') }} as is_classified,
        {{ mesh_platform.json_list_length('regulations') }} as regulations_count,
        {{ mesh_platform.json_list_join('regulations') }} as regulations,
        {{ mesh_platform.json_list_join('constraints') }} as constraints

    from source

)

select * from renamed
