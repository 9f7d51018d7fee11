with source as (
    select * from {{ source('raw', 'holdings') }}
),

renamed as (
    select
        cast(holding_id as bigint) as holding_id,
        cast(portfolio_id as bigint) as portfolio_id,
        asset_class,
        cast(market_value as decimal(14, 2)) as market_value
    from source
)

select * from renamed
