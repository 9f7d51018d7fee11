with source as (
    select * from {{ source('raw', 'loans') }}
),

renamed as (
    select
        cast(loan_id as bigint) as loan_id,
        cast(customer_id as bigint) as customer_id,
        cast(principal as decimal(12, 2)) as principal,
        cast(interest_rate as decimal(6, 4)) as interest_rate,
        cast(term_months as integer) as term_months,
        cast(origination_date as date) as origination_date,
        status
    from source
)

select * from renamed
