with transactions as (
    select * from {{ ref('stg_card_transactions') }}
),

monthly as (
    select
        card_account_id,
        cast(date_trunc('month', transaction_ts) as date) as activity_month,
        count(*) as transaction_count,
        count(case when is_declined then 1 end) as declined_count,
        count(case when merchant_category = 'cash_advance' and not is_declined then 1 end)
            as cash_advance_count,
        coalesce(sum(case when not is_declined then amount end), 0) as spend_amount
    from transactions
    group by all
)

select
    card_account_id,
    activity_month,
    transaction_count,
    declined_count,
    cash_advance_count,
    cast(spend_amount as decimal(14, 2)) as spend_amount
from monthly
