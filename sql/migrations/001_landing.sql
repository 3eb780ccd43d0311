-- Landing tables: runs, raw payloads, parsed items and their edit history, markets and odds.

-- grain: one flow run. key: run_id
create table if not exists runs (
    run_id        varchar primary key,
    flow          varchar not null,
    started_at    timestamptz not null,
    finished_at   timestamptz,
    status        varchar not null,            -- running | completed | failed
    as_of         timestamptz,                 -- the clock the run was asked to see (the mirror's, in demos)
    summary       json
);

-- grain: one source in one run. key: (run_id, source_id)
create table if not exists run_sources (
    run_id          varchar not null,
    source_id       varchar not null,
    kind            varchar not null,
    pages_fetched   integer not null default 0,
    items_parsed    integer not null default 0,
    items_new       integer not null default 0,
    items_updated   integer not null default 0,
    rejects         integer not null default 0,
    status          varchar not null,          -- ok | empty | error
    error           varchar,
    primary key (run_id, source_id)
);

-- grain: one distinct payload body. key: content_sha256
create table if not exists raw_bodies (
    content_sha256  varchar primary key,
    body_zlib       blob not null,
    bytes           integer not null
);

-- grain: one HTTP fetch (every attempt that got an answer or a final error). key: fetch_id
create table if not exists raw_fetches (
    fetch_id        varchar primary key,
    run_id          varchar not null,
    source_id       varchar not null,
    url             varchar not null,
    status_code     integer,
    fetched_at      timestamptz not null,
    content_sha256  varchar,                   -- null when nothing was received
    error           varchar
);

-- grain: one post as last seen. key: (source_id, item_id)
create table if not exists items (
    source_id           varchar not null,
    item_id             varchar not null,
    kind                varchar not null,
    url                 varchar not null,
    published_at        timestamptz not null,
    text                varchar not null,
    author              varchar,
    views               bigint,
    forwarded_from_name varchar,
    forwarded_from_url  varchar,
    reply_to_url        varchar,
    media_kinds         varchar[],
    outlinks            varchar[],
    link_preview_url    varchar,
    link_preview_title  varchar,
    edited              boolean not null default false,
    is_service          boolean not null default false,
    album_id            varchar,
    lang                varchar,
    content_sha256      varchar not null,      -- of the text and edit marker: a change is an edit
    version_seen_at     timestamptz not null,  -- when the current text was first seen
    first_seen_at       timestamptz not null,
    last_seen_at        timestamptz not null,
    first_run_id        varchar not null,
    last_run_id         varchar not null,
    primary key (source_id, item_id)
);

-- grain: one superseded version of a post. key: (source_id, item_id, superseded_at)
create table if not exists item_history (
    source_id       varchar not null,
    item_id         varchar not null,
    text            varchar not null,
    edited          boolean not null,
    content_sha256  varchar not null,
    first_seen_at   timestamptz not null,
    superseded_at   timestamptz not null,
    superseded_by_run_id varchar not null
);

-- grain: a range of a paged source that a run could not reach within its page cap. key: (source_id, before_id)
create table if not exists source_gaps (
    source_id   varchar not null,
    before_id   bigint not null,                -- page back from here (exclusive)
    until_id    bigint not null,                -- down to here (exclusive): the newest post landed before the gap
    noted_at    timestamptz not null,
    primary key (source_id, before_id)
);

-- grain: one market. key: (venue, market_id)
create table if not exists markets (
    venue               varchar not null,
    market_id           varchar not null,
    question            varchar not null,
    slug                varchar,
    url                 varchar,
    event_id            varchar,
    group_item_title    varchar,
    outcomes            varchar[] not null,
    token_ids           varchar[],
    end_date            timestamptz,
    status              varchar not null,
    resolution          varchar,
    resolved_at         timestamptz,
    outcomes_sum_to_one boolean not null,
    first_seen_at       timestamptz not null,
    updated_at          timestamptz not null,
    primary key (venue, market_id)
);

-- grain: one outcome's price at one venue timestamp. key: (venue, market_id, outcome, venue_ts)
create table if not exists odds_snapshots (
    venue       varchar not null,
    market_id   varchar not null,
    outcome     varchar not null,
    price_prob  double not null,
    venue_ts    timestamptz not null,
    volume      double,
    liquidity   double,
    observed_at timestamptz not null,
    run_id      varchar not null,
    primary key (venue, market_id, outcome, venue_ts)
);

-- grain: a market proposed for a watch list by keyword search. key: (watchlist_id, venue, market_id)
create table if not exists market_candidates (
    watchlist_id    varchar not null,
    venue           varchar not null,
    market_id       varchar not null,
    question        varchar not null,
    slug            varchar,
    matched_keywords varchar[],
    proposed_at     timestamptz not null,
    status          varchar not null default 'proposed',   -- proposed | confirmed | rejected
    primary key (watchlist_id, venue, market_id)
);

-- grain: one row set aside, with why. key: none (append-only log)
create table if not exists quarantine (
    quarantined_at  timestamptz not null,
    run_id          varchar not null,
    stage           varchar not null,          -- parse | validate
    table_name      varchar not null,
    source_id       varchar,
    record_key      varchar,
    check_name      varchar not null,
    reason          varchar not null,
    payload         varchar
);
