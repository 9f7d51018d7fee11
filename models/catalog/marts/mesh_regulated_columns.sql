-- Every regulated column of a product dataset with the controls its regulation requires (the
-- platform's seed regulation_controls, which the regulation.* policies enforce).
with

column_regulations as (

    select * from {{ ref('stg_mesh_catalog__column_regulations') }}

),

controls as (

    select * from {{ ref('regulation_controls') }}

),

final as (

    select
        column_regulations.column_regulation_id || '.' || controls.control as column_control_id,
        column_regulations.dataset_id,
        column_regulations.column_name,
        column_regulations.regulation,
        controls.control,
        controls.requirement,
        controls.parameter

    from column_regulations
    inner join controls
        on column_regulations.regulation = controls.regulation

)

select * from final
