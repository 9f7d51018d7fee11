-- Every active product names an owner who can be reached: an email address.
with

products as (

    select * from {{ ref('stg_mesh_catalog__products') }}

),

violations as (

    select
        product_id,
        owner_name,
        owner_email

    from products
    where status = 'active'
        and (owner_email is null or owner_email not like '%_@_%')

)

select * from violations
