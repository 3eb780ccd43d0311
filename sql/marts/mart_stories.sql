-- Mart: the stories that matter to each watch list, with their first report and their reach.
-- grain: one story of one watch list. key: (watchlist_id, story_id)
-- refresh: story
with scope as (
    select watchlist_id, story_id, any_value(as_of) as as_of
    from signal_scope
    group by watchlist_id, story_id
),

timeline as (
    select mart_story_timeline.*
    from mart_story_timeline
    join scope using (watchlist_id, story_id)
),

watchlists as (
    select * from stg_watchlists
),

headline_candidates as (
    select
        watchlist_id,
        story_id,
        -- the first line of the text, or the title of a feed entry ("title  body"), without links
        left(trim(regexp_replace(split_part(split_part(text, chr(10), 1), '  ', 1), 'https?://\S+', '', 'g')),
             200) as line,
        -- readers want English first, a statement before a mention
        (case when lang = 'en' then 0 else 2 end) + (case when is_statement then 0 else 1 end) as preference,
        published_at
    from timeline
    where trim(text) <> ''
),

headlines as (
    select watchlist_id, story_id, arg_min(line, (preference, published_at)) as headline
    from headline_candidates
    group by watchlist_id, story_id
),

first_reports as (
    select
        watchlist_id, story_id,
        source_id as first_source_id,
        item_id as first_item_id,
        url as first_url,
        outlet_name as first_outlet_name,
        register as first_register
    from timeline
    where is_first_report
),

aggregated as (
    select
        watchlist_id,
        story_id,
        min(published_at) as first_seen_at,
        max(published_at) as last_seen_at,
        count(*) as items,
        count(*) filter (where is_statement) as statements,
        count(distinct source_id) as sources,
        list_sort(list_distinct(list(lang))) as languages,
        list_sort(list_distinct(list(register))) as registers,
        list_sort(list_distinct(list(speaker_name) filter (where speaker_name is not null))) as speakers,
        list_sort(list_distinct(flatten(list(claims)))) as claims,
        count(*) filter (where relay_of_item_id is not null) as relays
    from timeline
    group by watchlist_id, story_id
),

final as (
    select
        aggregated.watchlist_id,
        aggregated.story_id,
        coalesce(headlines.headline, '') as headline,
        aggregated.first_seen_at,
        aggregated.last_seen_at,
        aggregated.items,
        aggregated.statements,
        aggregated.sources,
        aggregated.languages,
        aggregated.registers,
        aggregated.speakers,
        aggregated.claims,
        aggregated.relays,
        first_reports.first_source_id,
        first_reports.first_item_id,
        first_reports.first_url,
        first_reports.first_outlet_name,
        first_reports.first_register,
        aggregated.last_seen_at >= scope.as_of - to_hours(watchlists.window_hours) as is_open,
        scope.as_of as computed_as_of
    from aggregated
    join first_reports using (watchlist_id, story_id)
    join scope using (watchlist_id, story_id)
    join watchlists using (watchlist_id)
    left join headlines using (watchlist_id, story_id)
)

select * from final
