-- Each portfolio's market value, in total and per asset class.
with holdings as (
    select * from {{ ref('stg_holdings') }}
),

portfolios as (
    select * from {{ ref('stg_portfolios') }}
),

valued as (
    select
        portfolio_id,
        count(*) as holding_count,
        sum(market_value) as market_value,
        coalesce(sum(case when asset_class = 'equity' then market_value end), 0)
            as equity_value,
        coalesce(sum(case when asset_class = 'fixed_income' then market_value end), 0)
            as fixed_income_value,
        coalesce(sum(case when asset_class = 'cash' then market_value end), 0) as cash_value,
        coalesce(sum(case
            when asset_class in ('real_estate', 'alternatives') then market_value end), 0)
            as other_value
    from holdings
    group by portfolio_id
)

select
    portfolios.portfolio_id,
    portfolios.customer_id,
    portfolios.region,
    portfolios.risk_profile,
    portfolios.opened_date,
    coalesce(valued.holding_count, 0) as holding_count,
    cast(coalesce(valued.market_value, 0) as decimal(16, 2)) as market_value,
    cast(coalesce(valued.equity_value, 0) as decimal(16, 2)) as equity_value,
    cast(coalesce(valued.fixed_income_value, 0) as decimal(16, 2)) as fixed_income_value,
    cast(coalesce(valued.cash_value, 0) as decimal(16, 2)) as cash_value,
    cast(coalesce(valued.other_value, 0) as decimal(16, 2)) as other_value
from portfolios
left join valued
    on portfolios.portfolio_id = valued.portfolio_id
