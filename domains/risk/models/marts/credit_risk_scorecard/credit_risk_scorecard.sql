-- A logistic credit-risk scorecard: the log-odds of default from card utilization,
-- delinquency, declines, cash advances and late loans, lowered by the assets held with the firm
-- (customers without an open card, a thin file, start from the average risk instead); scaled to 300-850 (600 points at odds of 20:1 against default, 50 points to double the odds).
with features as (
    select * from {{ ref('int_customer_risk_features') }}
),

scored as (
    select
        *,
        -4.6
            + 2.4 * least(utilization, 1.2)
            + 10.0 * decline_rate_12m
            + 0.012 * max_days_past_due
            + 0.05 * least(cash_advances_12m, 20)
            + 0.8 * least(late_loan_count, 2)
            + case when card_count = 0 then 1.8 else 0 end
            - 0.35 * ln(1 + total_assets / 10000)
        as log_odds
    from features
),

probabilities as (
    select
        *,
        1 / (1 + exp(-log_odds)) as pd,
        total_card_balance + open_loan_principal as ead
    from scored
),

final as (
    select
        customer_id,
        region,
        age_band,
        cast(card_count as bigint) as card_count,
        cast(total_credit_limit as decimal(14, 2)) as total_credit_limit,
        cast(total_card_balance as decimal(14, 2)) as total_card_balance,
        cast(utilization as decimal(8, 4)) as utilization,
        cast(max_days_past_due as integer) as max_days_past_due,
        cast(decline_rate_12m as decimal(6, 4)) as decline_rate_12m,
        cast(cash_advances_12m as bigint) as cash_advances_12m,
        cast(total_assets as decimal(16, 2)) as total_assets,
        cast(loan_count as bigint) as loan_count,
        cast(open_loan_principal as decimal(14, 2)) as open_loan_principal,
        cast(late_loan_count as bigint) as late_loan_count,
        cast(round(pd, 6) as decimal(8, 6)) as probability_of_default,
        cast(greatest(300, least(850,
            round(600 + 50 / ln(2) * (-log_odds - ln(20))))) as integer) as score,
        case
            when 600 + 50 / ln(2) * (-log_odds - ln(20)) >= 700 then 'very_low'
            when 600 + 50 / ln(2) * (-log_odds - ln(20)) >= 650 then 'low'
            when 600 + 50 / ln(2) * (-log_odds - ln(20)) >= 600 then 'medium'
            when 600 + 50 / ln(2) * (-log_odds - ln(20)) >= 550 then 'high'
            else 'very_high'
        end as risk_band,
        cast(ead as decimal(14, 2)) as exposure_at_default,
        -- losses are recovered from assets held with the firm first
        cast(round(pd * ead * case when total_assets >= ead then 0.25 else 0.45 end, 2)
            as decimal(14, 2)) as expected_loss,
        defaulted_loan_count > 0 as is_defaulted
    from probabilities
)

select * from final
