with source as (
    select * from {{ source('raw', 'loan_defaults') }}
),

renamed as (
    select
        cast(loan_id as bigint) as loan_id,
        cast(default_date as date) as default_date,
        cast(amount_outstanding as decimal(12, 2)) as amount_outstanding
    from source
)

select * from renamed
