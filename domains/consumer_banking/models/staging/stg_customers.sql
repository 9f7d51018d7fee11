with source as (
    select * from {{ source('raw', 'customers') }}
),

renamed as (
    select
        cast(customer_id as bigint) as customer_id,
        first_name,
        last_name,
        lower(email) as email,
        national_id,
        cast(birth_date as date) as birth_date,
        street_address,
        city,
        upper(country) as country,
        upper(region) as region,
        cast(signup_date as date) as signup_date,
        coalesce(cast(ccpa_opt_out as boolean), false) as ccpa_opt_out
    from source
)

select * from renamed
