-- One row per customer of the bank with every signal the scorecard uses.
with customers as (
    select * from {{ ref('consumer_banking', 'consumer_demographics', v=2) }}
),

cards as (
    select * from {{ ref('int_customer_card_exposure') }}
),

assets as (
    select * from {{ ref('int_customer_assets') }}
),

loans as (
    select * from {{ ref('int_customer_loans') }}
)

select
    customers.customer_id,
    customers.region,
    customers.age_band,
    coalesce(cards.card_count, 0) as card_count,
    coalesce(cards.frozen_card_count, 0) as frozen_card_count,
    coalesce(cards.total_credit_limit, 0) as total_credit_limit,
    coalesce(cards.total_card_balance, 0) as total_card_balance,
    coalesce(cards.utilization, 0) as utilization,
    coalesce(cards.max_days_past_due, 0) as max_days_past_due,
    coalesce(cards.decline_rate_12m, 0) as decline_rate_12m,
    coalesce(cards.cash_advances_12m, 0) as cash_advances_12m,
    coalesce(assets.total_assets, 0) as total_assets,
    coalesce(loans.loan_count, 0) as loan_count,
    coalesce(loans.open_loan_principal, 0) as open_loan_principal,
    coalesce(loans.late_loan_count, 0) as late_loan_count,
    coalesce(loans.defaulted_loan_count, 0) as defaulted_loan_count
from customers
left join cards
    on customers.customer_id = cards.customer_id
left join assets
    on customers.customer_id = assets.customer_id
left join loans
    on customers.customer_id = loans.customer_id
