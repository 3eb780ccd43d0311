-- Staging: trades, leaving out rows validation quarantined.
-- grain: one trade at one venue. key: (venue, trade_id)
with trades as (
    select * from market_trades
),

quarantine_keys as (
    -- record keys read "{venue}/{trade_id}"; venue names hold no slash
    select distinct
        split_part(record_key, '/', 1) as venue,
        record_key[length(split_part(record_key, '/', 1)) + 2:] as trade_id
    from quarantine
    where stage = 'validate' and table_name = 'market_trades' and record_key is not null
),

final as (
    select venue, trade_id, market_id, traded_at, yes_price_prob, no_price_prob, count_contracts, taker_side,
           observed_at
    from trades
    anti join quarantine_keys using (venue, trade_id)
)

select * from final
