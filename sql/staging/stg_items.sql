-- Staging: posts as last seen, with their outlet and register, leaving out rows validation quarantined.
-- grain: one post. key: (source_id, item_id)
with items as (
    select * from items
),

sources as (
    select * from stg_sources
),

quarantined as (
    -- record keys read "{source_id}/{item_id}"
    select key_prefix as source_id, key_rest as item_id
    from stg_quarantine
    where table_name = 'items'
),

kept as (
    select items.*
    from items
    anti join quarantined using (source_id, item_id)
),

final as (
    select
        kept.source_id,
        kept.item_id,
        kept.kind,
        kept.url,
        kept.published_at,
        date_trunc('minute', kept.published_at) as published_minute,
        kept.text,
        kept.author,
        kept.views,
        kept.lang as declared_lang,
        kept.outlinks,
        kept.forwarded_from_name,
        kept.forwarded_from_url,
        kept.reply_to_url,
        kept.link_preview_url,
        kept.link_preview_title,
        kept.edited,
        kept.is_service,
        kept.content_sha256,
        kept.version_seen_at,
        kept.first_seen_at,
        coalesce(sources.outlet_name, kept.source_id) as outlet_name,
        coalesce(sources.outlet, kept.source_id) as outlet,
        coalesce(sources.register, 'unknown') as register
    from kept
    left join sources using (source_id)
)

select * from final
