"""Landing: raw payloads, items, markets and odds into DuckDB, in bulk and idempotently.

A rerun of the same hour adds nothing twice: items upsert on (source_id, item_id), odds on
(venue, market_id, outcome, venue_ts), raw bodies dedupe on their hash. An edited post updates its
row and its earlier text moves to item_history.
"""
from __future__ import annotations

import json
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from tasks.db import sha256_text, utcnow
from tasks.failpoints import failpoint
from tasks.items import Item, Market, OddsPoint

ITEM_COLUMNS = [
    "source_id", "item_id", "kind", "url", "published_at", "text", "author", "views",
    "forwarded_from_name", "forwarded_from_url", "reply_to_url", "media_kinds", "outlinks",
    "link_preview_url", "link_preview_title", "edited", "is_service", "album_id", "lang", "content_sha256",
]


@dataclass(slots=True)
class FetchRecord:
    """One fetch as landed in raw_fetches (+ its body in raw_bodies)."""

    source_id: str
    url: str
    fetched_at: datetime
    status_code: int | None
    body: bytes | None
    error: str | None = None


@dataclass(slots=True)
class QuarantineRow:
    table_name: str
    check_name: str
    reason: str
    source_id: str | None = None
    record_key: str | None = None
    payload: str | None = None


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
    try:
        con.execute("insert into raw_bodies select * from incoming_bodies on conflict do nothing")
        con.execute("insert into raw_fetches by name select * from incoming_fetches")
    finally:
        con.unregister("incoming_fetches")
        con.unregister("incoming_bodies")
    return len(rows)


def items_frame(items: list[tuple[str, Item]]) -> pd.DataFrame:
    """(kind, item) pairs to a DataFrame with the items table's columns; last copy of a key wins."""
    records = []
    for kind, it in items:
        r = it.as_row()
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
    stats: dict[str, Counter] = {}
    if not items:
        return stats
    seen_at = seen_at or utcnow()
    df = items_frame(items)
    con.register("incoming_items_df", df)
    try:
        con.execute("begin")
        con.execute("""
            create or replace temp table incoming_items as
            select * replace (cast(published_at as timestamptz) as published_at) from incoming_items_df
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
        con.execute(f"""
            insert into items
            select {", ".join(ITEM_COLUMNS)}, ? as version_seen_at, ? as first_seen_at, ? as last_seen_at,
                   ? as first_run_id, ? as last_run_id
            from incoming_items
            on conflict (source_id, item_id) do update set
                url = excluded.url, published_at = excluded.published_at, text = excluded.text,
                author = excluded.author, views = excluded.views,
                forwarded_from_name = excluded.forwarded_from_name, forwarded_from_url = excluded.forwarded_from_url,
                reply_to_url = excluded.reply_to_url, media_kinds = excluded.media_kinds,
                outlinks = excluded.outlinks, link_preview_url = excluded.link_preview_url,
                link_preview_title = excluded.link_preview_title, edited = excluded.edited,
                is_service = excluded.is_service, album_id = excluded.album_id, lang = excluded.lang,
                version_seen_at = case when items.content_sha256 <> excluded.content_sha256
                                       then excluded.version_seen_at else items.version_seen_at end,
                content_sha256 = excluded.content_sha256,
                last_seen_at = excluded.last_seen_at, last_run_id = excluded.last_run_id
        """, [seen_at, seen_at, seen_at, run_id, run_id])
        con.execute("drop table incoming_items")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("incoming_items_df")
    return stats


def land_markets(con: duckdb.DuckDBPyConnection, run_id: str, markets: list[Market], odds: list[OddsPoint],
                 observed_at: datetime | None = None, point_kinds: list[str] | None = None) -> tuple[int, int]:
    """Upsert market metadata and insert odds points not yet landed. Returns (markets, new odds).
    point_kinds: 'history' or 'snapshot' per odds point (default all 'history')."""
    observed_at = observed_at or utcnow()
    new_odds = 0
    con.execute("begin")
    try:
        if markets:
            mdf = pd.DataFrame.from_records([m.as_row() for m in markets]).drop_duplicates(
                subset=["venue", "market_id"], keep="last")
            con.register("incoming_markets", mdf)
            con.execute("""
                insert into markets
                select venue, market_id, question, slug, url, event_id, group_item_title, outcomes, token_ids,
                       cast(end_date as timestamptz), status, resolution, cast(resolved_at as timestamptz),
                       outcomes_sum_to_one, ? as first_seen_at, ? as updated_at
                from incoming_markets
                on conflict (venue, market_id) do update set
                    question = excluded.question, slug = excluded.slug, url = excluded.url,
                    event_id = excluded.event_id, group_item_title = excluded.group_item_title,
                    outcomes = excluded.outcomes, token_ids = excluded.token_ids, end_date = excluded.end_date,
                    status = excluded.status, resolution = excluded.resolution, resolved_at = excluded.resolved_at,
                    outcomes_sum_to_one = excluded.outcomes_sum_to_one, updated_at = excluded.updated_at
            """, [observed_at, observed_at])
            con.unregister("incoming_markets")
        if odds:
            odf = pd.DataFrame.from_records([o.as_row() for o in odds])
            odf["point_kind"] = point_kinds or "history"
            odf = odf.drop_duplicates(subset=["venue", "market_id", "outcome", "venue_ts"], keep="last")
            con.register("incoming_odds", odf)
            before = con.execute("select count(*) from odds_snapshots").fetchone()[0]
            con.execute("""
                insert into odds_snapshots
                select venue, market_id, outcome, price_prob, cast(venue_ts as timestamptz), volume, liquidity,
                       ? as observed_at, ? as run_id, point_kind
                from incoming_odds
                on conflict do nothing
            """, [observed_at, run_id])
            new_odds = con.execute("select count(*) from odds_snapshots").fetchone()[0] - before
            con.unregister("incoming_odds")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(markets), new_odds


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
        con.execute("insert into quarantine by name select * from incoming_quarantine")
    finally:
        con.unregister("incoming_quarantine")
    return len(df)


def start_run(con: duckdb.DuckDBPyConnection, flow: str, as_of: datetime | None, run_id: str | None = None) -> str:
    run_id = run_id or uuid.uuid4().hex[:16]
    con.execute("insert into runs (run_id, flow, started_at, status, as_of) values (?, ?, ?, 'running', ?)",
                [run_id, flow, utcnow(), as_of])
    return run_id


def mark_abandoned_runs(con: duckdb.DuckDBPyConnection, older_than: timedelta = timedelta(hours=2)) -> int:
    """Runs still 'running' long after they started were killed; say so rather than leave them open."""
    return len(con.execute("""
        update runs set status = 'abandoned', finished_at = ? where status = 'running' and started_at < ?
        returning run_id
    """, [utcnow(), utcnow() - older_than]).fetchall())


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: dict) -> None:
    con.execute("update runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
                [utcnow(), status, json.dumps(summary, default=str), run_id])


def record_source_runs(con: duckdb.DuckDBPyConnection, run_id: str, rows: list[dict]) -> None:
    if not rows:
        return
    df = pd.DataFrame(rows)
    df["run_id"] = run_id
    con.register("incoming_run_sources", df)
    try:
        con.execute("""
            insert into run_sources by name select * from incoming_run_sources
            on conflict (run_id, source_id) do update set
                pages_fetched = excluded.pages_fetched, items_parsed = excluded.items_parsed,
                items_new = excluded.items_new, items_updated = excluded.items_updated,
                rejects = excluded.rejects, status = excluded.status, error = excluded.error
        """)
    finally:
        con.unregister("incoming_run_sources")
