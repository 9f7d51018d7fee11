with accounts as (
    select * from {{ ref('stg_card_accounts') }}
),

customers as (
    select * from {{ ref('stg_customers') }}
),

activity as (
    select * from {{ ref('int_card_account_activity') }}
),

final as (
    select
        accounts.card_account_id,
        accounts.customer_id,
        customers.region,
        customers.country,
        accounts.card_number,
        accounts.card_type,
        accounts.status,
        accounts.opened_date,
        accounts.credit_limit,
        accounts.current_balance,
        cast(case when accounts.credit_limit > 0
            then round(accounts.current_balance / accounts.credit_limit, 4)
        end as decimal(8, 4)) as utilization,
        accounts.days_past_due,
        coalesce(activity.transactions_12m, 0) as transactions_12m,
        coalesce(activity.declined_transactions_12m, 0) as declined_transactions_12m,
        cast(coalesce(activity.decline_rate_12m, 0) as decimal(6, 4)) as decline_rate_12m,
        coalesce(activity.cash_advances_12m, 0) as cash_advances_12m,
        cast(coalesce(activity.spend_12m, 0) as decimal(14, 2)) as spend_12m,
        activity.last_transaction_at
    from accounts
    inner join customers
        on accounts.customer_id = customers.customer_id
    left join activity
        on accounts.card_account_id = activity.card_account_id
)

select * from final
