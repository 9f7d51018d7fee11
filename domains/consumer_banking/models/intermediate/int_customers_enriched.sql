-- Customers with the attributes derived for the demographics product (full name, age band).
with customers as (
    select * from {{ ref('stg_customers') }}
),

aged as (
    select
        *,
        {{ dbt.datediff('birth_date', 'current_date', 'year') }}
            - case
                when extract(month from current_date) * 100 + extract(day from current_date)
                    < extract(month from birth_date) * 100 + extract(day from birth_date)
                then 1 else 0
            end as age_years
    from customers
)

select
    customer_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    email,
    national_id,
    birth_date,
    case
        when age_years < 25 then '18-24'
        when age_years < 35 then '25-34'
        when age_years < 45 then '35-44'
        when age_years < 55 then '45-54'
        when age_years < 65 then '55-64'
        else '65+'
    end as age_band,
    street_address,
    city,
    country,
    region,
    signup_date,
    ccpa_opt_out
from aged
