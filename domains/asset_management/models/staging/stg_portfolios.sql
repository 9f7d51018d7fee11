with source as (
    select * from {{ source('raw', 'portfolios') }}
),

renamed as (
    select
        cast(portfolio_id as bigint) as portfolio_id,
        cast(customer_id as bigint) as customer_id,
        risk_profile,
        cast(opened_date as date) as opened_date,
        upper(region) as region
    from source
)

select * from renamed
