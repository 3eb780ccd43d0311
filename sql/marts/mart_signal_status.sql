-- Mart: each watch list's signals to watch, seen or not, with the evidence. A rule's post part (claims,
-- actors, keywords) is met by a post; its market part by a price crossing a level or moving by at
-- least move_abs within 24 hours. A rule with both parts is seen when both are. A seen signal whose
-- post part two outlets meet, neither relaying the other (mart_signal_outlets), is corroborated.
-- grain: one signal. key: (watchlist_id, signal_id)
-- refresh: full
with params as (
    select 24 as move_window_hours, 20 as evidence_shown
),

signals as (
    select * from stg_watchlist_signals
),

item_hits as (
    select * from stg_signal_item_hits
),

market_refs as (
    select * from stg_market_refs
),

odds as (
    select * from stg_odds
),

outlets as (
    select * from mart_signal_outlets
),

outlet_counts as (
    select
        watchlist_id,
        signal_id,
        count(*) as outlets,
        min(first_post_at) filter (where outlet_order = 2) as second_outlet_at
    from outlets
    group by watchlist_id, signal_id
),

post_evidence as (
    select
        item_hits.watchlist_id,
        item_hits.signal_id,
        'post' as part,
        item_hits.source_id,
        item_hits.item_id,
        item_hits.url,
        item_hits.published_at,
        item_hits.why
    from item_hits
    join signals using (watchlist_id, signal_id)
),

market_rules as (
    select signals.*, market_refs.market_id, market_refs.primary_outcome, market_refs.url as market_url
    from signals
    join market_refs
        on market_refs.venue = signals.market_venue
        and market_refs.ref_key = lower(signals.market_ref)
),

points as (
    select
        market_rules.watchlist_id,
        market_rules.signal_id,
        market_rules.market_venue as venue,
        market_rules.market_id,
        market_rules.market_url,
        market_rules.market_above,
        market_rules.market_below,
        market_rules.market_move_abs,
        odds.outcome,
        odds.venue_ts,
        odds.price_prob,
        odds.venue_ts - to_hours((select move_window_hours from params)) as earlier_ts
    from market_rules
    join odds
        on odds.venue = market_rules.market_venue
        and odds.market_id = market_rules.market_id
        and odds.outcome = market_rules.primary_outcome
),

with_earlier as (
    select points.*, earlier.price_prob as earlier_price_prob
    from points
    asof left join odds as earlier
        on earlier.venue = points.venue
        and earlier.market_id = points.market_id
        and earlier.outcome = points.outcome
        and points.earlier_ts >= earlier.venue_ts
),

conditions as (
    select
        with_earlier.*,
        coalesce(price_prob >= market_above, false) as is_above,
        coalesce(price_prob <= market_below, false) as is_below,
        coalesce(abs(price_prob - earlier_price_prob) >= market_move_abs - 1e-9, false) as is_move
    from with_earlier
),

crossings as (
    -- a condition counts once when it starts to hold, not at every point while it holds
    select
        conditions.*,
        (is_above or is_below or is_move)
            and not coalesce(lag(is_above or is_below or is_move) over (
                partition by watchlist_id, signal_id order by venue_ts), false) as starts
    from conditions
),

market_evidence as (
    select
        watchlist_id,
        signal_id,
        'market' as part,
        venue as source_id,
        market_id as item_id,
        market_url as url,
        venue_ts as published_at,
        outcome || ' at ' || round(price_prob * 100, 1) || '%'
            || case when is_move then ' (' || case when price_prob >= earlier_price_prob then '+' else '' end
                    || round((price_prob - earlier_price_prob) * 100, 1) || ' pts in 24 h)' else '' end
            || case when is_above then ' (at or above ' || round(market_above * 100, 1) || '%)' else '' end
            || case when is_below then ' (at or below ' || round(market_below * 100, 1) || '%)' else '' end
            as why
    from crossings
    where starts
),

evidence as (
    select * from post_evidence
    union all
    select * from market_evidence
),

per_signal as (
    select
        signals.watchlist_id,
        signals.signal_id,
        any_value(signals.title) as title,
        any_value(signals.has_item_rule) as has_item_rule,
        any_value(signals.market_venue) is not null as has_market_rule,
        count(evidence.part) filter (where evidence.part = 'post') as post_evidence,
        count(evidence.part) filter (where evidence.part = 'market') as market_evidence,
        min(evidence.published_at) filter (where evidence.part = 'post') as first_post_at,
        min(evidence.published_at) filter (where evidence.part = 'market') as first_market_at,
        max(evidence.published_at) as last_evidence_at,
        count(evidence.part) as evidence_count,
        list(
            {'source_id': evidence.source_id,
             'item_id': evidence.item_id,
             'url': evidence.url,
             'published_at': strftime(timezone('UTC', evidence.published_at), '%Y-%m-%dT%H:%M:%SZ'),
             'why': evidence.why}
            order by evidence.published_at, evidence.source_id, evidence.item_id
        ) filter (where evidence.part is not null) as evidence_list
    from signals
    left join evidence using (watchlist_id, signal_id)
    group by signals.watchlist_id, signals.signal_id
),

judged as (
    select
        per_signal.*,
        coalesce(outlet_counts.outlets, 0) as outlets,
        outlet_counts.second_outlet_at,
        (not has_item_rule or post_evidence > 0)
            and (not has_market_rule or market_evidence > 0)
            and (has_item_rule or has_market_rule) as is_seen
    from per_signal
    left join outlet_counts using (watchlist_id, signal_id)
),

leveled as (
    select
        judged.*,
        -- seen once every part of the rule has been met
        case when is_seen then greatest(coalesce(first_post_at, first_market_at),
                                        coalesce(first_market_at, first_post_at)) end as seen_at,
        is_seen and has_item_rule and outlets >= 2 as is_corroborated
    from judged
),

final as (
    select
        watchlist_id,
        signal_id,
        title,
        case when is_seen then 'seen' else 'not seen' end as status,
        seen_at as first_seen_at,
        case when is_seen then last_evidence_at end as last_seen_at,
        evidence_count,
        to_json(coalesce(evidence_list, [])[1:(select evidence_shown from params)]) as evidence,
        outlets,
        case when is_corroborated then 'corroborated' when is_seen then 'seen' else 'not seen' end as level,
        case when is_corroborated then greatest(seen_at, second_outlet_at) else seen_at end as level_since
    from leveled
)

select * from final
