with source as (
    select * from {{ source('raw', 'card_transactions') }}
),

renamed as (
    select
        cast(transaction_id as bigint) as transaction_id,
        cast(card_account_id as bigint) as card_account_id,
        cast(transaction_ts as timestamp) as transaction_ts,
        cast(amount as decimal(12, 2)) as amount,
        merchant_category,
        is_declined
    from source
)

select * from renamed
