-- Staging: outcome prices, leaving out rows validation quarantined.
-- grain: one outcome's price at one venue time. key: (venue, market_id, outcome, venue_ts)
with odds as (
    select * from odds_snapshots
),

quarantine_keys as (
    -- record keys read "{venue}/{market_id}/{outcome}/{venue_ts as ISO-8601 UTC}"
    select
        key_prefix as venue,
        split_part(key_rest, '/', 1) as market_id,
        regexp_extract(record_key, '^[^/]*/[^/]*/(.*)/[^/]*$', 1) as outcome,
        try_cast(regexp_extract(record_key, '/([^/]*)$', 1) as timestamptz) as venue_ts
    from stg_quarantine
    where table_name = 'odds_snapshots'
),

final as (
    select venue, market_id, outcome, price_prob, venue_ts, volume, liquidity, observed_at,
           best_bid_prob, best_ask_prob, spread_prob, open_interest_contracts
    from odds
    anti join quarantine_keys using (venue, market_id, outcome, venue_ts)
)

select * from final
