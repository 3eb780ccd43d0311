-- Intermediate: for each post of a recomputed story, the earlier post of the same story it relays:
-- a Telegram forward of it, a link to it, a citation of its outlet, or the same claims by the same
-- speaker from another source (near-duplicate). The strongest kind wins, then the earliest post.
-- Rebuilt every run, as a table.
-- grain: one relaying post of one story of one watch list. key: (watchlist_id, story_id, source_id, item_id)
-- inputs: posts
with members as (
    select * from int_scoped_story_items
),

-- Only pairs that can be a relay are joined (every pair of a story would cost its size squared): a
-- forward of the earlier post, a link to it, a citation of its source, or its speaker's same claims.
-- Pairs carry both posts: joined back to members instead, the planner paired every post of a story first.
posts as (
    select
        watchlist_id, story_id, source_id, item_id, published_at, url_key, speaker_id,
        case when speaker_id is not null and len(claims) > 0 then list_sort(claims) end as sorted_claims,
        {
            source_id: source_id, item_id: item_id, published_at: published_at,
            published_minute: published_minute, url_key: url_key, forwarded_key: forwarded_key,
            link_keys: link_keys, cited_source_ids: cited_source_ids, speaker_id: speaker_id, claims: claims
        } as post
    from members
),

linking as (
    select watchlist_id, story_id, published_at, post, unnest(post.link_keys) as link_key
    from posts
),

citing as (
    select watchlist_id, story_id, published_at, post, unnest(post.cited_source_ids) as cited_source_id
    from posts
),

forwards as (
    select later.watchlist_id, later.story_id, later.post as later, earlier.post as earlier
    from posts as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.story_id = later.story_id
        and earlier.url_key = later.post.forwarded_key
        and earlier.published_at < later.published_at
),

links as (
    select later.watchlist_id, later.story_id, later.post as later, earlier.post as earlier
    from linking as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.story_id = later.story_id
        and earlier.url_key = later.link_key
        and earlier.published_at < later.published_at
),

citations as (
    select later.watchlist_id, later.story_id, later.post as later, earlier.post as earlier
    from citing as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.story_id = later.story_id
        and earlier.source_id = later.cited_source_id
        and earlier.published_at < later.published_at
),

near_duplicates as (
    select later.watchlist_id, later.story_id, later.post as later, earlier.post as earlier
    from posts as later
    join posts as earlier
        on earlier.watchlist_id = later.watchlist_id
        and earlier.story_id = later.story_id
        and earlier.speaker_id = later.speaker_id
        and earlier.sorted_claims = later.sorted_claims
        and earlier.published_at < later.published_at
    where earlier.source_id <> later.source_id
),

pairs as (
    select * from forwards
    union
    select * from links
    union
    select * from citations
    union
    select * from near_duplicates
),

candidates as (
    select
        watchlist_id,
        story_id,
        later.source_id,
        later.item_id,
        earlier.source_id as relay_of_source_id,
        earlier.item_id as relay_of_item_id,
        earlier.published_at as relay_of_published_at,
        date_diff('minute', earlier.published_minute, later.published_minute) as lag_minutes,
        case
            when later.forwarded_key = earlier.url_key then 'forward'
            when list_contains(later.link_keys, earlier.url_key) then 'cites'
            when list_contains(later.cited_source_ids, earlier.source_id) then 'cites'
            when later.speaker_id = earlier.speaker_id
                 and len(later.claims) > 0
                 and list_sort(later.claims) = list_sort(earlier.claims)
                 and later.source_id <> earlier.source_id then 'near-duplicate'
        end as link_kind,
        case
            when later.forwarded_key = earlier.url_key then 0
            when list_contains(later.link_keys, earlier.url_key) then 1
            when list_contains(later.cited_source_ids, earlier.source_id) then 2
            else 3
        end as strength,
        -- among the cited outlet's posts, prefer the one with the same speaker and claims
        (coalesce(later.speaker_id = earlier.speaker_id, false))::integer
            + (len(list_intersect(later.claims, earlier.claims)) > 0)::integer as likeness
    from pairs
),

final as (
    select
        watchlist_id, story_id, source_id, item_id,
        relay_of_source_id, relay_of_item_id, relay_of_published_at, lag_minutes, link_kind
    from candidates
    where link_kind is not null
    qualify row_number() over (
        partition by watchlist_id, story_id, source_id, item_id
        order by strength, likeness desc, relay_of_published_at, relay_of_source_id, relay_of_item_id
    ) = 1
)

select * from final
