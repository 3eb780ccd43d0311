-- Mart: the outlets whose posts meet each signal's post part, each by its first post that relays no
-- earlier post of another outlet of the signal (a forward of it, a link to it, or a citation of its
-- source). Two such outlets corroborate a signal (mart_signal_status.level); alerts quote these posts.
-- grain: one outlet of one signal. key: (watchlist_id, signal_id, outlet)
-- refresh: full
with hits as (
    select * from stg_signal_item_hits
),

signals as (
    select * from stg_watchlist_signals
),

sources as (
    select * from stg_sources
),

annotations as (
    select * from stg_item_annotations
),

posts as (
    select
        hits.watchlist_id,
        hits.signal_id,
        hits.source_id,
        hits.item_id,
        hits.published_at,
        hits.url,
        coalesce(sources.outlet, hits.source_id) as outlet,
        coalesce(sources.outlet_name, hits.source_id) as outlet_name,
        annotations.url_key,
        annotations.forwarded_key,
        coalesce(annotations.link_keys, []) as link_keys,
        coalesce(annotations.cited_source_ids, []) as cited_source_ids
    from hits
    join signals using (watchlist_id, signal_id)
    left join sources using (source_id)
    left join annotations using (source_id, item_id)
),

-- equality joins only (a signal may have thousands of posts): one row per link and per citation
linking as (
    select watchlist_id, signal_id, source_id, item_id, published_at, outlet, unnest(link_keys) as link_key
    from posts
),

citing as (
    select watchlist_id, signal_id, source_id, item_id, published_at, outlet,
           unnest(cited_source_ids) as cited_source_id
    from posts
),

forwards as (
    select later.watchlist_id, later.signal_id, later.source_id, later.item_id
    from posts as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.signal_id = later.signal_id
        and earlier.url_key = later.forwarded_key
        and earlier.outlet <> later.outlet
        and earlier.published_at < later.published_at
),

links as (
    select later.watchlist_id, later.signal_id, later.source_id, later.item_id
    from linking as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.signal_id = later.signal_id
        and earlier.url_key = later.link_key
        and earlier.outlet <> later.outlet
        and earlier.published_at < later.published_at
),

citations as (
    select later.watchlist_id, later.signal_id, later.source_id, later.item_id
    from citing as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.signal_id = later.signal_id
        and earlier.source_id = later.cited_source_id
        and earlier.outlet <> later.outlet
        and earlier.published_at < later.published_at
),

relays as (
    select * from forwards
    union
    select * from links
    union
    select * from citations
),

independent as (
    select posts.*
    from posts
    anti join relays using (watchlist_id, signal_id, source_id, item_id)
),

firsts as (
    select
        independent.*,
        row_number() over (
            partition by watchlist_id, signal_id, outlet order by published_at, source_id, item_id) as nth_post
    from independent
),

final as (
    select
        watchlist_id,
        signal_id,
        outlet,
        outlet_name,
        source_id as first_source_id,
        item_id as first_item_id,
        url as first_url,
        published_at as first_post_at,
        row_number() over (partition by watchlist_id, signal_id order by published_at, outlet) as outlet_order
    from firsts
    where nth_post = 1
)

select * from final
