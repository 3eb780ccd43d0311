-- Mart: the statement timeline of each story that matters to a watch list: who spoke, the act, the
-- quoted words, the claims, when (UTC, to the minute), through which outlet and register, first report
-- of the story and first report of each claim, or relay of which earlier post and how many minutes later.
-- grain: one post of one story of one watch list. key: (watchlist_id, story_id, source_id, item_id)
-- refresh: story
-- inputs: posts
-- The first report of a claim is looked up among all posts of the watch list (any story), in the
-- watch list's window_hours up to the post; those posts change only when some post is new or edited,
-- so the rows can still be kept on a run where nothing changed.
with members as (
    select * from int_scoped_story_items
),

relays as (
    select * from int_relay_links
),

watchlists as (
    select watchlist_id, window_hours from stg_watchlists
),

annotations as (
    select * from stg_item_annotations
),

story_items as (
    select * from stg_story_items
),

items as (
    select * from stg_items
),

ordered as (
    select
        members.*,
        row_number() over (
            partition by watchlist_id, story_id order by published_at, source_id, item_id
        ) as position_in_story
    from members
),

claims_made as (
    -- one row per claim a post of the stories in scope makes
    select
        ordered.watchlist_id,
        ordered.story_id,
        ordered.source_id,
        ordered.item_id,
        ordered.published_at,
        unnest(ordered.claims) as claim
    from ordered
),

lookback as (
    select
        min(claims_made.published_at - to_hours(watchlists.window_hours)) as earliest,
        max(claims_made.published_at) as latest
    from claims_made
    join watchlists using (watchlist_id)
),

claim_posts as (
    -- posts of any story making a claim, in the time the posts above look back over (the bounds are
    -- constants, so DuckDB skips older posts' row groups)
    select
        annotations.source_id,
        annotations.item_id,
        annotations.published_at,
        annotations.watchlist_ids,
        unnest(annotations.claims) as claim
    from annotations
    where len(annotations.claims) > 0
      and annotations.published_at >= (select earliest from lookback)
      and annotations.published_at <= (select latest from lookback)
),

candidates as (
    select wanted.watchlist_id, claim_posts.claim, claim_posts.source_id, claim_posts.item_id,
           claim_posts.published_at
    from claim_posts
    join (select distinct watchlist_id, claim from claims_made) as wanted
        on wanted.claim = claim_posts.claim
        and list_contains(claim_posts.watchlist_ids, wanted.watchlist_id)
    union
    select watchlist_id, claim, source_id, item_id, published_at
    from claims_made
),

candidate_times as (
    -- per watch list, claim and time the post that sorts first (posts published in the same instant)
    select
        watchlist_id,
        claim,
        published_at,
        arg_min(source_id, (source_id, item_id)) as source_id,
        arg_min(item_id, (source_id, item_id)) as item_id
    from candidates
    group by watchlist_id, claim, published_at
),

claims_looking_back as (
    select claims_made.*, claims_made.published_at - to_hours(watchlists.window_hours) as looks_back_to
    from claims_made
    join watchlists using (watchlist_id)
),

claim_firsts as (
    -- for each claim a post makes: the earliest post of the watch list making it in the window before
    -- (the post itself at the latest)
    select
        claims_looking_back.watchlist_id,
        claims_looking_back.story_id,
        claims_looking_back.source_id,
        claims_looking_back.item_id,
        claims_looking_back.claim,
        candidate_times.source_id as first_source_id,
        candidate_times.item_id as first_item_id,
        candidate_times.published_at as first_published_at
    from claims_looking_back
    asof join candidate_times
        on candidate_times.watchlist_id = claims_looking_back.watchlist_id
        and candidate_times.claim = claims_looking_back.claim
        and candidate_times.published_at >= claims_looking_back.looks_back_to
),

first_posts as (
    select distinct first_source_id as source_id, first_item_id as item_id, first_published_at as published_at
    from claim_firsts
),

first_posts_described as (
    -- the story, outlet and link of each first post: from the stories in scope when it is in one, else
    -- looked up (in the time the posts above look back over)
    select source_id, item_id, published_at, any_value(story_id) as story_id,
           any_value(outlet_name) as outlet_name, any_value(url) as url
    from members
    semi join first_posts using (source_id, item_id, published_at)
    group by source_id, item_id, published_at
    union all
    select first_posts.source_id, first_posts.item_id, first_posts.published_at, story_items.story_id,
           items.outlet_name, items.url
    from first_posts
    left join (
        select * from story_items
        where published_at >= (select earliest from lookback) and published_at <= (select latest from lookback)
    ) as story_items using (source_id, item_id, published_at)
    left join (
        select * from items
        where published_at >= (select earliest from lookback) and published_at <= (select latest from lookback)
    ) as items using (source_id, item_id, published_at)
    where not exists (
        select 1 from members
        where members.source_id = first_posts.source_id and members.item_id = first_posts.item_id
          and members.published_at = first_posts.published_at)
),

claim_firsts_described as (
    select
        claim_firsts.*,
        first_posts_described.story_id as first_story_id,
        first_posts_described.outlet_name as first_outlet_name,
        first_posts_described.url as first_url
    from claim_firsts
    left join first_posts_described
        on first_posts_described.source_id = claim_firsts.first_source_id
        and first_posts_described.item_id = claim_firsts.first_item_id
        and first_posts_described.published_at = claim_firsts.first_published_at
),

per_post as (
    select
        watchlist_id,
        story_id,
        source_id,
        item_id,
        coalesce(
            list(claim order by claim)
                filter (where first_source_id = source_id and first_item_id = item_id),
            []
        ) as first_report_claims,
        list(
            {'claim': claim,
             'source_id': first_source_id,
             'item_id': first_item_id,
             'story_id': first_story_id,
             'published_at': first_published_at,
             'outlet_name': first_outlet_name,
             'url': first_url}
            order by claim
        ) as claim_first_reports
    from claim_firsts_described
    group by watchlist_id, story_id, source_id, item_id
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
        coalesce(per_post.first_report_claims, []) as first_report_claims,
        coalesce(per_post.claim_first_reports, []) as claim_first_reports,
        ordered.is_relevant,
        ordered.speaker_id is not null or len(ordered.claims) > 0 as is_statement,
        relays.relay_of_source_id,
        relays.relay_of_item_id,
        relays.lag_minutes as relay_lag_minutes,
        relays.link_kind as relay_kind
    from ordered
    left join relays using (watchlist_id, story_id, source_id, item_id)
    left join per_post using (watchlist_id, story_id, source_id, item_id)
)

select * from final
