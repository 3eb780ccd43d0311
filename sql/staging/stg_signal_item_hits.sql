-- Staging: posts that meet the post part of a signal's rule (claims, actors, keywords), with why.
-- grain: one post for one signal. key: (watchlist_id, signal_id, source_id, item_id)
with hits as (
    select * from signal_item_hits
),

final as (
    select watchlist_id, signal_id, source_id, item_id, published_at, url, why
    from hits
)

select * from final
