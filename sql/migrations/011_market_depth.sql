-- Market depth: every Kalshi trade, a trade cursor per market, the book beside each snapshot price, and
-- what the venues' market objects say that the desk must not take at face value (unknown resolutions,
-- archived duplicates, end dates that cannot be right, outcome prices that do not sum to one).

-- grain: one trade on a venue. key: (venue, trade_id)
-- Trades are only ever inserted: a rerun over trades already landed adds nothing.
create table if not exists market_trades (
    venue            varchar not null,
    trade_id         varchar not null,
    market_id        varchar not null,
    traded_at        timestamptz not null,      -- the venue's execution time, to the microsecond
    yes_price_prob   double not null,
    no_price_prob    double not null,
    count_contracts  double not null,
    taker_side       varchar not null,          -- yes | no
    observed_at      timestamptz not null,
    run_id           varchar not null,
    primary key (venue, trade_id)
);

-- grain: one market whose trades are fetched. key: (venue, market_id)
-- The next fetch asks for trades from newest_trade_at on; a fetch stopped by its page cap keeps the venue's
-- cursor and window start, and the next run finishes that window before moving on.
create table if not exists market_trade_cursors (
    venue               varchar not null,
    market_id           varchar not null,
    newest_trade_at     timestamptz,           -- the newest trade landed: the next window starts here
    newest_trade_id     varchar,
    resume_cursor       varchar,               -- the venue's cursor of an unfinished window, else null
    resume_min_ts       bigint,                -- that window's start, unix seconds
    trades_landed       bigint not null,       -- trades this cursor has landed, over all runs
    updated_at          timestamptz not null,
    run_id              varchar not null,
    primary key (venue, market_id)
);

alter table markets add column resolution_kind varchar;      -- outcome | cancelled | split | unknown
alter table markets add column resolution_raw varchar;       -- the venue's own resolution value
alter table markets add column archived boolean;                -- null on markets landed before it: not archived
alter table markets add column end_date_issue varchar;       -- why end_date cannot be right, else null
alter table markets add column outcome_sum_issue varchar;    -- promised outcome prices not summing to one

alter table odds_snapshots add column best_bid_prob double;
alter table odds_snapshots add column best_ask_prob double;
alter table odds_snapshots add column spread_prob double;
alter table odds_snapshots add column open_interest_contracts double;
