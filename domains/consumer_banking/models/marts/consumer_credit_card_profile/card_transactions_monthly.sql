with monthly as (
    select * from {{ ref('int_card_transactions_monthly') }}
),

accounts as (
    select * from {{ ref('stg_card_accounts') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

final as (
    select
        cast(monthly.card_account_id as varchar) || '-'
            || cast(extract(year from monthly.activity_month) as varchar) || '-'
            || lpad(cast(extract(month from monthly.activity_month) as varchar), 2, '0')
            as card_month_id,
        monthly.card_account_id,
        accounts.customer_id,
        customers.region,
        monthly.activity_month,
        monthly.transaction_count,
        monthly.declined_count,
        monthly.cash_advance_count,
        monthly.spend_amount
    from monthly
    inner join accounts
        on monthly.card_account_id = accounts.card_account_id
    inner join customers
        on accounts.customer_id = customers.customer_id
)

select * from final
