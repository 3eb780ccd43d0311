-- Staging: prediction markets, with the outcome whose price the desk follows ('Yes', else the first).
-- grain: one market. key: (venue, market_id)
with markets as (
    select * from markets
),

final as (
    select
        venue,
        market_id,
        question,
        slug,
        url,
        outcomes,
        case when list_contains(outcomes, 'Yes') then 'Yes' else outcomes[1] end as primary_outcome,
        end_date,
        status,
        resolution
    from markets
)

select * from final
