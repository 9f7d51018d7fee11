-- Staging: rename, cast and clean one raw table; one model per source table. Ad-hoc data (no
-- group): catalogued, never read by another domain.
with source as (
    select * from {{ source('raw', 'records') }}
),

types as (
    select * from {{ ref('record_types') }}
)

select
    cast(source.record_id as integer) as record_id,
    cast(source.record_type as varchar) as record_type,
    types.label as record_type_label,
    cast(source.contact_email as varchar) as contact_email,
    cast(source.amount as decimal(12, 2)) as amount,
    cast(source.recorded_at as timestamp) as recorded_at
from source
left join types on types.record_type = source.record_type
