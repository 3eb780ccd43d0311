-- Mart: the markets each watch list follows, beside each of its stories: the price when the story was
-- first reported, now, the move since, and whether the market had already moved in the hour before.
-- "now" is the clock of the run that last recomputed the story (computed_as_of).
-- grain: one market beside one story of one watch list. key: (watchlist_id, story_id, venue, market_id)
-- refresh: story
with params as (
    select 60 as lookback_minutes
),

scope as (
    select watchlist_id, story_id, any_value(as_of) as as_of
    from signal_scope
    group by watchlist_id, story_id
),

stories as (
    select mart_stories.watchlist_id, mart_stories.story_id, mart_stories.first_seen_at, scope.as_of
    from mart_stories
    join scope using (watchlist_id, story_id)
),

watchlist_markets as (
    select * from stg_watchlist_markets
),

watchlists as (
    select * from stg_watchlists
),

odds as (
    select * from stg_odds
),

story_markets as (
    select
        stories.watchlist_id,
        stories.story_id,
        watchlist_markets.venue,
        watchlist_markets.market_id,
        watchlist_markets.question,
        watchlist_markets.url as market_url,
        watchlist_markets.outcome,
        stories.first_seen_at,
        stories.as_of,
        watchlists.odds_move_threshold
    from stories
    join watchlist_markets using (watchlist_id)
    join watchlists using (watchlist_id)
),

probes as (
    select story_markets.*, 'before' as probe,
           first_seen_at - to_minutes((select lookback_minutes from params)) as probe_at
    from story_markets
    union all
    select story_markets.*, 'at' as probe, first_seen_at as probe_at
    from story_markets
    union all
    select story_markets.*, 'now' as probe, as_of as probe_at
    from story_markets
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
        watchlist_id, story_id, venue, market_id,
        any_value(question) as question,
        any_value(market_url) as market_url,
        any_value(outcome) as outcome,
        any_value(odds_move_threshold) as odds_move_threshold,
        any_value(as_of) as computed_as_of,
        max(price_prob) filter (where probe = 'before') as price_before_first_report_prob,
        max(price_prob) filter (where probe = 'at') as price_at_first_report_prob,
        max(price_prob) filter (where probe = 'now') as price_now_prob
    from priced
    group by watchlist_id, story_id, venue, market_id
),

final as (
    select
        watchlist_id,
        story_id,
        venue,
        market_id,
        question,
        outcome,
        price_at_first_report_prob,
        price_now_prob,
        round(price_now_prob - price_at_first_report_prob, 6) as move_since_first_report_prob,
        coalesce(abs(price_at_first_report_prob - price_before_first_report_prob)
                 >= odds_move_threshold - 1e-9, false) as moved_before_first_report,
        round(price_at_first_report_prob - price_before_first_report_prob, 6)
            as move_before_first_report_prob,
        price_before_first_report_prob,
        odds_move_threshold,
        market_url,
        computed_as_of
    from pivoted
)

select * from final
