-- Staging: the references that name each landed market, for resolving a configured slug, ticker or id:
-- its id and its slug, lowercased (join on lower(market_ref)). Archived markets are left out: their odds
-- are a stale duplicate's, not the question's current odds.
-- A staging view, not an intermediate table: stg_watchlist_markets (a view) resolves its references
-- here, and it stages one source table, markets.
-- grain: one reference to one market. key: (venue, ref_key, market_id)
with markets as (
    select * from stg_markets
    where not archived
),

refs as (
    -- a reference equal to the id also equals it lowercased, so the lowercased id covers both
    select venue, lower(market_id) as ref_key, market_id from markets
    union
    select venue, lower(slug) as ref_key, market_id from markets
    where slug is not null
),

final as (
    select
        refs.venue,
        refs.ref_key,
        refs.market_id,
        markets.question,
        markets.url,
        markets.primary_outcome
    from refs
    join markets using (venue, market_id)
)

select * from final
