with portfolios as (
    select * from {{ ref('int_portfolio_values') }}
),

final as (
    select
        portfolio_id,
        customer_id,
        region,
        risk_profile,
        opened_date,
        holding_count,
        market_value
    from portfolios
)

select * from final
