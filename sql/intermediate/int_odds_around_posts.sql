-- Intermediate: the price of each market a watch list follows around the statements and first reports
-- of the stories this run recomputes (signal_scope): the followed outcome's price as last traded at or
-- before 60 minutes before the post, the post's publication, 60 minutes after it (empty until that has
-- passed by the run's clock) and the run's clock. mart_statement_odds and mart_story_odds pick from it.
-- Rebuilt every run, as a table, for the stories in scope only: the marts reading it refresh just those.
-- It reads mart_story_timeline, where a statement and a first report are defined, to keep one definition.
-- grain: one followed market around one post of one story of one watch list.
-- key: (watchlist_id, story_id, source_id, item_id, venue, market_id)
with params as (
    select 60 as window_minutes
),

scope as (
    select watchlist_id, story_id, any_value(as_of) as as_of
    from signal_scope
    group by watchlist_id, story_id
),

posts as (
    select
        mart_story_timeline.watchlist_id,
        mart_story_timeline.story_id,
        mart_story_timeline.source_id,
        mart_story_timeline.item_id,
        mart_story_timeline.published_at,
        mart_story_timeline.is_statement,
        mart_story_timeline.is_first_report,
        scope.as_of
    from mart_story_timeline
    join scope using (watchlist_id, story_id)
    where mart_story_timeline.is_statement or mart_story_timeline.is_first_report
),

watchlist_markets as (
    select * from stg_watchlist_markets
),

odds as (
    select * from stg_odds
),

post_markets as (
    select
        posts.*,
        watchlist_markets.venue,
        watchlist_markets.market_id,
        watchlist_markets.question,
        watchlist_markets.url as market_url,
        watchlist_markets.outcome
    from posts
    join watchlist_markets using (watchlist_id)
),

probes as (
    select post_markets.*, 'before' as probe,
           published_at - to_minutes((select window_minutes from params)) as probe_at
    from post_markets
    union all
    select post_markets.*, 'at' as probe, published_at as probe_at
    from post_markets
    union all
    select post_markets.*, 'after' as probe,
           published_at + to_minutes((select window_minutes from params)) as probe_at
    from post_markets
    where published_at + to_minutes((select window_minutes from params)) <= as_of
    union all
    select post_markets.*, 'now' as probe, as_of as probe_at
    from post_markets
),

priced as (
    -- the last price at or before the probe's time
    select probes.*, odds.price_prob
    from probes
    asof left join odds
        on odds.venue = probes.venue
        and odds.market_id = probes.market_id
        and odds.outcome = probes.outcome
        and probes.probe_at >= odds.venue_ts
),

-- a market configured twice (by slug and by id) is one market here
pivoted as (
    select
        watchlist_id, story_id, source_id, item_id, venue, market_id,
        any_value(question) as question,
        any_value(market_url) as market_url,
        any_value(outcome) as outcome,
        any_value(published_at) as published_at,
        any_value(is_statement) as is_statement,
        any_value(is_first_report) as is_first_report,
        any_value(as_of) as as_of,
        max(price_prob) filter (where probe = 'before') as price_before_prob,
        max(price_prob) filter (where probe = 'at') as price_at_prob,
        max(price_prob) filter (where probe = 'after') as price_after_prob,
        max(price_prob) filter (where probe = 'now') as price_now_prob
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
        question,
        market_url,
        outcome,
        published_at,
        is_statement,
        is_first_report,
        as_of,
        (select window_minutes from params) as window_minutes,
        price_before_prob,
        price_at_prob,
        price_after_prob,
        price_now_prob
    from pivoted
)

select * from final
