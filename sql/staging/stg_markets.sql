-- Staging: prediction markets, with the outcome whose price the desk follows ('Yes', else the first).
-- Archived markets stay here, flagged: the models that show current odds leave them out.
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
        resolution,
        resolution_kind,
        coalesce(archived, false) as archived,
        end_date_issue,
        outcome_sum_issue
    from markets
)

select * from final
