-- Intermediate: the posts of the stories this run recomputes (signal_scope), for each watch list the
-- story matters to (a story matters when at least one of its posts is relevant to the watch list).
-- Rebuilt every run, as a table: the story marts read it several times.
-- grain: one post of one story of one watch list. key: (watchlist_id, story_id, source_id, item_id)
with scope as (
    select distinct watchlist_id, story_id from signal_scope
),

story_items as (
    select * from stg_story_items
),

items as (
    select * from stg_items
),

annotations as (
    select * from stg_item_annotations
),

members as (
    select
        scope.watchlist_id,
        story_items.story_id,
        items.source_id,
        items.item_id,
        items.url,
        items.published_at,
        items.published_minute,
        items.text,
        items.outlet_name,
        items.outlet,
        items.register,
        coalesce(annotations.lang, items.declared_lang) as lang,
        annotations.speaker_id,
        annotations.speaker_name,
        annotations.speaker_kind,
        annotations.speech_act,
        coalesce(annotations.quotes, []) as quotes,
        coalesce(annotations.claims, []) as claims,
        coalesce(annotations.actors, []) as actors,
        coalesce(annotations.places, []) as places,
        coalesce(annotations.cited_outlets, []) as cited_outlets,
        coalesce(annotations.cited_source_ids, []) as cited_source_ids,
        annotations.medium,
        annotations.attributed_to,
        coalesce(annotations.attribution_chain, []) as attribution_chain,
        annotations.url_key,
        coalesce(annotations.link_keys, []) as link_keys,
        annotations.forwarded_key,
        coalesce(list_contains(annotations.watchlist_ids, scope.watchlist_id), false) as is_relevant
    from scope
    join story_items using (story_id)
    -- the publication time is part of the key so DuckDB skips older posts' row groups
    join items using (source_id, item_id, published_at)
    left join annotations using (source_id, item_id, published_at)
),

stories_of_interest as (
    select watchlist_id, story_id
    from members
    group by watchlist_id, story_id
    having bool_or(is_relevant)
),

final as (
    select members.*
    from members
    join stories_of_interest using (watchlist_id, story_id)
)

select * from final
