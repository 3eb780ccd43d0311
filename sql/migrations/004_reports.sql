-- Reports: the ledger of watch-list reports and of every attempt to deliver them.

-- grain: one report of one watch list for one window. key: report_id
-- A report is built once and kept as sent (html, eml); a rerun finds it here and does not build or send it again.
create table if not exists reports (
    report_id       varchar primary key,       -- <watchlist_id>-<window_end as yyyymmddThhmmZ>: the same window, the same id
    watchlist_id    varchar not null,
    window_start    timestamptz not null,
    window_end      timestamptz not null,
    since           timestamptz not null,      -- "what changed" counts from here (the previous report's window_end)
    built_at        timestamptz not null,
    subject         varchar not null,
    mail_from       varchar not null,
    recipients      varchar[] not null,
    html            varchar not null,          -- the HTML part as sent (images by cid:)
    text_body       varchar not null,          -- the plain-text part as sent
    eml             blob not null,             -- the whole message, byte for byte what goes to the SMTP server
    message_id      varchar not null,          -- Message-ID header, stable per report_id
    status          varchar not null,          -- pending | sent
    attempts        integer not null default 0,
    last_error      varchar,
    last_attempt_at timestamptz,
    claimed_until   timestamptz,               -- a sender's lease: nobody else sends the report before this
    sent_at         timestamptz,
    summary         json                       -- counts of what changed, for listings
);

-- grain: one attempt to deliver one report. key: (report_id, attempted_at)
create table if not exists report_attempts (
    report_id       varchar not null,
    attempted_at    timestamptz not null,
    ok              boolean not null,
    smtp_host       varchar not null,
    error           varchar,
    primary key (report_id, attempted_at)
);
