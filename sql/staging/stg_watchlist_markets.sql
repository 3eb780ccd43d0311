-- Staging: the markets each watch list follows, resolved to landed markets by slug, ticker or id. An
-- archived market is left out: its odds are a stale duplicate's, not the question's current odds.
-- grain: one market of one watch list. key: (watchlist_id, venue, market_id)
with refs as (
    select * from watchlist_markets
),

market_refs as (
    select * from stg_market_refs
),

resolved as (
    select
        refs.watchlist_id,
        market_refs.venue,
        market_refs.market_id,
        refs.market_ref,
        market_refs.question,
        market_refs.url,
        market_refs.primary_outcome as outcome
    from refs
    join market_refs
        on market_refs.venue = refs.venue
        and market_refs.ref_key = lower(refs.market_ref)
),

final as (
    -- a market the watch list names twice (by slug and by id) is still one market
    select
        watchlist_id,
        venue,
        market_id,
        min(market_ref) as market_ref,
        any_value(question) as question,
        any_value(url) as url,
        any_value(outcome) as outcome
    from resolved
    group by watchlist_id, venue, market_id
)

select * from final
