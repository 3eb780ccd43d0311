-- Signal alerts: each watch-list signal's level as the hourly run last saw it, and every alert, one row
-- per change of a signal per recipient and channel, recorded before it is sent.

-- grain: one signal of one watch list, at the level the last run saw. key: (watchlist_id, signal_id)
-- A run compares mart_signal_status with this table: a level above the one kept here is a change.
create table if not exists signal_levels (
    watchlist_id  varchar not null,
    signal_id     varchar not null,
    level         varchar not null,            -- not seen | seen | corroborated
    level_since   timestamptz,                 -- when the signal reached that level
    observed_at   timestamptz not null,        -- the clock of the run that saw it
    run_id        varchar not null,
    primary key (watchlist_id, signal_id)
);

-- grain: one change of one signal for one recipient on one channel. key: alert_id
-- Written, with the message, in the same transaction that records the change in signal_levels; a
-- hand-over is marked 'possibly_delivered' before the message goes out and completed after.
create table if not exists alerts (
    alert_id       varchar primary key,        -- deterministic: the same change, channel and recipient, the same id
    watchlist_id   varchar not null,
    signal_id      varchar not null,
    from_level     varchar not null,
    to_level       varchar not null,
    changed_at     timestamptz not null,       -- the clock of the run that saw the change
    run_id         varchar not null,           -- that run
    channel        varchar not null,           -- email | webhook
    recipient      varchar not null,           -- an address, or where the webhook's URL is read from
    status         varchar not null,           -- held | pending | possibly_delivered | sent | failed | batched | flapped | cancelled
    send_after     timestamptz,                -- a held alert waits for the end of the quiet period
    batched_into   varchar,                    -- the alert that carried this change
    subject        varchar,
    text_body      varchar,
    html           varchar,
    payload        blob,                       -- exactly what is handed over: the .eml, or the webhook's JSON
    message_id     varchar,
    attempts       integer not null default 0,
    last_error     varchar,
    claimed_by     varchar,                    -- the flow run sending it
    claimed_until  timestamptz,                -- nobody else sends it before this
    attempted_at   timestamptz,                -- the latest hand-over began (recorded before it)
    finished_at    timestamptz,                -- its outcome was recorded
    sent_at        timestamptz,
    recorded_at    timestamptz not null
);
