"""Backfill a past date range: land the posts published in [start, end] that the hourly runs missed
(a new source, an outage, a channel added late). Landing is the hourly run's, so a backfill over
posts already landed adds nothing twice and an edited post keeps its history.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from flows.policies import policy as fetch_policy
from flows.run_names import backfill_run_name
from signal_desk import db
from signal_desk.backfill import Coverage, check_range, coverage_note, keep_range, resolve_sources
from signal_desk.config import load_config
from tasks.artifacts import backfill_markdown, source_table
from tasks.fetch import fetch_range_task
from tasks.land import import_market_files, land_items_task, land_raw_task
from tasks.parse import parse_task
from tasks.runs import RunFailed, close_run, every_source_failed, expected_failures, start_run_or_failed
from tasks.validate import validate_task

# Started by hand, and pages back up to `page_cap` pages per channel (50 by default, five times an
# hourly run's), so its bound is hours rather than the hourly run's minutes.
BACKFILL_TIMEOUT_S = 6 * 60 * 60


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
        summary["validation"] = validate_task(cfg, db_path, run_id, None, drift=False)
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
            create_markdown_artifact(backfill_markdown(run_id, start, end, rows, coverage, notes),
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
    try:
        s = backfill(a.start, a.end, a.sources, a.config, a.db, a.page_cap, a.politeness)
    except expected_failures() as error:
        print(f"backfill failed: {error}", file=sys.stderr)
        return 1
    print(f"backfill {s['run_id']}: {s['status']} in {s['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
