"""The watch-list report: build it once per window, keep it, send it exactly once.

    report("us-iran-talks", config_dir="config", db_path="var/desk.duckdb")

A run builds the report for the window ending at `as_of` (by default the watch list's latest scheduled
time, from its `report.cron` in its `report.timezone`, so a rerun or retry of the same slot is the same
report), unless the ledger already has it; archives it (HTML + .eml); then sends every pending report
of the watch list, so one held back by an SMTP outage goes out on the next run, which says so.
"""
from __future__ import annotations

import random
import time
from datetime import datetime

import duckdb
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

from flows.run_names import report_run_name
from signal_desk import db
from signal_desk.report import ledger
from signal_desk.report.mail import first_line, smtp_settings
from signal_desk.report.schedule import load_watchlist, scheduled_window_end
from signal_desk.report.send import ReportNotDelivered, delivery_problems, merge_attempts, retry_delays
from tasks.report import (archive_task, artifact_key, artifact_markdown, build_task, holder as report_holder,
                          publish_task, send_task)
from tasks.runs import RunFailed


@flow(name="report", flow_run_name=report_run_name,
      # Bound on the whole run, retries and their waits included: a daily report two hours late is stale
      # and the alert should fire. The tasks' own bounds catch a hung step sooner.
      timeout_seconds=2 * 60 * 60)
def report(watchlist_id: str, config_dir: str = "config", db_path: str = str(db.DEFAULT_DB),
           as_of: datetime | None = None, archive_dir: str = "var/reports") -> dict:
    """Build (once), archive and send the watch list's report; send any report an outage held back.
    Fails (after recording everything) when a report could not go out to every recipient."""
    log = get_run_logger()
    wl = load_watchlist(config_dir, watchlist_id)
    settings = smtp_settings()
    window_end = (db.as_utc(as_of) if as_of is not None else scheduled_window_end(wl, db.utcnow()))
    window_end = window_end.replace(second=0, microsecond=0)
    built = build_task(wl, db_path, window_end, settings.mail_from)
    archived = archive_task(db_path, built["report_id"], wl.id, archive_dir)
    holder, delays, delivery = report_holder(), retry_delays(), None
    for attempt in range(len(delays) + 1):
        delivery = merge_attempts(delivery, send_task(db_path, wl.id, built["report_id"], holder))
        if not delivery["retry"] or attempt == len(delays):
            break
        wait = delays[attempt] * random.uniform(0.5, 1.0)
        log.warning("report(s) %s not delivered to everyone; retry %d of %d in %.0f s",
                    ", ".join(delivery["pending"]), attempt + 1, len(delays), wait)
        time.sleep(wait)
    text_body = None
    try:
        with db.writer(db_path) as con:
            entry = ledger.get(con, built["report_id"])
        status, text_body = entry.status, entry.text_body
    except (duckdb.Error, db.StorageError) as e:   # still locked: the run reports what it knows and fails below
        status = f"unknown (the ledger could not be read: {first_line(e)})"
    delivery.pop("retry")
    # After the outcome is in the ledger: analysts read the snapshot, which would otherwise show the
    # report as pending until the next hourly run.
    snapshot_error = publish_task(db_path)
    result = dict(watchlist_id=wl.id, report_id=built["report_id"], built=built["built"], status=status,
                  subject=built["subject"], summary=built["summary"], archive=archived,
                  snapshot_error=snapshot_error, **delivery)
    create_markdown_artifact(key=artifact_key(wl.id), markdown=artifact_markdown(result, text_body),
                             description=f"Watch-list report {built['report_id']}")
    problems = delivery_problems(result)
    if problems:
        raise ReportNotDelivered(f"watch list {wl.id}: " + "; ".join(problems)
                                 + (f"; and {snapshot_error}" if snapshot_error else ""))
    if snapshot_error:
        # As the hourly run: a Failed state with the reason, not a traceback, so the alert fires.
        return Failed(message=f"report {built['report_id']}: {snapshot_error}", data=RunFailed(snapshot_error))
    return result


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Build and send one watch list's report.")
    ap.add_argument("watchlist_id")
    ap.add_argument("--config", default="config")
    ap.add_argument("--db", default=str(db.DEFAULT_DB))
    ap.add_argument("--as-of", type=lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")))
    ap.add_argument("--archive", default="var/reports")
    a = ap.parse_args()
    print(report(a.watchlist_id, config_dir=a.config, db_path=a.db, as_of=a.as_of, archive_dir=a.archive))
