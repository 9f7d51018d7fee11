-- Each card's activity over the twelve months before the latest transaction on record.
with transactions as (
    select * from {{ ref('stg_card_transactions') }}
),

as_of as (
    select max(transaction_ts) as as_of_ts from transactions
),

last_year as (
    select transactions.*
    from transactions
    cross join as_of
    where transactions.transaction_ts > {{ dbt.dateadd('month', -12, 'as_of.as_of_ts') }}
),

activity as (
    select
        card_account_id,
        count(*) as transactions_12m,
        count(case when is_declined then 1 end) as declined_transactions_12m,
        count(case when merchant_category = 'cash_advance' and not is_declined then 1 end)
            as cash_advances_12m,
        coalesce(sum(case when not is_declined then amount end), 0) as spend_12m,
        max(transaction_ts) as last_transaction_at
    from last_year
    group by card_account_id
)

select
    card_account_id,
    transactions_12m,
    declined_transactions_12m,
    cash_advances_12m,
    cast(spend_12m as decimal(14, 2)) as spend_12m,
    cast(round(declined_transactions_12m / transactions_12m, 4) as decimal(6, 4))
        as decline_rate_12m,
    last_transaction_at
from activity
