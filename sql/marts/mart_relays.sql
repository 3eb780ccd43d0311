-- Mart: every relay in the stories that matter: which earlier post it relays, how, and how much later.
-- grain: one relaying post. key: (source_id, item_id)
-- refresh: story
-- inputs: posts
with scope as (
    select distinct story_id from signal_scope
),

timeline as (
    -- every watch list's rows of the stories in scope: a story can be open for one watch list and
    -- closed (and not recomputed) for another
    select mart_story_timeline.*
    from mart_story_timeline
    join scope using (story_id)
),

relayed as (
    select
        source_id, item_id, outlet_name, published_at, url,
        story_id, watchlist_id
    from timeline
),

final as (
    select
        timeline.source_id,
        timeline.item_id,
        timeline.story_id,
        timeline.relay_of_source_id,
        timeline.relay_of_item_id,
        timeline.relay_lag_minutes as lag_minutes,
        timeline.relay_kind as link_kind,
        timeline.outlet_name,
        timeline.published_at,
        timeline.url,
        relayed.outlet_name as relay_of_outlet_name,
        relayed.published_at as relay_of_published_at,
        relayed.url as relay_of_url
    from timeline
    join relayed
        on relayed.watchlist_id = timeline.watchlist_id
        and relayed.story_id = timeline.story_id
        and relayed.source_id = timeline.relay_of_source_id
        and relayed.item_id = timeline.relay_of_item_id
    where timeline.relay_of_item_id is not null
    qualify row_number() over (
        partition by timeline.source_id, timeline.item_id order by timeline.watchlist_id
    ) = 1
)

select * from final
