-- Signals: configuration mirrored from YAML, per-item annotations, story membership and the grouper's
-- state, written by Python each run. The SQL models in sql/staging and sql/marts read these.

-- grain: one configured source, synced from sources.yaml every run. key: source_id
create table if not exists sources (
    source_id   varchar primary key,
    kind        varchar not null,              -- telegram | x | rss
    handle      varchar,
    url         varchar,
    name        varchar not null,
    register    varchar not null,              -- state-aligned | western-wire | osint | official ...
    language    varchar not null,
    enabled     boolean not null,
    outlet      varchar not null,              -- what other posts cite it as ("Reuters" for Reuters World News)
    synced_at   timestamptz not null
);

-- grain: one watch list, synced from watchlists.yaml every run. key: watchlist_id
create table if not exists watchlists (
    watchlist_id        varchar primary key,
    title               varchar not null,
    description         varchar,
    window_hours        integer not null,      -- a story is open while its last item is this recent
    odds_move_threshold double not null,
    synced_at           timestamptz not null
);

-- grain: one actor or role of one watch list. key: (watchlist_id, speaker_id)
create table if not exists watchlist_speakers (
    watchlist_id  varchar not null,
    speaker_id    varchar not null,
    kind          varchar not null,            -- actor | role
    name          varchar not null,
    title         varchar,
    side          varchar not null,
    primary key (watchlist_id, speaker_id)
);

-- grain: one claim of one watch list. key: (watchlist_id, claim_id)
create table if not exists watchlist_claims (
    watchlist_id  varchar not null,
    claim_id      varchar not null,
    description   varchar,
    primary key (watchlist_id, claim_id)
);

-- grain: one pair of claims a watch list declares incompatible. key: (watchlist_id, claim_a, claim_b)
create table if not exists watchlist_contradictions (
    watchlist_id  varchar not null,
    claim_a       varchar not null,
    claim_b       varchar not null,
    primary key (watchlist_id, claim_a, claim_b)
);

-- grain: one market a watch list follows, as configured. key: (watchlist_id, venue, market_ref)
create table if not exists watchlist_markets (
    watchlist_id  varchar not null,
    venue         varchar not null,
    market_ref    varchar not null,            -- the configured slug, ticker or id
    primary key (watchlist_id, venue, market_ref)
);

-- grain: one signal to watch. key: (watchlist_id, signal_id)
create table if not exists watchlist_signals (
    watchlist_id     varchar not null,
    signal_id        varchar not null,
    title            varchar not null,
    claims_any       varchar[] not null,
    actors_any       varchar[] not null,
    keywords_any     json,
    has_item_rule    boolean not null,         -- the rule has a claims, actors or keywords part
    market_venue     varchar,
    market_ref       varchar,
    market_above     double,
    market_below     double,
    market_move_abs  double,
    primary key (watchlist_id, signal_id)
);

-- grain: one item's annotation against every watch list, for its current text. key: (source_id, item_id)
create table if not exists item_annotations (
    source_id           varchar not null,
    item_id             varchar not null,
    content_sha256      varchar not null,      -- the items row version annotated
    published_at        timestamptz not null,
    lang                varchar not null,      -- from the script of the text
    speaker_id          varchar,
    speaker_name        varchar,
    speaker_kind        varchar,               -- actor | role
    speech_act          varchar,               -- said accused denied warned confirmed announced claimed insisted
    quotes              varchar[] not null,
    claims              varchar[] not null,
    actors              varchar[] not null,
    places              varchar[] not null,
    keywords            varchar[] not null,
    cited_outlets       varchar[] not null,
    cited_source_ids    varchar[] not null,
    medium              varchar,
    attributed_to       varchar,
    attribution_chain   varchar[] not null,
    url_key             varchar,
    link_keys           varchar[] not null,
    forwarded_key       varchar,
    watchlist_ids       varchar[] not null,    -- the watch lists the item is relevant to
    entities            varchar[] not null,    -- what the story grouper links items by
    lexicon_fingerprint varchar not null,
    annotated_at        timestamptz not null,
    run_id              varchar not null,
    primary key (source_id, item_id)
);

-- grain: one item that meets the item part of one signal's rule.
-- key: (watchlist_id, signal_id, source_id, item_id)
create table if not exists signal_item_hits (
    watchlist_id  varchar not null,
    signal_id     varchar not null,
    source_id     varchar not null,
    item_id       varchar not null,
    published_at  timestamptz not null,
    url           varchar not null,
    why           varchar not null,
    primary key (watchlist_id, signal_id, source_id, item_id)
);

-- grain: one item's story, as the grouper assigned it. key: (source_id, item_id)
create table if not exists story_items (
    source_id     varchar not null,
    item_id       varchar not null,
    story_id      varchar not null,            -- as assigned; story_merges says where it went since
    published_at  timestamptz not null,
    assigned_at   timestamptz not null,
    run_id        varchar not null,
    primary key (source_id, item_id)
);

-- grain: one story absorbed into another. key: absorbed_story_id
create table if not exists story_merges (
    absorbed_story_id  varchar primary key,
    into_story_id      varchar not null,
    merged_at          timestamptz not null,
    run_id             varchar not null
);

-- grain: the grouper's saved state (one row). key: state_id
create table if not exists grouper_state (
    state_id    varchar primary key,
    saved_at    timestamptz not null,
    run_id      varchar not null,
    state       blob not null                  -- zlib-compressed JSON
);

-- grain: the stories a run recomputed, per watch list (rewritten every run). key: (watchlist_id, story_id)
create table if not exists signal_scope (
    watchlist_id  varchar not null,
    story_id      varchar not null,
    reason        varchar not null,            -- open | touched | absorbed | all
    as_of         timestamptz not null,        -- the run's clock: "now" for the odds marts
    run_id        varchar not null,
    primary key (watchlist_id, story_id)
);

-- grain: one signals computation. key: run_id
create table if not exists signal_runs (
    run_id               varchar primary key,
    as_of                timestamptz not null,
    computed_at          timestamptz not null,
    lexicon_fingerprint  varchar not null,
    items_annotated      integer not null,
    items_grouped        integer not null,
    stories_new          integer not null,
    merges               integer not null,
    stories_in_scope     integer not null,
    watermark            timestamptz,          -- newest items.version_seen_at seen; the next run starts here
    seconds              double not null,
    summary              json
);
