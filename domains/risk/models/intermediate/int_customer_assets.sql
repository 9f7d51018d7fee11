-- Assets held with the firm per customer, from asset management's client product.
with clients as (
    select * from {{ ref('asset_management', 'consumer_asset_profile') }}
)

select
    customer_id,
    total_assets,
    liquid_share
from clients
