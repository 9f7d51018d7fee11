with

source as (

    select * from {{ source('mesh_catalog', 'columns') }}

),

regulations as (

    {{ mesh_platform.json_list_rows('source', ['dataset_id', 'column_name'], 'regulations') }}

),

renamed as (

    select distinct
        dataset_id || '.' || column_name || '.' || value as column_regulation_id,
        dataset_id || '.' || column_name as column_id,
        dataset_id,
        column_name,
        value as regulation

    from regulations

)

select * from renamed
