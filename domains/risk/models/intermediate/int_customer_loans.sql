-- Loans per customer: open exposure, delinquency, and whether any loan defaulted.
with loans as (
    select * from {{ ref('stg_loans') }}
),

defaults as (
    select * from {{ ref('stg_loan_defaults') }}
),

joined as (
    select
        loans.*,
        defaults.loan_id is not null as is_defaulted,
        defaults.amount_outstanding as amount_outstanding_at_default
    from loans
    left join defaults
        on loans.loan_id = defaults.loan_id
)

select
    customer_id,
    count(*) as loan_count,
    cast(coalesce(sum(principal) filter (where status in ('current', 'late')), 0)
        as decimal(14, 2)) as open_loan_principal,
    count(*) filter (where status = 'late') as late_loan_count,
    count(*) filter (where is_defaulted) as defaulted_loan_count,
    cast(coalesce(sum(amount_outstanding_at_default), 0) as decimal(14, 2))
        as defaulted_amount,
    max(interest_rate) as max_interest_rate
from joined
group by customer_id
