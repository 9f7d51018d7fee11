with customers as (
    select * from {{ ref('int_customers_enriched') }}
),

final as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        national_id,
        birth_date,
        street_address,
        city,
        country,
        region,
        signup_date,
        ccpa_opt_out
    from customers
)

select * from final
