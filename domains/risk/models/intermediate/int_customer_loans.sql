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
    cast(coalesce(sum(case when status in ('current', 'late') then principal end), 0)
        as decimal(14, 2)) as open_loan_principal,
    count(case when status = 'late' then 1 end) as late_loan_count,
    count(case when is_defaulted then 1 end) as defaulted_loan_count,
    cast(coalesce(sum(amount_outstanding_at_default), 0) as decimal(14, 2))
        as defaulted_amount,
    max(interest_rate) as max_interest_rate
from joined
group by customer_id
