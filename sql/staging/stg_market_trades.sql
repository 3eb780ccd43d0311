-- Staging: trades, leaving out rows validation quarantined.
-- grain: one trade at one venue. key: (venue, trade_id)
with trades as (
    select * from market_trades
),

quarantine_keys as (
    -- record keys read "{venue}/{trade_id}"
    select key_prefix as venue, key_rest as trade_id
    from stg_quarantine
    where table_name = 'market_trades'
),

final as (
    select venue, trade_id, market_id, traded_at, yes_price_prob, no_price_prob, count_contracts, taker_side,
           observed_at
    from trades
    anti join quarantine_keys using (venue, trade_id)
)

select * from final
