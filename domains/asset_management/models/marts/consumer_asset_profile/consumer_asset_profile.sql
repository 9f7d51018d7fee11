with portfolios as (
    select * from {{ ref('int_portfolio_values') }}
),

-- the risk profile of the client's largest portfolio
main_profile as (
    select
        customer_id,
        max_by(risk_profile, market_value) as risk_profile
    from portfolios
    group by customer_id
),

per_customer as (
    select
        customer_id,
        any_value(region) as region,
        count(*) as portfolio_count,
        sum(holding_count) as holding_count,
        sum(market_value) as total_assets,
        sum(equity_value) as equity_value,
        sum(fixed_income_value) as fixed_income_value,
        sum(cash_value) as cash_value,
        sum(other_value) as other_value,
        min(opened_date) as client_since
    from portfolios
    group by customer_id
),

final as (
    select
        per_customer.customer_id,
        per_customer.region,
        main_profile.risk_profile,
        per_customer.portfolio_count,
        cast(per_customer.holding_count as bigint) as holding_count,
        cast(per_customer.total_assets as decimal(16, 2)) as total_assets,
        cast(per_customer.equity_value as decimal(16, 2)) as equity_value,
        cast(per_customer.fixed_income_value as decimal(16, 2)) as fixed_income_value,
        cast(per_customer.cash_value as decimal(16, 2)) as cash_value,
        cast(per_customer.other_value as decimal(16, 2)) as other_value,
        cast(case when per_customer.total_assets > 0
            then round((per_customer.cash_value + per_customer.fixed_income_value)
                / per_customer.total_assets, 4)
        end as decimal(6, 4)) as liquid_share,
        per_customer.client_since
    from per_customer
    inner join main_profile
        on per_customer.customer_id = main_profile.customer_id
)

select * from final
