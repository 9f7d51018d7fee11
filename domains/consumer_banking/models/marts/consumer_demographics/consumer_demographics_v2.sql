with customers as (
    select * from {{ ref('int_customers_enriched') }}
),

final as (
    select
        customer_id,
        full_name,
        email,
        national_id,
        birth_date,
        age_band,
        street_address,
        city,
        country,
        region,
        signup_date,
        ccpa_opt_out
    from customers
)

select * from final
