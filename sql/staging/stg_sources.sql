-- Staging: the configured sources, as synced from sources.yaml at the last signals run.
-- grain: one source. key: source_id
with sources as (
    select * from sources
),

final as (
    select
        source_id,
        kind,
        handle,
        url,
        name as outlet_name,
        outlet,
        register,
        language,
        enabled
    from sources
)

select * from final
