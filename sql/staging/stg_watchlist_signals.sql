-- Staging: the signals each watch list watches for, with their rules.
-- grain: one signal. key: (watchlist_id, signal_id)
with signals as (
    select * from watchlist_signals
),

final as (
    select
        watchlist_id,
        signal_id,
        title,
        claims_any,
        actors_any,
        keywords_any,
        has_item_rule,
        market_venue,
        market_ref,
        market_above,
        market_below,
        market_move_abs
    from signals
)

select * from final
