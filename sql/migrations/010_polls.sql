-- Telegram polls: what each poll asks, once per poll post, and its results each time a run saw them change.
-- The question and options are also the post's text in `items`; results move with the votes and are not edits.

-- grain: one poll post. key: (source_id, item_id), the post in `items`
create table if not exists polls (
    source_id        varchar not null,
    item_id          varchar not null,
    question         varchar not null,
    options          varchar[] not null,       -- option texts, in the poll's order
    kind             varchar not null,         -- anonymous | public
    quiz             boolean not null default false,
    multiple_choice  boolean not null default false,
    voters           bigint,                   -- as last seen
    first_seen_at    timestamptz not null,
    last_seen_at     timestamptz not null,
    first_run_id     varchar not null,
    last_run_id      varchar not null,
    primary key (source_id, item_id)
);

-- grain: one option of one poll at one observation. key: (source_id, item_id, option_index, observed_at)
-- A run adds an observation only when the poll's results differ from the last one kept.
create table if not exists poll_results (
    source_id     varchar not null,
    item_id       varchar not null,
    option_index  integer not null,            -- 0-based, the poll's order
    option_text   varchar not null,
    percent       integer,                     -- 0-100 as the source rounds it; null when it shows none
    voters        bigint,                      -- the poll's voters at that observation
    observed_at   timestamptz not null,
    run_id        varchar not null,
    primary key (source_id, item_id, option_index, observed_at)
);
