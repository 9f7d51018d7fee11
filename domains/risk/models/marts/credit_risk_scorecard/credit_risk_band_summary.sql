-- The scorecard per region and risk band: how many customers, how many defaulted, and the
-- expected loss, the two numbers the business goal is measured on.
with scorecard as (
    select * from {{ ref('credit_risk_scorecard') }}
),

bands as (
    select
        region,
        risk_band,
        count(*) as customer_count,
        count(case when is_defaulted then 1 end) as defaulted_customer_count,
        avg(probability_of_default) as average_probability_of_default,
        sum(exposure_at_default) as total_exposure_at_default,
        sum(expected_loss) as total_expected_loss
    from scorecard
    group by region, risk_band
)

select
    region || '-' || risk_band as band_id,
    region,
    risk_band,
    customer_count,
    defaulted_customer_count,
    cast(round(defaulted_customer_count / customer_count, 4) as decimal(6, 4))
        as observed_default_rate,
    cast(round(average_probability_of_default, 4) as decimal(6, 4))
        as average_probability_of_default,
    cast(total_exposure_at_default as decimal(18, 2)) as total_exposure_at_default,
    cast(total_expected_loss as decimal(18, 2)) as total_expected_loss
from bands
