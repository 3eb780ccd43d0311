"""Signals: annotate new items, group them into stories, recompute the marts of the open stories."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db, landing
from signal_desk.config import Config
from signal_desk.failpoints import failpoint
from tasks.runs import RunStopped, current_flow_run_id

SIGNALS_TIMEOUT_S = 30 * 60      # embeddings on CPU for every new item


@task(name="compute-signals", cache_policy=NO_CACHE, timeout_seconds=SIGNALS_TIMEOUT_S)
def signals_task(cfg: Config, db_path: str, run_id: str, as_of: datetime | None) -> dict:
    from signal_desk.signals.run import compute_signals
    log = get_run_logger()
    with db.writer(db_path) as con:
        failpoint("before-signals")
        # compute_signals commits in two transactions of its own and may run again after either lost.
        result = db.retrying_conflicts(lambda: compute_signals(con, cfg, run_id, as_of), what="computing signals")
        failpoint("after-signals")
    log.info("signals: %s", ", ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, (dict, list))))
    return result


def _unreachable(db_path: str, flow_name: str, as_of: datetime | None, error: db.DatabaseLocked) -> RunStopped:
    """The database is held by another process: note the attempt beside it, fail in one line."""
    landing.record_unreachable_run(db_path, flow_name, as_of, str(error), prefect_flow_run_id=current_flow_run_id())
    return RunStopped(str(error))


def _publish(db_path: str, run_id: str, summary: dict) -> str | None:
    """Publish the snapshot; if it cannot be, record the run as failed and return why."""
    try:
        db.publish_snapshot(db_path)
    except db.SnapshotError as error:
        with db.writer(db_path) as con:
            landing.finish_run(con, run_id, "failed", {**summary, "error": str(error)})
        return str(error)
    return None


def latest_run_clock(con) -> datetime:
    """The clock of the latest run recorded, so a replayed history keeps its own clock."""
    row = con.execute("select max(as_of) from runs where as_of is not null").fetchone()
    return row[0] if row and row[0] else db.utcnow()


def recorded_run(db_path: str, flow_name: str, as_of: datetime | None, what: str,
                 work: Callable[[Any, str, datetime | None], dict],
                 default_clock: Callable[[Any], datetime] | None = None) -> tuple[str, datetime | None, dict] | RunStopped:
    """`work(con, run_id, as_of)` as one recorded run (called by the signals flows, not a task): started and
    finished in `runs` (failed, with the error, when it raises), retried whole on a lake's commit
    conflict, then the snapshot published.
    Returns (run id, clock, summary), or why it stopped when the database is held or the snapshot
    cannot be published (both recorded first), for the flow to end Failed with."""
    log = get_run_logger()
    try:
        with db.writer(db_path) as con:
            landing.import_unrecorded_runs(con, db_path)
            if as_of is None and default_clock is not None:
                as_of = default_clock(con)
            run_id = landing.start_run(con, flow_name, as_of, prefect_flow_run_id=current_flow_run_id())
            log.info("opened run %s (Prefect flow run %s), as of %s", run_id, current_flow_run_id(), as_of or "now")
            try:
                summary = db.retrying_conflicts(lambda: work(con, run_id, as_of), what=what)
            except Exception as e:
                landing.finish_run(con, run_id, "failed", {"error": f"{type(e).__name__}: {e}"})
                raise
            landing.finish_run(con, run_id, "completed", {"signals": summary})
    except db.DatabaseLocked as error:
        return _unreachable(db_path, flow_name, as_of, error)
    if failure := _publish(db_path, run_id, {"signals": summary}):
        return RunStopped(f"{flow_name} run {run_id}: {failure}")
    log.info("closed run %s: %d items annotated, %d grouped, %d new stories, %d stories recomputed; "
             "snapshot published", run_id, summary.get("items_annotated", 0), summary.get("items_grouped", 0),
             summary.get("stories_new", 0), summary.get("stories_in_scope", 0))
    return run_id, as_of, summary
