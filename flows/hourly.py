"""The hourly pipeline: fetch -> land raw -> parse -> land items -> (markets) -> validate -> signals.

Each stage is a task of `tasks/`; the write connection to DuckDB is opened only inside the
landing/compute tasks and closed after, and a read-only snapshot is published for analysts at the end.
"""
from __future__ import annotations

import time
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from flows.policies import policy as fetch_policy
from flows.run_names import hourly_run_name
from signal_desk import db
from signal_desk.config import load_config
from tasks.alerts import alerts_task
from tasks.artifacts import hourly_markdown, source_table
from tasks.fetch import fetch_markets_task, fetch_task
from tasks.land import land_items_task, land_markets_task, land_raw_task
from tasks.parse import parse_markets_task, parse_task
from tasks.runs import RunFailed, close_run, every_source_failed, start_run_or_failed
from tasks.signals import signals_task
from tasks.validate import validate_task

DEFAULT_CONFIG = "config"
# Below the hour: the deployment cancels a new run while one is still going (CANCEL_NEW), so a hung run
# would stop ingestion until someone noticed; with this bound the next hour's run starts regardless.
HOURLY_TIMEOUT_S = 50 * 60


@flow(name="hourly", flow_run_name=hourly_run_name, log_prints=True, timeout_seconds=HOURLY_TIMEOUT_S)
def hourly(config_dir: str = DEFAULT_CONFIG, db_path: str = str(db.DEFAULT_DB), as_of: datetime | None = None,
           page_cap: int = 10, politeness: str = "internet", source_ids: list[str] | None = None,
           with_markets: bool = True, with_signals: bool = True, part: int | None = None) -> dict:
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
        part: only the sources of this ingest part (1 .. `partitions` in sources.yaml); the deployments
            `./run deployments` writes set it, one per part.
    """
    log = get_run_logger()
    started = time.perf_counter()
    cfg = load_config(config_dir)
    ids = source_ids or [s.id for s in (cfg.sources_of_part(part) if part else cfg.sources)]
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
            create_markdown_artifact(hourly_markdown(run_id, rows, summary), key="hourly-run-summary",
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


if __name__ == "__main__":
    hourly()
