-- Mart: claims a watch list declares incompatible, made by different speakers (or, unattributed, by
-- different sources) in the same story within the watch list's window, with both sides' evidence.
-- grain: one pair of posts.
-- key: (watchlist_id, story_id, claim_a, source_id_a, item_id_a, claim_b, source_id_b, item_id_b)
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

contradictions as (
    select * from stg_watchlist_contradictions
),

watchlists as (
    select * from stg_watchlists
),

claims_made as (
    select
        timeline.*,
        unnest(timeline.claims) as claim,
        coalesce(timeline.speaker_id, 'outlet:' || timeline.source_id) as claimant
    from timeline
),

pairs as (
    select
        a.watchlist_id,
        a.story_id,
        contradictions.claim_a,
        a.source_id as source_id_a,
        a.item_id as item_id_a,
        contradictions.claim_b,
        b.source_id as source_id_b,
        b.item_id as item_id_b,
        a.published_at as published_at_a,
        a.url as url_a,
        a.text as text_a,
        a.outlet_name as outlet_a,
        a.register as register_a,
        a.speaker_name as speaker_a,
        a.quotes as quotes_a,
        a.lang as lang_a,
        b.published_at as published_at_b,
        b.url as url_b,
        b.text as text_b,
        b.outlet_name as outlet_b,
        b.register as register_b,
        b.speaker_name as speaker_b,
        b.quotes as quotes_b,
        b.lang as lang_b
    from contradictions
    join claims_made as a
        on a.watchlist_id = contradictions.watchlist_id
        and a.claim = contradictions.claim_a
    join claims_made as b
        on b.watchlist_id = a.watchlist_id
        and b.story_id = a.story_id
        and b.claim = contradictions.claim_b
    join watchlists
        on watchlists.watchlist_id = a.watchlist_id
    where a.claimant <> b.claimant
      and abs(epoch(b.published_at) - epoch(a.published_at)) <= watchlists.window_hours * 3600
),

final as (
    select
        pairs.*,
        row_number() over (
            partition by watchlist_id, story_id, claim_a, claim_b
            order by greatest(published_at_a, published_at_b), least(published_at_a, published_at_b),
                     source_id_a, item_id_a, source_id_b, item_id_b
        ) as pair_rank
    from pairs
)

select * from final
