-- Mart: how each followed market moved in the hour before and the hour after each statement of a story
-- (a post with a speaker or a claim). The hour after stays empty until it has passed.
-- grain: one market around one statement. key: (watchlist_id, story_id, source_id, item_id, venue, market_id)
-- refresh: story
with params as (
    select 60 as window_minutes
),

scope as (
    select watchlist_id, story_id, any_value(as_of) as as_of
    from signal_scope
    group by watchlist_id, story_id
),

statements as (
    select mart_story_timeline.*, scope.as_of
    from mart_story_timeline
    join scope using (watchlist_id, story_id)
    where mart_story_timeline.is_statement
),

watchlist_markets as (
    select * from stg_watchlist_markets
),

odds as (
    select * from stg_odds
),

statement_markets as (
    select
        statements.watchlist_id,
        statements.story_id,
        statements.source_id,
        statements.item_id,
        statements.published_at,
        statements.as_of,
        watchlist_markets.venue,
        watchlist_markets.market_id,
        watchlist_markets.outcome
    from statements
    join watchlist_markets using (watchlist_id)
),

probes as (
    select statement_markets.*, 'before' as probe,
           published_at - to_minutes((select window_minutes from params)) as probe_at
    from statement_markets
    union all
    select statement_markets.*, 'at' as probe, published_at as probe_at
    from statement_markets
    union all
    select statement_markets.*, 'after' as probe,
           published_at + to_minutes((select window_minutes from params)) as probe_at
    from statement_markets
    where published_at + to_minutes((select window_minutes from params)) <= as_of
),

priced as (
    select probes.*, odds.price_prob
    from probes
    asof left join odds
        on odds.venue = probes.venue
        and odds.market_id = probes.market_id
        and odds.outcome = probes.outcome
        and probes.probe_at >= odds.venue_ts
),

pivoted as (
    select
        watchlist_id, story_id, source_id, item_id, venue, market_id,
        any_value(published_at) as published_at,
        any_value(outcome) as outcome,
        max(price_prob) filter (where probe = 'before') as price_before_prob,
        max(price_prob) filter (where probe = 'at') as price_at_prob,
        max(price_prob) filter (where probe = 'after') as price_after_prob
    from priced
    group by watchlist_id, story_id, source_id, item_id, venue, market_id
),

final as (
    select
        watchlist_id,
        story_id,
        source_id,
        item_id,
        venue,
        market_id,
        outcome,
        published_at,
        price_before_prob,
        price_at_prob,
        price_after_prob,
        round(price_at_prob - price_before_prob, 6) as move_before_prob,
        round(price_after_prob - price_at_prob, 6) as move_after_prob,
        (select window_minutes from params) as window_minutes
    from pivoted
)

select * from final
