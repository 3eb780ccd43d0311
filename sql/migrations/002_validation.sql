-- Validation: each expectation's result per run, drift alarms, and the field profile drift compares against.

-- grain: one expectation of one suite in one run. key: (run_id, table_name, expectation)
create table if not exists validation_results (
    run_id            varchar not null,
    table_name        varchar not null,
    expectation       varchar not null,        -- expectation type + ":" + column(s), unique within a suite
    severity          varchar not null,        -- critical | warning
    success           boolean not null,
    unexpected_count  bigint,
    element_count     bigint,
    details           json,                    -- description, kwargs, a sample of unexpected values, exception
    validated_at      timestamptz not null,
    primary key (run_id, table_name, expectation)
);

-- grain: one alarm about one source in one run. key: (run_id, source_id, kind)
create table if not exists drift_alerts (
    run_id      varchar not null,
    source_id   varchar not null,
    kind        varchar not null,              -- zero_items | volume_drop | layout_change | field_vanished:<field>
    detail      varchar not null,
    raised_at   timestamptz not null,
    primary key (run_id, source_id, kind)
);

-- grain: how often one field was filled on the items one source delivered in one run.
-- key: (run_id, source_id, field)
create table if not exists source_field_profiles (
    run_id      varchar not null,
    source_id   varchar not null,
    field       varchar not null,
    filled      integer not null,              -- items where the field is present (non-null, non-empty)
    total       integer not null,              -- items of the source last seen in this run
    primary key (run_id, source_id, field)
);
