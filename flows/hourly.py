"""The hourly pipeline: fetch -> land raw -> parse -> land items -> (markets) -> validate -> signals.

Each stage is its own Prefect task; the write connection to DuckDB is opened only inside the
landing/compute tasks and closed after, and a read-only snapshot is published for analysts at the end.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from flows.policies import policy as fetch_policy
from flows.run_names import current_flow_run_id, hourly_run_name
from signal_desk import db, landing
from signal_desk.config import Config, load_config
from signal_desk.failpoints import failpoint
from signal_desk.http import FetchPolicy
from signal_desk.ingest import Cursor, SourceParse, fetch_sources, load_cursors, parse_fetches
from signal_desk.markets_ingest import (MarketFetch, MarketParse, fetch_markets, land_candidates, latest_odds,
                                  parse_market_fetches, trade_cursors)
from signal_desk.sources.fetching import SourceFetch

DEFAULT_CONFIG = "config"

# Time bounds (seconds). Each is several times what the step takes on a loaded machine with a thousand
# channels, so that it only ever ends a run that hangs (a stuck NFS mount, a wedged lock holder, a
# parser in a pathological loop) instead of leaving it open for good.
MINUTE = 60
# Below the hour: the deployment cancels a new run while one is still going (CANCEL_NEW), so a hung run
# would stop ingestion until someone noticed; with this bound the next hour's run starts regardless.
HOURLY_TIMEOUT_S = 50 * MINUTE
# Waiting for the write lock (DESK_DB_LOCK_WAIT_S, 120 s by default) plus the migrations.
OPEN_RUN_TIMEOUT_S = 10 * MINUTE
# Every request is bounded by the fetch policy (90 s per source at most); the hosts' spacing across a
# thousand channels, ten pages each, is what takes time.
FETCH_TIMEOUT_S = 30 * MINUTE
WRITE_TIMEOUT_S = 15 * MINUTE        # one landing step: a few bulk statements
PARSE_TIMEOUT_S = 15 * MINUTE
VALIDATE_TIMEOUT_S = 20 * MINUTE     # Great Expectations starts slowly (about 10 s) before it reads anything
SIGNALS_TIMEOUT_S = 30 * MINUTE      # embeddings on CPU for every new item
CLOSE_RUN_TIMEOUT_S = 15 * MINUTE    # includes copying the whole database for the snapshot
# A few reads and writes, then each due alert's hand-over: bounded by the SMTP timeout or the fetch
# policy's time budget (90 s) each, and ledger writes that may wait for the lock.
ALERTS_TIMEOUT_S = 15 * MINUTE


@dataclass(frozen=True)
class DatabaseHeld:
    """open_run's answer when another process held the database: the one line that says so."""
    message: str


class RunFailed(RuntimeError):
    """The run was recorded as failed although nothing raised: every source failed, or the snapshot
    could not be published. The flow ends Failed with it, so that the alerts fire."""


@task(name="open-run", cache_policy=NO_CACHE, timeout_seconds=OPEN_RUN_TIMEOUT_S)
def open_run(db_path: str, flow_name: str, as_of: datetime | None,
             source_ids: list[str]) -> tuple[str, dict[str, Cursor]] | DatabaseHeld:
    """Record the run's start. When another process holds the database longer than a writer waits,
    the attempt is noted beside the database (the next run that gets it records it in `runs`) and the
    answer is the line naming the holder: the flow ends Failed with it, without a traceback, since
    nothing is wrong with the code."""
    log = get_run_logger()
    prefect_run = current_flow_run_id()
    try:
        with db.writer(db_path) as con:
            imported = landing.import_unrecorded_runs(con, db_path)
            abandoned = landing.mark_abandoned_runs(con)
            run_id = landing.start_run(con, flow_name, as_of, prefect_flow_run_id=prefect_run)
            cursors = load_cursors(con, source_ids)
    except db.DatabaseLocked as error:
        landing.record_unreachable_run(db_path, flow_name, as_of, str(error), prefect_flow_run_id=prefect_run)
        return DatabaseHeld(str(error))
    if imported:
        log.warning("recorded %d earlier run(s) that could not get the database as failed", imported)
    if abandoned:
        log.warning("marked %d run(s) still 'running' long after they started as abandoned", abandoned)
    log.info("opened run %s (Prefect flow run %s) for %d sources, %d with a cursor from earlier runs",
             run_id, prefect_run, len(source_ids), len(cursors))
    return run_id, cursors


@task(name="fetch-sources", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE, timeout_seconds=FETCH_TIMEOUT_S)
def fetch_task(cfg: Config, source_ids: list[str], cursors: dict[str, Cursor], policy: FetchPolicy,
               page_cap: int) -> list[SourceFetch]:
    log = get_run_logger()
    sources = [cfg.source(s) for s in source_ids]
    fetches = asyncio.run(fetch_sources(cfg, sources, cursors, policy=policy, page_cap=page_cap))
    pages = sum(len(f.pages) for f in fetches)
    failed = [f.source_id for f in fetches if f.error]
    log.info("fetched %d pages from %d sources (%d with errors)", pages, len(fetches), len(failed))
    for f in fetches:
        for note in f.notes:
            log.warning("%s: %s", f.source_id, note)
    return fetches


@task(name="fetch-markets", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE, timeout_seconds=FETCH_TIMEOUT_S)
def fetch_markets_task(cfg: Config, db_path: str, as_of: datetime | None, policy: FetchPolicy) -> list[MarketFetch]:
    log = get_run_logger()
    with db.writer(db_path) as con:
        latest = latest_odds(con)
        cursors = trade_cursors(con)
    fetches = asyncio.run(fetch_markets(cfg, latest, policy=policy, now=as_of, cursors=cursors))
    log.info("fetched %d market payloads for %d markets and searches",
             sum(len(f.payloads) for f in fetches), len(fetches))
    for f in fetches:
        if f.error:
            log.error("%s: %s", f.ref_key, f.error)
    return fetches


@task(name="land-raw", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_raw_task(db_path: str, run_id: str, fetches: list[SourceFetch], market_fetches: list[MarketFetch]) -> int:
    records = [p for f in fetches for p in f.pages] + [p.record for f in market_fetches for p in f.payloads]
    with db.writer(db_path) as con:
        n = landing.land_fetches(con, run_id, records)
        failpoint("after-land-raw")
    get_run_logger().info("landed %d raw fetches: %d source pages, %d market payloads",
                          n, sum(len(f.pages) for f in fetches), n - sum(len(f.pages) for f in fetches))
    return n


@task(name="parse-markets", cache_policy=NO_CACHE, timeout_seconds=PARSE_TIMEOUT_S)
def parse_markets_task(cfg: Config, fetches: list[MarketFetch], as_of: datetime | None) -> MarketParse:
    log = get_run_logger()
    parsed = parse_market_fetches(cfg, fetches, as_of or db.utcnow())
    log.info("parsed %d markets, %d odds points, %d rejected elements, %d candidates",
             len(parsed.result.markets), len(parsed.result.odds), len(parsed.quarantined), len(parsed.candidates))
    if fetches and not parsed.result.markets:
        log.warning("no market parsed although %d were fetched", len(fetches))
    return parsed


@task(name="land-markets", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_markets_task(db_path: str, run_id: str, parsed: MarketParse) -> dict:
    with db.writer(db_path) as con:
        n_markets, n_odds = landing.land_markets(con, run_id, parsed.result.markets, parsed.result.odds,
                                                 point_kinds=parsed.point_kinds)
        n_trades = landing.land_trades(con, run_id, parsed.result.trades, parsed.trade_windows)
        landing.quarantine(con, run_id, "parse", parsed.quarantined)
        n_candidates = db.transaction(con, lambda: land_candidates(con, parsed.candidates, db.utcnow()),
                                      what="proposing market candidates")
    get_run_logger().info("landed %d markets, %d new odds points, %d new trades, %d rejected elements "
                          "quarantined, %d new market candidates", n_markets, n_odds, n_trades,
                          len(parsed.quarantined), n_candidates)
    return dict(markets=n_markets, new_odds=n_odds, new_trades=n_trades, rejected=len(parsed.quarantined),
                new_candidates=n_candidates, errors=parsed.errors)


@task(name="parse-sources", cache_policy=NO_CACHE, timeout_seconds=PARSE_TIMEOUT_S)
def parse_task(cfg: Config, fetches: list[SourceFetch]) -> list[SourceParse]:
    log = get_run_logger()
    parsed = parse_fetches(cfg, fetches)
    for p in parsed:
        if p.status == "error":
            log.error("%s: %s", p.source_id, p.error)
        elif p.status == "empty":
            log.warning("%s: fetched but parsed to zero posts", p.source_id)
    log.info("parsed %d items from %d sources", sum(len(p.items) for p in parsed), len(parsed))
    return parsed


@task(name="land-items", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_items_task(db_path: str, run_id: str, fetches: list[SourceFetch], parsed: list[SourceParse]) -> list[dict]:
    log = get_run_logger()
    with db.writer(db_path) as con:
        # New gaps are written before the items (which move the cursor past them) and filled gaps are
        # deleted only after, so a crash in between re-fetches a range rather than skipping it.
        opened = [(f.source_id, before, until) for f in fetches for before, until in f.gaps_opened]
        if opened:
            db.transaction(con, lambda: con.executemany("""
                merge into source_gaps
                using (select ? as source_id, ? as before_id, ? as until_id, ? as noted_at) as n
                using (source_id, before_id)
                when matched then update set until_id = n.until_id, noted_at = n.noted_at
                when not matched then insert by name
            """, [[source_id, before, until, db.utcnow()] for source_id, before, until in opened]),
                what="recording gaps")
        for source_id, before, until in opened:
            log.warning("%s: posts between ids %d and %d not reached this run; the next run fills the gap",
                        source_id, until, before)
        failpoint("before-land-items")
        stats = landing.land_items(con, run_id, [(p.kind, it) for p in parsed for it in p.items])
        failpoint("after-land-items")
        filled = [[f.source_id, before] for f in fetches for before in f.gaps_closed
                  if before not in {b for b, _ in f.gaps_opened}]
        if filled:
            db.transaction(con, lambda: con.executemany(
                "delete from source_gaps where source_id = ? and before_id = ?", filled), what="deleting filled gaps")
        landing.quarantine(con, run_id, "parse", [r for p in parsed for r in p.rejects])
        rows = []
        pages = {f.source_id: len(f.pages) for f in fetches}
        for p in parsed:
            s = stats.get(p.source_id, {})
            rows.append(dict(source_id=p.source_id, kind=p.kind, pages_fetched=pages.get(p.source_id, 0),
                             items_parsed=len(p.items), items_new=s.get("new", 0), items_updated=s.get("updated", 0),
                             rejects=len(p.rejects), status=p.status, error=p.error))
        landing.record_source_runs(con, run_id, rows)
    log.info("landed: %d new, %d updated items", sum(r["items_new"] for r in rows),
             sum(r["items_updated"] for r in rows))
    return rows


@task(name="compute-signals", cache_policy=NO_CACHE, timeout_seconds=SIGNALS_TIMEOUT_S)
def signals_task(cfg: Config, db_path: str, run_id: str, as_of: datetime | None) -> dict:
    """Annotate new items, group them into stories and recompute the marts of the open stories."""
    from signal_desk.signals.run import compute_signals
    log = get_run_logger()
    with db.writer(db_path) as con:
        failpoint("before-signals")
        # compute_signals commits in two transactions of its own and may run again after either lost.
        result = db.retrying_conflicts(lambda: compute_signals(con, cfg, run_id, as_of), what="computing signals")
        failpoint("after-signals")
    log.info("signals: %s", ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, (dict, list))))
    return result


@task(name="signal-alerts", cache_policy=NO_CACHE, timeout_seconds=ALERTS_TIMEOUT_S)
def alerts_task(cfg: Config, db_path: str, run_id: str, as_of: datetime | None, policy: FetchPolicy) -> dict:
    """Record the alerts this run's signal changes owe (before anything is sent), then hand over every
    alert due: this run's, those a quiet period released, those an outage held back."""
    from signal_desk.signal_alerts.changes import note_changes
    from signal_desk.signal_alerts.delivery import deliver
    log = get_run_logger()
    with db.writer(db_path) as con:
        noted = db.retrying_conflicts(lambda: note_changes(con, cfg, run_id, as_of), what="recording signal alerts")
    holder = f"flow run {current_flow_run_id() or 'outside Prefect'} (run {run_id})"
    delivery = deliver(db_path, cfg, policy, holder)
    lines = [n for n in noted if n["status"] != "pending"]      # what is due is told by its delivery below
    for o in delivery.outcomes:
        a = o.alert
        lines.append(dict(alert_id=a.alert_id, watchlist=a.watchlist_id, signal=a.signal_id, channel=a.channel,
                          recipient=a.recipient, status=o.status, subject=a.subject or "", note=o.error or ""))
    for line in lines:
        log.info("alert %s (%s to %s): %s %s", line["status"], line["channel"], line["recipient"], line["subject"],
                 f"({line['note']})" if line["note"] else "")
    counts = {status: sum(line["status"] == status for line in lines) for status in {line["status"] for line in lines}}
    log.info("alerts: %d recorded or released, %d handed over%s", len(noted), len(delivery.outcomes),
             "".join(f", {n} {status}" for status, n in sorted(counts.items())))
    problems = delivery.problems()
    for problem in problems:
        log.error("%s", problem)
    return dict(lines=lines, problems=problems)


@task(name="close-run", cache_policy=NO_CACHE, timeout_seconds=CLOSE_RUN_TIMEOUT_S)
def close_run(db_path: str, run_id: str, status: str, summary: dict) -> str | None:
    """Record the run's outcome and publish the snapshot. Returns why the snapshot could not be published
    (a full disk), after recording the run as failed for it, or None."""
    log = get_run_logger()
    with db.writer(db_path) as con:
        landing.finish_run(con, run_id, status, summary)
    rows = summary.get("sources") or []
    log.info("closed run %s as %s: %d sources (%d failed), %d new and %d edited items",
             run_id, status, len(rows), sum(r["status"] == "error" for r in rows),
             sum(r["items_new"] for r in rows), sum(r["items_updated"] for r in rows))
    try:
        published = db.publish_snapshot(db_path)
    except db.SnapshotError as error:
        log.error("%s", error)
        with db.writer(db_path) as con:
            landing.finish_run(con, run_id, "failed", {**summary, "status": "failed", "error": str(error)})
        return str(error)
    log.info("published the analysts' snapshot: %s", published)
    return None


def start_run_or_failed(db_path: str, flow_name: str, as_of: datetime | None,
                        source_ids: list[str]) -> tuple[str, dict[str, Cursor]] | State:
    """open_run's (run_id, cursors), or the Failed state the flow ends in when the database is held."""
    outcome = open_run(db_path, flow_name, as_of, source_ids)
    return Failed(message=outcome.message) if isinstance(outcome, DatabaseHeld) else outcome


def every_source_failed(rows: list[dict]) -> str | None:
    """One line naming each failed source when every source of the run failed, else None."""
    if not rows or any(r["status"] != "error" for r in rows):
        return None
    reasons = "; ".join(f"{r['source_id']}: {r.get('error') or 'no detail'}" for r in rows[:5])
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"every source failed ({len(rows)}): {reasons}{more}"


def source_table(rows: list[dict], summary: dict) -> list[dict]:
    """One row per source for the run's table artifact. Quarantined counts the rows parsing rejected and
    those validation set aside."""
    by_validation = (summary.get("validation") or {}).get("quarantined_by_source", {})
    return [{"source": r["source_id"], "kind": r["kind"], "status": r["status"], "pages": r["pages_fetched"],
             "new items": r["items_new"], "edits": r["items_updated"],
             "quarantined": r["rejects"] + by_validation.get(r["source_id"], 0), "error": r.get("error") or ""}
            for r in rows]


def summary_markdown(run_id: str, rows: list[dict], summary: dict) -> str:
    lines = [f"# Hourly run `{run_id}`", "",
             f"as of **{summary.get('as_of') or 'now'}**, {summary['seconds']:.1f} s, status **{summary['status']}**", "",
             "| source | kind | pages | parsed | new | updated | rejects | status |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        status = r["status"] + (f": {r['error']}" if r.get("error") else "")
        lines.append(f"| {r['source_id']} | {r['kind']} | {r['pages_fetched']} | {r['items_parsed']} | "
                     f"{r['items_new']} | {r['items_updated']} | {r['rejects']} | {status.replace('|', '/')} |")
    if m := summary.get("markets"):
        lines += ["", f"**markets**: {m['markets']} markets, {m['new_odds']} new odds points, "
                      f"{m['rejected']} rejected elements, {m['new_candidates']} new candidates"
                      + (f"; errors: {'; '.join(m['errors'].values())}" if m.get("errors") else "")]
    if v := summary.get("validation"):
        rows = ", ".join(f"{t} {n}" for t, n in v["rows"].items())
        lines += ["", f"**validation**: rows checked: {rows}; quarantined: {v['quarantined']}; "
                      f"critical: {len(v['critical'])}"]
        lines += [f"- drift: {a}" for a in v.get("drift_alerts", [])]
    if sig := summary.get("signals"):
        lines += ["", "**signals**: " + ", ".join(f"{k} {val}" for k, val in sig.items() if not isinstance(val, (dict, list)))]
    if alerts := summary.get("alerts"):
        lines += ["", f"**alerts**: {len(alerts['lines'])}"]
        lines += [f"- {a['status']}: {a['channel']} to {a['recipient']}: {a['subject'] or a['signal']}"
                  + (f" ({a['note']})" if a["note"] else "") for a in alerts["lines"]]
    return "\n".join(lines)


@flow(name="hourly", flow_run_name=hourly_run_name, log_prints=True, timeout_seconds=HOURLY_TIMEOUT_S)
def hourly(config_dir: str = DEFAULT_CONFIG, db_path: str = str(db.DEFAULT_DB), as_of: datetime | None = None,
           page_cap: int = 10, politeness: str = "internet", source_ids: list[str] | None = None,
           with_markets: bool = True, with_signals: bool = True) -> dict:
    """Ingest every enabled source once, land it, validate it and compute the signal tables.

    Args:
        config_dir: folder with sources.yaml and watchlists.yaml.
        db_path: the database written: a DuckDB file (a read-only snapshot is published beside it after
            the run) or a DuckLake, `ducklake:postgres:<connection string>` (see docs/runbook.md).
        as_of: the clock the run reports against (default now; the demo sets the mirror's clock).
        page_cap: Telegram pages fetched per channel per run; what is not reached is kept as a gap for later runs.
        politeness: fetch policy: internet (public sites), mirror (the local mirror) or test.
        source_ids: only these sources (default: every enabled source).
        with_markets: also fetch the watch lists' markets and propose candidates.
        with_signals: also compute the signal tables. Workers that ingest parts of the sources into one
            DuckLake at once leave this off and let the `signals` flow, one at a time, do it after them.
    """
    log = get_run_logger()
    started = time.perf_counter()
    cfg = load_config(config_dir)
    ids = source_ids or [s.id for s in cfg.sources]
    opened = start_run_or_failed(db_path, "hourly", as_of, ids)
    if isinstance(opened, State):
        return opened
    run_id, cursors = opened
    status = "completed"
    rows: list[dict] = []
    summary: dict = {"as_of": as_of.isoformat() if as_of else None}
    try:
        policy = fetch_policy(politeness)
        fetches = fetch_task(cfg, ids, cursors, policy, page_cap)
        market_fetches = fetch_markets_task(cfg, db_path, as_of, policy) if with_markets else []
        # quote(): the fetched pages and parsed items are large, and Prefect would otherwise walk every
        # element of a task's inputs looking for futures (seconds per run at a thousand channels).
        land_raw_task(db_path, run_id, quote(fetches), quote(market_fetches))
        parsed = parse_task(cfg, quote(fetches))
        rows = land_items_task(db_path, run_id, quote(fetches), quote(parsed))
        if with_markets:
            market_parse = parse_markets_task(cfg, quote(market_fetches), as_of)
            summary["markets"] = land_markets_task(db_path, run_id, quote(market_parse))
        summary["validation"] = validate_task(cfg, db_path, run_id, as_of)
        if with_signals:
            summary["signals"] = signals_task(cfg, db_path, run_id, as_of)
            summary["alerts"] = alerts_task(cfg, db_path, run_id, as_of, policy)
        if failure := every_source_failed(rows):
            status, summary["error"] = "failed", failure
        if problems := (summary.get("alerts") or {}).get("problems"):
            # recorded in `alerts` first; failing the run is what makes a person look (docs/alerts.md)
            failure = "alerts not delivered: " + "; ".join(problems)
            status, summary["error"] = "failed", "; ".join(filter(None, [summary.get("error"), failure]))
    except Exception as error:
        status, summary["error"] = "failed", f"{type(error).__name__}: {error}"
        raise
    finally:
        summary.update(status=status, seconds=time.perf_counter() - started, sources=rows)
        try:
            if snapshot_error := close_run(db_path, run_id, status, summary):
                status, summary["status"], summary["error"] = "failed", "failed", snapshot_error
        finally:
            create_markdown_artifact(summary_markdown(run_id, rows, summary), key="hourly-run-summary",
                                     description=f"hourly run {run_id}")
            create_table_artifact(source_table(rows, summary), key="hourly-sources",
                                  description=f"hourly run {run_id}: pages, new items, edits, quarantined rows "
                                              "and errors per source")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        log.warning("%d sources failed this run: %s", len(errors), ", ".join(r["source_id"] for r in errors))
    summary["run_id"] = run_id
    if status == "failed":
        # Recorded above; a Failed state (not an exception) so the log shows the reason, not a traceback.
        return Failed(message=f"hourly run {run_id}: {summary['error']}", data=RunFailed(summary["error"]))
    return summary


@task(name="validate", cache_policy=NO_CACHE, timeout_seconds=VALIDATE_TIMEOUT_S)
def validate_task(cfg: Config, db_path: str, run_id: str, as_of: datetime | None) -> dict:
    """Great Expectations over this run's rows; failing rows are quarantined, drift is detected.
    A critical failure is recorded first, then fails the run."""
    from signal_desk.validate.drift import detect_drift
    from signal_desk.validate.run import gx_validator, summary_markdown, validate_run
    log = get_run_logger()
    gx_validator()   # import GX and build the context before taking the write lock
    sources = [s.model_dump() for s in cfg.sources_file.sources]
    with db.writer(db_path) as con:
        # Each commits its own transaction and replaces what an earlier attempt for this run recorded.
        summary = db.retrying_conflicts(lambda: validate_run(con, run_id, now=as_of or db.utcnow(), sources=sources),
                                        what="recording validation")
        alerts = db.retrying_conflicts(lambda: detect_drift(con, run_id, now=as_of), what="recording drift")
        by_source = landing.quarantined_by_source(con, run_id, "validate")
    log.info("validated %s; %d rows quarantined, %d critical failures, %d warnings, %d drift alerts",
             ", ".join(f"{n} {t}" for t, n in summary.as_dict()["rows"].items()) or "no rows",
             summary.quarantined, len(summary.critical), len(summary.warnings), len(alerts))
    for alert in alerts:
        log.warning("drift: %s", alert)
    for line in summary.warnings:
        log.warning("validation: %s", line)
    create_markdown_artifact(summary_markdown(summary), key="hourly-validation",
                             description=f"validation of run {run_id}")
    result = summary.as_dict()
    result["drift_alerts"] = [str(a) for a in alerts]
    result["quarantined_by_source"] = by_source
    if summary.critical:
        for line in summary.critical:
            log.error("validation (critical): %s", line)
        summary.raise_for_critical()
    return result


if __name__ == "__main__":
    hourly()
