-- Card exposure and behaviour per customer, from consumer banking's card product.
with cards as (
    select * from {{ ref('consumer_banking', 'consumer_credit_card_profile') }}
),

open_cards as (
    select * from cards where status != 'closed'
),

per_customer as (
    select
        customer_id,
        count(*) as card_count,
        sum(credit_limit) as total_credit_limit,
        sum(current_balance) as total_card_balance,
        max(days_past_due) as max_days_past_due,
        sum(transactions_12m) as transactions_12m,
        sum(declined_transactions_12m) as declined_transactions_12m,
        sum(cash_advances_12m) as cash_advances_12m,
        count(case when status = 'frozen' then 1 end) as frozen_card_count
    from open_cards
    group by customer_id
)

select
    customer_id,
    card_count,
    frozen_card_count,
    cast(total_credit_limit as decimal(14, 2)) as total_credit_limit,
    cast(total_card_balance as decimal(14, 2)) as total_card_balance,
    cast(case when total_credit_limit > 0
        then round(total_card_balance / total_credit_limit, 4)
    end as decimal(8, 4)) as utilization,
    max_days_past_due,
    cast(case when transactions_12m > 0
        then round(declined_transactions_12m / transactions_12m, 4) else 0
    end as decimal(6, 4)) as decline_rate_12m,
    cash_advances_12m
from per_customer
