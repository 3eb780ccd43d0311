-- Mart: how each followed market moved in the hour before and the hour after each statement of a story
-- (a post with a speaker or a claim). The hour after stays empty until it has passed.
-- grain: one market around one statement. key: (watchlist_id, story_id, source_id, item_id, venue, market_id)
-- refresh: story
with odds_around_posts as (
    select * from int_odds_around_posts
),

statements as (
    select * from odds_around_posts
    where is_statement
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
        window_minutes
    from statements
)

select * from final
