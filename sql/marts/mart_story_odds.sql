-- Mart: the markets each watch list follows, beside each of its stories: the price when the story was
-- first reported, now, the move since, and whether the market had already moved in the hour before.
-- "now" is the clock of the run that last recomputed the story (computed_as_of).
-- grain: one market beside one story of one watch list. key: (watchlist_id, story_id, venue, market_id)
-- refresh: story
with scope as (
    select distinct watchlist_id, story_id
    from signal_scope
),

stories as (
    select mart_stories.watchlist_id, mart_stories.story_id, mart_stories.first_source_id,
           mart_stories.first_item_id
    from mart_stories
    join scope using (watchlist_id, story_id)
),

watchlists as (
    select * from stg_watchlists
),

odds_around_posts as (
    select * from int_odds_around_posts
),

-- the prices around the story's first report: its time is the story's first_seen_at
story_markets as (
    select
        stories.watchlist_id,
        stories.story_id,
        odds_around_posts.venue,
        odds_around_posts.market_id,
        odds_around_posts.question,
        odds_around_posts.market_url,
        odds_around_posts.outcome,
        odds_around_posts.as_of as computed_as_of,
        odds_around_posts.price_before_prob as price_before_first_report_prob,
        odds_around_posts.price_at_prob as price_at_first_report_prob,
        odds_around_posts.price_now_prob,
        watchlists.odds_move_threshold
    from stories
    join odds_around_posts
        on odds_around_posts.watchlist_id = stories.watchlist_id
        and odds_around_posts.story_id = stories.story_id
        and odds_around_posts.source_id = stories.first_source_id
        and odds_around_posts.item_id = stories.first_item_id
    join watchlists on watchlists.watchlist_id = stories.watchlist_id
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
    from story_markets
)

select * from final
