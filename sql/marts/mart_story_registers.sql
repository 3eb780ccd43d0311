-- Mart: each story's coverage by register (state-aligned, western wire, OSINT ...) side by side:
-- who spoke first and loudest.
-- grain: one register of one story of one watch list. key: (watchlist_id, story_id, register)
-- refresh: story
-- inputs: posts
with scope as (
    select distinct watchlist_id, story_id from signal_scope
),

timeline as (
    select mart_story_timeline.*
    from mart_story_timeline
    join scope using (watchlist_id, story_id)
),

per_register as (
    select
        watchlist_id,
        story_id,
        register,
        min(published_at) as first_seen_at,
        count(*) as items,
        count(distinct source_id) as sources,
        count(*) filter (where is_statement) as statements,
        list_sort(list_distinct(list(outlet_name))) as outlets,
        arg_min(source_id, (published_at, source_id, item_id)) as first_source_id,
        arg_min(item_id, (published_at, source_id, item_id)) as first_item_id
    from timeline
    group by watchlist_id, story_id, register
),

final as (
    select
        per_register.*,
        items / sum(items) over (partition by watchlist_id, story_id) as share_of_volume,
        rank() over (partition by watchlist_id, story_id order by first_seen_at) as order_of_arrival
    from per_register
)

select * from final
