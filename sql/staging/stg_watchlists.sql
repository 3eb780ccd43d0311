-- Staging: watch lists, as synced from watchlists.yaml at the last signals run.
-- grain: one watch list. key: watchlist_id
with watchlists as (
    select * from watchlists
),

final as (
    select watchlist_id, title, description, window_hours, odds_move_threshold
    from watchlists
)

select * from final
