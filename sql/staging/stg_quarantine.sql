-- Staging: the landed rows validation set aside, by table and record key; the staging views of those
-- tables leave them out. Rows set aside when parsing never landed, so they are not here; a row whose
-- later change passed validation was released by that run (released_run_id) and is back.
-- A staging view over the quarantine table alone: stg_items, stg_odds and stg_market_trades (views)
-- read it.
-- grain: one record key of one landed table. key: (table_name, record_key)
with quarantined as (
    select * from quarantine
),

final as (
    select distinct
        table_name,
        record_key,
        -- most keys read "{source_id or venue}/{the row's id there}"; the first part holds no slash
        split_part(record_key, '/', 1) as key_prefix,
        record_key[length(split_part(record_key, '/', 1)) + 2:] as key_rest
    from quarantined
    where stage = 'validate' and record_key is not null and released_run_id is null
)

select * from final
