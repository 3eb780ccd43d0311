-- Staging: each post's story, following recorded merges to the story it belongs to now.
-- grain: one post. key: (source_id, item_id)
with recursive merge_chain (absorbed_story_id, story_id, depth) as (
    select absorbed_story_id, into_story_id, 1
    from story_merges
    union all
    select merge_chain.absorbed_story_id, story_merges.into_story_id, merge_chain.depth + 1
    from merge_chain
    join story_merges on story_merges.absorbed_story_id = merge_chain.story_id
    where merge_chain.depth < 64
),

assignments as (
    select * from story_items
),

resolved as (
    select absorbed_story_id, arg_max(story_id, depth) as story_id
    from merge_chain
    group by absorbed_story_id
),

final as (
    select
        assignments.source_id,
        assignments.item_id,
        coalesce(resolved.story_id, assignments.story_id) as story_id,
        assignments.story_id as assigned_story_id,
        assignments.published_at,
        assignments.assigned_at
    from assignments
    left join resolved on resolved.absorbed_story_id = assignments.story_id
)

select * from final
