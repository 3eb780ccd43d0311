-- Staging: the markets each watch list follows, resolved to landed markets by slug, ticker or id. An
-- archived market is left out: its odds are a stale duplicate's, not the question's current odds.
-- grain: one market of one watch list. key: (watchlist_id, venue, market_id)
with refs as (
    select * from watchlist_markets
),

markets as (
    select * from stg_markets
    where not archived
),

final as (
    select distinct
        refs.watchlist_id,
        markets.venue,
        markets.market_id,
        refs.market_ref,
        markets.question,
        markets.url,
        markets.primary_outcome as outcome
    from refs
    join markets
        on markets.venue = refs.venue
        and (markets.market_id = refs.market_ref
             or lower(markets.market_id) = lower(refs.market_ref)
             or lower(markets.slug) = lower(refs.market_ref))
)

select * from final
