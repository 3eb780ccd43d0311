-- Mart: the statement timeline of each story that matters to a watch list: who spoke, the act, the
-- quoted words, the claims, when (UTC, to the minute), through which outlet and register, first report
-- or relay of which earlier post and how many minutes later.
-- grain: one post of one story of one watch list. key: (watchlist_id, story_id, source_id, item_id)
-- refresh: story
-- inputs: posts
with members as (
    select * from int_scoped_story_items
),

relays as (
    select * from int_relay_links
),

ordered as (
    select
        members.*,
        row_number() over (
            partition by watchlist_id, story_id order by published_at, source_id, item_id
        ) as position_in_story
    from members
),

final as (
    select
        ordered.watchlist_id,
        ordered.story_id,
        ordered.source_id,
        ordered.item_id,
        ordered.published_at,
        ordered.published_minute,
        ordered.outlet_name,
        ordered.register,
        ordered.lang,
        ordered.speaker_id,
        ordered.speaker_name,
        ordered.speaker_kind,
        ordered.speech_act,
        ordered.quotes,
        ordered.claims,
        ordered.attributed_to,
        ordered.attribution_chain,
        ordered.medium,
        ordered.cited_outlets,
        ordered.actors,
        ordered.places,
        ordered.url,
        ordered.text,
        ordered.position_in_story,
        ordered.position_in_story = 1 as is_first_report,
        ordered.is_relevant,
        ordered.speaker_id is not null or len(ordered.claims) > 0 as is_statement,
        relays.relay_of_source_id,
        relays.relay_of_item_id,
        relays.lag_minutes as relay_lag_minutes,
        relays.link_kind as relay_kind
    from ordered
    left join relays using (watchlist_id, story_id, source_id, item_id)
)

select * from final
