with source as (
    select * from {{ source('raw', 'card_accounts') }}
),

renamed as (
    select
        cast(card_account_id as bigint) as card_account_id,
        cast(customer_id as bigint) as customer_id,
        card_number,
        card_type,
        cast(credit_limit as decimal(12, 2)) as credit_limit,
        cast(current_balance as decimal(12, 2)) as current_balance,
        cast(opened_date as date) as opened_date,
        status,
        cast(days_past_due as integer) as days_past_due
    from source
)

select * from renamed
