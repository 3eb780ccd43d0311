"""Landing: raw payloads, items, markets and odds into DuckDB, in bulk and idempotently.

A rerun of the same hour adds nothing twice: items upsert on (source_id, item_id), odds on
(venue, market_id, outcome, venue_ts), raw bodies dedupe on their hash. An edited post updates its
row and its earlier text moves to item_history. A poll post also upserts its row in polls and adds
an observation to poll_results when its results moved since the last one kept.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
import zlib
from collections import Counter
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from signal_desk import db
from signal_desk.clock import utcnow
from signal_desk.db import sha256_text
from signal_desk.failpoints import failpoint
from signal_desk.items import FetchRecord, Item, Market, MarketTrade, OddsPoint, QuarantineRow, TradeWindow

ITEM_COLUMNS = [
    "source_id", "item_id", "kind", "url", "published_at", "text", "author", "views",
    "forwarded_from_name", "forwarded_from_url", "reply_to_url", "media_kinds", "outlinks",
    "link_preview_url", "link_preview_title", "edited", "is_service", "album_id", "lang", "content_sha256",
]
_ITEM_FIELDS = [f.name for f in fields(Item)]
# What a landing of an already landed item may change (the kind stays as first landed).
_UPDATED_COLUMNS = [c for c in ITEM_COLUMNS if c not in ("source_id", "item_id", "kind", "content_sha256")]
log = logging.getLogger(__name__)


def land_fetches(con: duckdb.DuckDBPyConnection, run_id: str, fetches: list[FetchRecord]) -> int:
    if not fetches:
        return 0
    bodies: dict[str, tuple[bytes, int]] = {}
    rows = []
    for f in fetches:
        digest = None
        if f.body is not None:
            digest = sha256_text(f.body.decode("latin-1"))
            if digest not in bodies:
                bodies[digest] = (zlib.compress(f.body, 6), len(f.body))
        rows.append((uuid.uuid4().hex, run_id, f.source_id, f.url, f.status_code, f.fetched_at, digest, f.error))
    fetch_df = pd.DataFrame(rows, columns=["fetch_id", "run_id", "source_id", "url", "status_code",
                                           "fetched_at", "content_sha256", "error"])
    fetch_df["status_code"] = fetch_df["status_code"].astype("Int64")
    body_df = pd.DataFrame([(k, v[0], v[1]) for k, v in bodies.items()],
                           columns=["content_sha256", "body_zlib", "bytes"])
    con.register("incoming_fetches", fetch_df)
    con.register("incoming_bodies", body_df)

    def write() -> None:
        con.execute("""
            merge into raw_bodies using incoming_bodies using (content_sha256)
            when not matched then insert by name
        """)
        con.execute("insert into raw_fetches by name select * from incoming_fetches")

    try:
        db.transaction(con, write, what=f"landing {len(rows)} fetches")
    finally:
        con.unregister("incoming_fetches")
        con.unregister("incoming_bodies")
    return len(rows)


def items_frame(items: list[tuple[str, Item]]) -> pd.DataFrame:
    """(kind, item) pairs to a DataFrame with the items table's columns; last copy of a key wins."""
    records = []
    for kind, it in items:
        r = {name: getattr(it, name) for name in _ITEM_FIELDS}     # as_row's deep copy is not needed
        r["kind"] = kind
        r["content_sha256"] = sha256_text(r["text"], "edited" if r["edited"] else "")
        records.append(r)
    df = pd.DataFrame.from_records(records, columns=[c for c in ITEM_COLUMNS if c != "kind"] + ["kind"])
    df = df[ITEM_COLUMNS]
    df["views"] = df["views"].astype("Int64")
    df = df.drop_duplicates(subset=["source_id", "item_id"], keep="last")
    return df


def land_items(con: duckdb.DuckDBPyConnection, run_id: str, items: list[tuple[str, Item]],
               seen_at: datetime | None = None) -> dict[str, Counter]:
    """Upsert items; returns per-source Counter(new=, updated=, unchanged=)."""
    if not items:
        return {}
    seen_at = seen_at or utcnow()
    df = items_frame(items)
    con.register("incoming_items_df", df)

    def write() -> dict[str, Counter]:
        stats: dict[str, Counter] = {}
        unchanged = " and ".join(f"i.{c} is not distinct from n.{c}" for c in [*_UPDATED_COLUMNS, "content_sha256"])
        con.execute(f"""
            create or replace temp table incoming_items as
            with n as (
                select * replace (cast(published_at as timestamptz) as published_at) from incoming_items_df
            )
            select n.*, i.item_id is null or not ({unchanged}) as changed
            from n
            left join items i on i.source_id = n.source_id and i.item_id = n.item_id
        """)
        for source_id, status, n in con.execute("""
            select n.source_id,
                   case when i.item_id is null then 'new'
                        when i.content_sha256 <> n.content_sha256 then 'updated'
                        else 'unchanged' end as status,
                   count(*)
            from incoming_items n
            left join items i using (source_id, item_id)
            group by all
        """).fetchall():
            stats.setdefault(source_id, Counter())[status] += n
        con.execute("""
            insert into item_history
            select i.source_id, i.item_id, i.text, i.edited, i.content_sha256, i.version_seen_at, ?, ?
            from items i
            join incoming_items n using (source_id, item_id)
            where i.content_sha256 <> n.content_sha256
        """, [seen_at, run_id])
        failpoint("mid-land-items")
        # Most rows a run sees were landed before and have not changed: only their last-seen marks move,
        # far cheaper than merging every column of them back.
        con.execute("""
            update items set last_seen_at = ?, last_run_id = ?
            from incoming_items n
            where items.source_id = n.source_id and items.item_id = n.item_id and not n.changed
        """, [seen_at, run_id])
        updated = ", ".join(f"{c} = n.{c}" for c in _UPDATED_COLUMNS)
        con.execute(f"""
            merge into items
            using (select * exclude (changed), ? as seen_at, ? as run_id from incoming_items where changed) as n
            using (source_id, item_id)
            when matched then update set
                {updated},
                version_seen_at = case when items.content_sha256 <> n.content_sha256
                                       then n.seen_at else items.version_seen_at end,
                content_sha256 = n.content_sha256, last_seen_at = n.seen_at, last_run_id = n.run_id,
                changed_run_id = n.run_id
            when not matched then insert ({", ".join(ITEM_COLUMNS)}, version_seen_at, first_seen_at,
                                          last_seen_at, first_run_id, last_run_id, changed_run_id)
                values ({", ".join("n." + c for c in ITEM_COLUMNS)}, n.seen_at, n.seen_at, n.seen_at,
                        n.run_id, n.run_id, n.run_id)
        """, [seen_at, run_id])
        con.execute("drop table incoming_items")
        if polls is not None:
            _land_polls(con, run_id, seen_at)
        return stats

    polls = polls_frames(items)
    if polls is not None:
        con.register("incoming_polls_df", polls[0])
        con.register("incoming_poll_results_df", polls[1])
    try:
        stats = db.transaction(con, write, what=f"landing {len(df)} items")
    finally:
        con.unregister("incoming_items_df")
        if polls is not None:
            con.unregister("incoming_polls_df")
            con.unregister("incoming_poll_results_df")
    return stats


def polls_frames(items: list[tuple[str, Item]]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The polls among the items, as rows of polls and of poll_results; None when there are none."""
    polls: dict[tuple[str, str], Item] = {}
    for _, it in items:
        if it.poll is not None:
            polls[(it.source_id, it.item_id)] = it          # last copy of a key wins, as for items
    if not polls:
        return None
    poll_rows, result_rows = [], []
    for (source_id, item_id), it in polls.items():
        poll = it.poll
        poll_rows.append((source_id, item_id, poll.question, [o.text for o in poll.options],
                          "anonymous" if poll.anonymous else "public", poll.quiz, poll.multiple_choice, poll.voters))
        result_rows += [(source_id, item_id, index, option.text, option.percent, poll.voters)
                        for index, option in enumerate(poll.options)]
    poll_df = pd.DataFrame(poll_rows, columns=["source_id", "item_id", "question", "options", "kind", "quiz",
                                               "multiple_choice", "voters"])
    result_df = pd.DataFrame(result_rows, columns=["source_id", "item_id", "option_index", "option_text",
                                                   "percent", "voters"])
    for frame in (poll_df, result_df):
        frame["voters"] = frame["voters"].astype("Int64")
    result_df["percent"] = result_df["percent"].astype("Int64")
    return poll_df, result_df


def _land_polls(con: duckdb.DuckDBPyConnection, run_id: str, seen_at: datetime) -> None:
    con.execute("""
        merge into polls
        using (select *, ? as seen_at, ? as run_id from incoming_polls_df) as n
        using (source_id, item_id)
        when matched then update set
            question = n.question, options = n.options, kind = n.kind, quiz = n.quiz,
            multiple_choice = n.multiple_choice, voters = n.voters, last_seen_at = n.seen_at, last_run_id = n.run_id
        when not matched then insert (source_id, item_id, question, options, kind, quiz, multiple_choice, voters,
                                      first_seen_at, last_seen_at, first_run_id, last_run_id)
            values (n.source_id, n.item_id, n.question, n.options, n.kind, n.quiz, n.multiple_choice, n.voters,
                    n.seen_at, n.seen_at, n.run_id, n.run_id)
    """, [seen_at, run_id])
    # Set differences (NULLs compare equal in them): a poll whose results are those last kept adds nothing.
    con.execute("""
        insert into poll_results
        with latest as (
            select source_id, item_id, option_index, option_text, percent, voters
            from poll_results r
            where exists (select 1 from incoming_poll_results_df n
                          where n.source_id = r.source_id and n.item_id = r.item_id)
            qualify observed_at = max(observed_at) over (partition by source_id, item_id)
        ),
        incoming as (
            select source_id, item_id, option_index, option_text, cast(percent as integer) as percent,
                   cast(voters as bigint) as voters
            from incoming_poll_results_df
        ),
        moved as (
            select source_id, item_id from (select * from incoming except select * from latest)
            union
            select source_id, item_id from (select * from latest except select * from incoming)
        )
        select n.source_id, n.item_id, n.option_index, n.option_text, n.percent, n.voters, ?, ?
        from incoming n
        where exists (select 1 from moved m where m.source_id = n.source_id and m.item_id = n.item_id)
    """, [seen_at, run_id])


def land_markets(con: duckdb.DuckDBPyConnection, run_id: str, markets: list[Market], odds: list[OddsPoint],
                 observed_at: datetime | None = None, point_kinds: list[str] | None = None) -> tuple[int, int]:
    """Upsert market metadata and insert odds points not yet landed. Returns (markets, new odds).
    point_kinds: 'history' or 'snapshot' per odds point (default all 'history')."""
    observed_at = observed_at or utcnow()

    def write() -> int:
        new_odds = 0
        if markets:
            mdf = pd.DataFrame.from_records([m.as_row() for m in markets]).drop_duplicates(
                subset=["venue", "market_id"], keep="last")
            con.register("incoming_markets", mdf)
            con.execute("""
                merge into markets
                using (
                    select venue, market_id, question, slug, url, event_id, group_item_title, outcomes, token_ids,
                           cast(end_date as timestamptz) as end_date, status, resolution,
                           cast(resolved_at as timestamptz) as resolved_at, outcomes_sum_to_one,
                           ? as first_seen_at, ? as updated_at,
                           resolution_kind, resolution_raw, archived, end_date_issue, outcome_sum_issue
                    from incoming_markets
                ) as n
                using (venue, market_id)
                when matched then update set
                    question = n.question, slug = n.slug, url = n.url, event_id = n.event_id,
                    group_item_title = n.group_item_title, outcomes = n.outcomes, token_ids = n.token_ids,
                    end_date = n.end_date, status = n.status, resolution = n.resolution,
                    resolved_at = n.resolved_at, outcomes_sum_to_one = n.outcomes_sum_to_one,
                    updated_at = n.updated_at, resolution_kind = n.resolution_kind,
                    resolution_raw = n.resolution_raw, archived = n.archived, end_date_issue = n.end_date_issue,
                    outcome_sum_issue = n.outcome_sum_issue
                when not matched then insert by name
            """, [observed_at, observed_at])
            con.unregister("incoming_markets")
        if odds:
            odf = pd.DataFrame.from_records([o.as_row() for o in odds])
            odf["point_kind"] = point_kinds or "history"
            odf = odf.drop_duplicates(subset=["venue", "market_id", "outcome", "venue_ts"], keep="last")
            con.register("incoming_odds", odf)
            before = con.execute("select count(*) from odds_snapshots").fetchone()[0]
            con.execute("""
                merge into odds_snapshots
                using (
                    select venue, market_id, outcome, price_prob, cast(venue_ts as timestamptz) as venue_ts,
                           volume, liquidity, ? as observed_at, ? as run_id, point_kind,
                           best_bid_prob, best_ask_prob, spread_prob, open_interest_contracts
                    from incoming_odds
                ) as n
                using (venue, market_id, outcome, venue_ts)
                when not matched then insert by name
            """, [observed_at, run_id])
            new_odds = con.execute("select count(*) from odds_snapshots").fetchone()[0] - before
            con.unregister("incoming_odds")
        return new_odds

    new_odds = db.transaction(con, write, what=f"landing {len(markets)} markets and {len(odds)} odds points")
    return len(markets), new_odds


def land_trades(con: duckdb.DuckDBPyConnection, run_id: str, trades: list[MarketTrade], windows: list[TradeWindow],
                observed_at: datetime | None = None) -> int:
    """Insert trades not yet landed (by venue trade id) and move each market's trade cursor. Returns new trades."""
    observed_at = observed_at or utcnow()

    def count(w: TradeWindow) -> int:
        return con.execute("select count(*) from market_trades where venue = ? and market_id = ?",
                           [w.venue, w.market_id]).fetchone()[0]

    def write() -> int:
        new = 0
        before_by_window = [count(w) for w in windows]
        if trades:
            tdf = pd.DataFrame.from_records([t.as_row() for t in trades]).drop_duplicates(
                subset=["venue", "trade_id"], keep="first")
            con.register("incoming_trades", tdf)
            before = con.execute("select count(*) from market_trades").fetchone()[0]
            con.execute("""
                merge into market_trades
                using (
                    select venue, trade_id, market_id, cast(traded_at as timestamptz) as traded_at, yes_price_prob,
                           no_price_prob, count_contracts, taker_side, ? as observed_at, ? as run_id
                    from incoming_trades
                ) as n
                using (venue, trade_id)
                when not matched then insert by name
            """, [observed_at, run_id])
            new = con.execute("select count(*) from market_trades").fetchone()[0] - before
            con.unregister("incoming_trades")
        for w, before_here in zip(windows, before_by_window):
            landed_now = count(w) - before_here
            newest = con.execute("""
                select traded_at, trade_id from market_trades where venue = ? and market_id = ?
                order by traded_at desc, trade_id desc limit 1""", [w.venue, w.market_id]).fetchone()
            # An unfinished window keeps the newest trade of the last finished one: the next run resumes it.
            con.execute("""
                merge into market_trade_cursors
                using (select ? as venue, ? as market_id, ? as unfinished, ? as found_at, ? as found_id,
                              ? as resume_cursor, ? as resume_min_ts, ? as landed_now, ? as updated_at,
                              ? as run_id) as n
                using (venue, market_id)
                when matched then update set
                    newest_trade_at = case when n.unfinished then newest_trade_at else n.found_at end,
                    newest_trade_id = case when n.unfinished then newest_trade_id else n.found_id end,
                    resume_cursor = n.resume_cursor, resume_min_ts = n.resume_min_ts,
                    trades_landed = trades_landed + n.landed_now, updated_at = n.updated_at, run_id = n.run_id
                when not matched then insert values
                    (n.venue, n.market_id, case when n.unfinished then null else n.found_at end,
                     case when n.unfinished then null else n.found_id end,
                     n.resume_cursor, n.resume_min_ts, n.landed_now, n.updated_at, n.run_id)
            """, [w.venue, w.market_id, w.resume_cursor is not None, newest[0] if newest else None,
                  newest[1] if newest else None, w.resume_cursor, w.min_ts if w.resume_cursor else None,
                  landed_now, observed_at, run_id])
        return new

    return db.transaction(con, write, what=f"landing {len(trades)} trades")


def quarantine(con: duckdb.DuckDBPyConnection, run_id: str, stage: str, rows: list[QuarantineRow]) -> int:
    if not rows:
        return 0
    now = utcnow()
    df = pd.DataFrame([(now, run_id, stage, r.table_name, r.source_id, r.record_key, r.check_name, r.reason,
                        r.payload) for r in rows],
                      columns=["quarantined_at", "run_id", "stage", "table_name", "source_id", "record_key",
                               "check_name", "reason", "payload"])
    con.register("incoming_quarantine", df)
    try:
        db.transaction(con, lambda: con.execute("insert into quarantine by name select * from incoming_quarantine"),
                       what=f"quarantining {len(df)} rows")
    finally:
        con.unregister("incoming_quarantine")
    return len(df)


def start_run(con: duckdb.DuckDBPyConnection, flow: str, as_of: datetime | None, run_id: str | None = None,
              prefect_flow_run_id: str | None = None) -> str:
    """Record a run as running; `prefect_flow_run_id` is the Prefect flow run making it (None outside Prefect)."""
    run_id = run_id or uuid.uuid4().hex[:16]
    db.transaction(con, lambda: con.execute(
        "insert into runs (run_id, flow, started_at, status, as_of, prefect_flow_run_id) "
        "values (?, ?, ?, 'running', ?, ?)",
        [run_id, flow, utcnow(), as_of, prefect_flow_run_id]), what=f"starting run {run_id}")
    return run_id


def quarantined_by_source(con: duckdb.DuckDBPyConnection, run_id: str, stage: str | None = None) -> dict[str, int]:
    """Rows a run set aside, per source (rows of no source under ''), of one stage or all."""
    return dict(con.execute("""
        select coalesce(source_id, ''), count(*) from quarantine
        where run_id = ? and (? is null or stage = ?) group by all
    """, [run_id, stage, stage]).fetchall())


def mark_abandoned_runs(con: duckdb.DuckDBPyConnection, older_than: timedelta = timedelta(hours=2)) -> int:
    """Runs still 'running' long after they started were killed; say so rather than leave them open."""
    horizon = utcnow() - older_than

    def write() -> int:
        abandoned = con.execute("select count(*) from runs where status = 'running' and started_at < ?",
                                [horizon]).fetchone()[0]
        if abandoned:
            con.execute("update runs set status = 'abandoned', finished_at = ? "
                        "where status = 'running' and started_at < ?", [utcnow(), horizon])
        return abandoned

    return db.transaction(con, write, what="marking abandoned runs")


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict) -> None:
    db.transaction(con, lambda: con.execute(
        "update runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
        [utcnow(), status, json.dumps(summary, default=str), run_id]), what=f"finishing run {run_id}")


# ---- runs that could not reach the database ----------------------------------------------------------
# A run that cannot open a DuckDB file (another process holds it) cannot write its `runs` row there.
# It appends the attempt to a side file beside the database instead, and the next writer that gets the
# database moves those attempts into `runs` as failed runs and removes the file.

UNRECORDED_SUFFIX = ".unrecorded-runs.jsonl"


def unrecorded_runs_path(db_path: str | Path) -> Path | None:
    """The side file for a DuckDB file; None for a lake (its catalog has no file lock to wait on)."""
    if db.is_lake(db_path):
        return None
    return Path(str(db_path) + UNRECORDED_SUFFIX)


def record_unreachable_run(db_path: str | Path, flow: str, as_of: datetime | None, error: str,
                           prefect_flow_run_id: str | None = None) -> str | None:
    """Note a run that never reached the database; returns its run id (None for a lake)."""
    side = unrecorded_runs_path(db_path)
    if side is None:
        return None
    run_id = uuid.uuid4().hex[:16]
    now = utcnow().isoformat()
    line = json.dumps(dict(run_id=run_id, flow=flow, started_at=now, finished_at=now,
                           as_of=as_of.isoformat() if as_of else None, error=error,
                           prefect_flow_run_id=prefect_flow_run_id))
    side.parent.mkdir(parents=True, exist_ok=True)
    with open(side, "a", encoding="utf-8") as f:      # one short line: appends do not interleave
        f.write(line + "\n")
    return run_id


def import_unrecorded_runs(con: duckdb.DuckDBPyConnection, db_path: str | Path) -> int:
    """Move the attempts noted in the side file into `runs` as failed runs; returns how many. Call it
    holding the write connection, so that no other writer imports at the same time."""
    side = unrecorded_runs_path(db_path)
    if side is None or not side.exists():
        return 0
    # Rename first: a run failing to get the lock right now appends to a new side file meanwhile.
    claimed = side.with_name(f"{side.name}.importing-{os.getpid()}")
    os.replace(side, claimed)
    data = claimed.read_bytes()
    rows = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            rows.append([r["run_id"], r["flow"], r["started_at"], r["finished_at"], r.get("as_of"),
                         json.dumps({"status": "failed", "error": r["error"]}), r.get("prefect_flow_run_id")])
        except (ValueError, KeyError, TypeError) as error:
            log.warning("%s: line %d is not a run record (%s); skipped", side, number, error)

    def write() -> None:
        for row in rows:
            con.execute("""
                merge into runs using (select ? as run_id, ? as flow, cast(? as timestamptz) as started_at,
                                              cast(? as timestamptz) as finished_at, cast(? as timestamptz) as as_of,
                                              ? as summary, ? as prefect_flow_run_id) as n
                using (run_id)
                when not matched then insert (run_id, flow, started_at, finished_at, status, as_of, summary,
                                              prefect_flow_run_id)
                    values (n.run_id, n.flow, n.started_at, n.finished_at, 'failed', n.as_of, n.summary,
                            n.prefect_flow_run_id)
            """, row)

    db.transaction(con, write, what=f"recording {len(rows)} runs that could not reach the database")
    late = claimed.read_bytes()[len(data):]          # appended between the rename and the read's end
    if late:
        with open(side, "ab") as f:
            f.write(late)
    claimed.unlink()
    return len(rows)


def record_source_runs(con: duckdb.DuckDBPyConnection, run_id: str, rows: list[dict]) -> None:
    if not rows:
        return
    df = pd.DataFrame(rows)
    df["run_id"] = run_id
    con.register("incoming_run_sources", df)
    try:
        db.transaction(con, lambda: con.execute("""
            merge into run_sources using incoming_run_sources as n using (run_id, source_id)
            when matched then update set
                pages_fetched = n.pages_fetched, items_parsed = n.items_parsed, items_new = n.items_new,
                items_updated = n.items_updated, rejects = n.rejects, status = n.status, error = n.error
            when not matched then insert by name
        """), what=f"recording {len(df)} sources of run {run_id}")
    finally:
        con.unregister("incoming_run_sources")


def record_gaps(con: duckdb.DuckDBPyConnection, opened: list[tuple[str, int, int]]) -> None:
    """Keep (source_id, before_id, until_id) ranges a run could not reach, for the next run to fill."""
    if opened:
        db.transaction(con, lambda: con.executemany("""
            merge into source_gaps
            using (select ? as source_id, ? as before_id, ? as until_id, ? as noted_at) as n
            using (source_id, before_id)
            when matched then update set until_id = n.until_id, noted_at = n.noted_at
            when not matched then insert by name
        """, [[source_id, before, until, utcnow()] for source_id, before, until in opened]), what="recording gaps")


def delete_filled_gaps(con: duckdb.DuckDBPyConnection, filled: list[tuple[str, int]]) -> None:
    if filled:
        db.transaction(con, lambda: con.executemany(
            "delete from source_gaps where source_id = ? and before_id = ?", [list(f) for f in filled]),
            what="deleting filled gaps")


def land_parsed_sources(con: duckdb.DuckDBPyConnection, run_id: str, fetches: list,
                        parsed: list) -> list[dict]:
    """Land what the sources' parse step made of their fetches (`SourceFetch`, `SourceParse`): gaps,
    items, quarantined rows, and one `run_sources` row per source. Returns those rows.

    New gaps are written before the items (which move the cursor past them) and filled gaps are deleted
    only after, so a crash in between re-fetches a range rather than skipping it."""
    opened = [(f.source_id, before, until) for f in fetches for before, until in f.gaps_opened]
    record_gaps(con, opened)
    failpoint("before-land-items")
    stats = land_items(con, run_id, [(p.kind, it) for p in parsed for it in p.items])
    failpoint("after-land-items")
    delete_filled_gaps(con, [(f.source_id, before) for f in fetches for before in f.gaps_closed
                             if before not in {b for b, _ in f.gaps_opened}])
    quarantine(con, run_id, "parse", [r for p in parsed for r in p.rejects])
    pages = {f.source_id: len(f.pages) for f in fetches}
    rows = []
    for p in parsed:
        s = stats.get(p.source_id, {})
        rows.append(dict(source_id=p.source_id, kind=p.kind, pages_fetched=pages.get(p.source_id, 0),
                         items_parsed=len(p.items), items_new=s.get("new", 0), items_updated=s.get("updated", 0),
                         rejects=len(p.rejects), status=p.status, error=p.error))
    record_source_runs(con, run_id, rows)
    return rows
