-- Staging: pairs of claims a watch list declares incompatible.
-- grain: one pair. key: (watchlist_id, claim_a, claim_b)
with contradictions as (
    select * from watchlist_contradictions
),

final as (
    select watchlist_id, claim_a, claim_b
    from contradictions
)

select * from final
