-- Staging: what annotation found in each post's current text (speaker, act, quotes, claims asserted,
-- every claim with its stance, citations).
-- grain: one post. key: (source_id, item_id)
with annotations as (
    select * from item_annotations
),

final as (
    select
        source_id,
        item_id,
        content_sha256,
        published_at,
        lang,
        speaker_id,
        speaker_name,
        speaker_kind,
        speech_act,
        quotes,
        claims,
        coalesce(claim_stances, []) as claim_stances,
        actors,
        places,
        keywords,
        cited_outlets,
        cited_source_ids,
        medium,
        attributed_to,
        attribution_chain,
        url_key,
        link_keys,
        forwarded_key,
        watchlist_ids,
        entities,
        annotated_at
    from annotations
)

select * from final
