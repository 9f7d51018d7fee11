with transactions as (
    select * from {{ ref('stg_card_transactions') }}
),

monthly as (
    select
        card_account_id,
        cast(date_trunc('month', transaction_ts) as date) as activity_month,
        count(*) as transaction_count,
        count(*) filter (where is_declined) as declined_count,
        count(*) filter (where merchant_category = 'cash_advance' and not is_declined)
            as cash_advance_count,
        coalesce(sum(amount) filter (where not is_declined), 0) as spend_amount
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
