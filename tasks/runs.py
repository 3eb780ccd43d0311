"""Opening and closing a run: its row in `runs`, the cursors it starts from, the snapshot it publishes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State

from signal_desk import db, landing
from signal_desk.ingest import Cursor, load_cursors

MINUTE = 60
# Waiting for the write lock (DESK_DB_LOCK_WAIT_S, 120 s by default) plus the migrations.
OPEN_RUN_TIMEOUT_S = 10 * MINUTE
CLOSE_RUN_TIMEOUT_S = 15 * MINUTE    # includes copying the whole database for the snapshot


def current_flow_run_id() -> str | None:
    """The Prefect flow run this code runs in (from a flow or one of its tasks); None outside Prefect."""
    return flow_run.get_id()


@dataclass(frozen=True)
class RunStopped:
    """Why a run stopped without doing its work, in the one line that says so: another process held the
    database (open_run's answer), or a signals run's snapshot could not be published."""
    message: str


class RunFailed(RuntimeError):
    """The run was recorded as failed although nothing raised: every source failed, or the snapshot
    could not be published. The flow ends Failed with it, so that the alerts fire."""


@task(name="open-run", cache_policy=NO_CACHE, timeout_seconds=OPEN_RUN_TIMEOUT_S)
def open_run(db_path: str, flow_name: str, as_of: datetime | None,
             source_ids: list[str]) -> tuple[str, dict[str, Cursor]] | RunStopped:
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
        return RunStopped(str(error))
    if imported:
        log.warning("recorded %d earlier run(s) that could not get the database as failed", imported)
    if abandoned:
        log.warning("marked %d run(s) still 'running' long after they started as abandoned", abandoned)
    log.info("opened run %s (Prefect flow run %s) for %d sources, %d with a cursor from earlier runs",
             run_id, prefect_run, len(source_ids), len(cursors))
    return run_id, cursors


def expected_failures() -> tuple[type[BaseException], ...]:
    """Failures that are a run's outcome rather than a bug: each is one line, no traceback. A flow that
    ends Failed after recording why (the database held by another process, every source failed, the
    snapshot not published), a database setting that cannot be opened, or a configuration problem."""
    from prefect.exceptions import FailedRun

    from signal_desk.config import ConfigError
    return FailedRun, RunFailed, db.StorageError, ConfigError


def start_run_or_failed(db_path: str, flow_name: str, as_of: datetime | None,
                        source_ids: list[str]) -> tuple[str, dict[str, Cursor]] | State:
    """open_run's (run_id, cursors), or the Failed state the flow ends in when the database is held."""
    outcome = open_run(db_path, flow_name, as_of, source_ids)
    return Failed(message=outcome.message) if isinstance(outcome, RunStopped) else outcome


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


def every_source_failed(rows: list[dict]) -> str | None:
    """One line naming each failed source when every source of the run failed, else None."""
    if not rows or any(r["status"] != "error" for r in rows):
        return None
    reasons = "; ".join(f"{r['source_id']}: {r.get('error') or 'no detail'}" for r in rows[:5])
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"every source failed ({len(rows)}): {reasons}{more}"
