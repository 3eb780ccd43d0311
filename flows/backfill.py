"""Backfill a past date range: land the posts published in [start, end] that the hourly runs missed
(a new source, an outage, a channel added late). Landing is the hourly run's, so a backfill over
posts already landed adds nothing twice and an edited post keeps its history.
"""
from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from flows.hourly import (FETCH_TIMEOUT_S, MINUTE, VALIDATE_TIMEOUT_S, RunFailed, close_run, every_source_failed,
                          land_items_task, land_raw_task, parse_task, source_table, start_run_or_failed)
from flows.policies import policy as fetch_policy
from flows.run_names import backfill_run_name
from signal_desk import db, landing
from signal_desk.backfill import (Coverage, check_range, coverage_note, fetch_range, keep_range, progress_line,
                            resolve_sources)
from signal_desk.config import Config, load_config
from signal_desk.http import FetchPolicy
from signal_desk.progress import Steps
from signal_desk.sources.fetching import SourceFetch


# A backfill pages back up to `page_cap` pages per channel (50 by default, five times an hourly run's),
# and is started by hand, so its bound is hours rather than the hourly run's minutes.
BACKFILL_TIMEOUT_S = 6 * 60 * MINUTE
FETCH_RANGE_TIMEOUT_S = 5 * 60 * MINUTE


@task(name="fetch-range", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE,
      timeout_seconds=FETCH_RANGE_TIMEOUT_S)
def fetch_range_task(cfg: Config, source_ids: list[str], start: datetime, end: datetime, policy: FetchPolicy,
                     page_cap: int) -> tuple[list[SourceFetch], list[Coverage]]:
    log = get_run_logger()
    # Paging channels back is the long part: one progress step per source, saying how far back it got.
    with Steps(len(source_ids), "backfill source") as steps:
        fetches, coverage = asyncio.run(fetch_range(
            cfg, [cfg.source(s) for s in source_ids], start=start, page_cap=page_cap, policy=policy,
            on_source_done=lambda cov: steps.done(progress_line(cov, start, end))))
    log.info("fetched %d pages from %d sources", sum(len(f.pages) for f in fetches), len(fetches))
    for f in fetches:
        if f.error:
            log.error("%s: %s", f.source_id, f.error)
    return fetches, coverage


@task(name="validate", cache_policy=NO_CACHE, timeout_seconds=VALIDATE_TIMEOUT_S)
def validate_task(cfg: Config, db_path: str, run_id: str) -> dict:
    """The hourly run's expectations over the backfilled rows; failing rows are quarantined. No drift
    check: a backfill's volume says nothing about a source's health."""
    from signal_desk.validate.run import gx_validator, validate_run
    log = get_run_logger()
    gx_validator()   # import GX and build the context before taking the write lock
    sources = [s.model_dump() for s in cfg.sources_file.sources]
    with db.writer(db_path) as con:
        summary = db.retrying_conflicts(lambda: validate_run(con, run_id, now=db.utcnow(), sources=sources),
                                        what="recording validation")
        by_source = landing.quarantined_by_source(con, run_id, "validate")
    log.info("validated %s; %d rows quarantined, %d critical failures, %d warnings",
             ", ".join(f"{n} {t}" for t, n in summary.as_dict()["rows"].items()) or "no rows",
             summary.quarantined, len(summary.critical), len(summary.warnings))
    for line in summary.warnings:
        log.warning("validation: %s", line)
    if summary.critical:
        for line in summary.critical:
            log.error("validation (critical): %s", line)
        summary.raise_for_critical()
    return {**summary.as_dict(), "quarantined_by_source": by_source}


def summary_markdown(run_id: str, start: datetime, end: datetime, rows: list[dict], coverage: list[Coverage],
                     notes: list[str]) -> str:
    by_id = {c.source_id: c for c in coverage}
    lines = [f"# Backfill `{run_id}`", "",
             f"range **{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC**", "",
             "| source | kind | pages | oldest post seen | reached start | new | updated | status |",
             "|---|---|---:|---|---|---:|---:|---|"]
    for r in rows:
        c = by_id.get(r["source_id"])
        oldest = f"{c.oldest_seen:%Y-%m-%d %H:%M}" if c and c.oldest_seen else "–"
        reached = "yes" if c and c.reached_start else "**no**"
        status = r["status"] + (f": {r['error']}" if r.get("error") else "")
        lines.append(f"| {r['source_id']} | {r['kind']} | {r['pages_fetched']} | {oldest} | {reached} | "
                     f"{r['items_new']} | {r['items_updated']} | {status.replace('|', '/')} |")
    if notes:
        lines += ["", "**Not complete:**", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


@flow(name="backfill", flow_run_name=backfill_run_name, log_prints=True, timeout_seconds=BACKFILL_TIMEOUT_S)
def backfill(start: datetime, end: datetime, source_ids: list[str] | None = None, config_dir: str = "config",
             db_path: str = str(db.DEFAULT_DB), page_cap: int = 50, politeness: str = "internet") -> dict:
    """Land the posts published between `start` and `end` that the sources still show.

    Args:
        start: first instant of the range (naive times are UTC).
        end: last instant of the range (naive times are UTC).
        source_ids: only these sources (enabled or not); default every enabled source.
        config_dir: folder with sources.yaml and watchlists.yaml.
        db_path: the DuckDB file written; the analysts' snapshot is published beside it.
        page_cap: Telegram pages per channel (about 20 posts a page); a channel not paged back to
            `start` within it is reported, and a rerun with a larger cap completes it.
        politeness: fetch policy (internet | mirror | test).
    """
    log = get_run_logger()
    started = time.perf_counter()
    start, end = check_range(start, end)
    if page_cap < 1:
        raise ValueError(f"page_cap must be at least 1, got {page_cap}")
    policy = fetch_policy(politeness)
    cfg = load_config(config_dir)
    ids = [s.id for s in resolve_sources(cfg, source_ids)]
    opened = start_run_or_failed(db_path, "backfill", None, ids)
    if isinstance(opened, State):
        return opened
    run_id, _ = opened
    status = "completed"
    rows: list[dict] = []
    coverage: list[Coverage] = []
    notes: list[str] = []
    summary: dict = {"as_of": None, "start": start.isoformat(), "end": end.isoformat()}
    try:
        fetches, coverage = fetch_range_task(cfg, ids, start, end, policy, page_cap)
        land_raw_task(db_path, run_id, quote(fetches), [])
        parsed = keep_range(parse_task(cfg, quote(fetches)), coverage, start, end)
        rows = land_items_task(db_path, run_id, quote(fetches), quote(parsed))
        notes = [n for c in coverage if (n := coverage_note(c, start))]
        for note in notes:
            log.warning(note)
        summary["validation"] = validate_task(cfg, db_path, run_id)
        if failure := every_source_failed(rows):
            status, summary["error"] = "failed", failure
    except Exception as error:
        status, summary["error"] = "failed", f"{type(error).__name__}: {error}"
        raise
    finally:
        summary.update(status=status, seconds=time.perf_counter() - started, sources=rows,
                       coverage=[c.as_dict() for c in coverage], incomplete=notes)
        try:
            if snapshot_error := close_run(db_path, run_id, status, summary):
                status, summary["status"], summary["error"] = "failed", "failed", snapshot_error
        finally:
            create_markdown_artifact(summary_markdown(run_id, start, end, rows, coverage, notes),
                                     key="backfill-summary", description=f"backfill {run_id}")
            create_table_artifact(source_table(rows, summary), key="backfill-sources",
                                  description=f"backfill {run_id}: pages, new items, edits, quarantined rows "
                                              "and errors per source")
    log.info("backfill %s: %d new, %d updated items in %s – %s", run_id, sum(r["items_new"] for r in rows),
             sum(r["items_updated"] for r in rows), start.isoformat(), end.isoformat())
    summary["run_id"] = run_id
    if status == "failed":
        return Failed(message=f"backfill {run_id}: {summary['error']}", data=RunFailed(summary["error"]))
    return summary


def import_market_files(db_path: str, specs: list[str]) -> dict:
    """Land stored market files (`venue:path`) as a run of their own, and publish the snapshot."""
    from signal_desk.backfill import import_market_files as land_files
    with db.writer(db_path) as con:
        run_id = landing.start_run(con, "backfill-market-files", None)
        try:
            summary = land_files(con, specs, run_id)
        except Exception as error:
            landing.finish_run(con, run_id, "failed", {"error": f"{type(error).__name__}: {error}"})
            raise
        landing.finish_run(con, run_id, "completed", summary)
    db.publish_snapshot(db_path)
    return {**summary, "run_id": run_id}


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="./run backfill", description="Backfill a past date range, or import "
                                 "stored market files.")
    ap.add_argument("--start", type=datetime.fromisoformat, help="required unless only --market-file is given")
    ap.add_argument("--end", type=datetime.fromisoformat, help="required unless only --market-file is given")
    ap.add_argument("--market-file", action="append", dest="market_files", default=[], metavar="VENUE:PATH",
                    help="import a stored market file (kalshi, polymarket or manifold; a Kalshi market with or "
                         "without its {\"market\": ...} envelope); repeatable")
    ap.add_argument("--source", action="append", dest="sources", help="only this source id (repeatable)")
    ap.add_argument("--config", default="config")
    ap.add_argument("--db", default=str(db.DEFAULT_DB))
    ap.add_argument("--page-cap", type=int, default=50)
    ap.add_argument("--politeness", default="internet", choices=["internet", "mirror", "test"])
    a = ap.parse_args(argv)
    if (a.start is None or a.end is None) and not (a.market_files and a.start is None and a.end is None):
        ap.error("--start and --end are required (both), unless only --market-file is given")
    if a.market_files:
        try:
            m = import_market_files(a.db, a.market_files)
        except ValueError as error:
            print(f"backfill failed: {error}", file=sys.stderr)
            return 1
        print(f"market files {m['run_id']}: {m['files']} file(s), {m['markets']} markets, {m['new_odds']} new "
              f"odds points, {m['rejected']} rejected elements quarantined")
        if a.start is None:
            return 0
    from flows.cli import expected_failures
    try:
        s = backfill(a.start, a.end, a.sources, a.config, a.db, a.page_cap, a.politeness)
    except expected_failures() as error:
        print(f"backfill failed: {error}", file=sys.stderr)
        return 1
    print(f"backfill {s['run_id']}: {s['status']} in {s['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
