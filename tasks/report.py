"""The report's stages: build it once per window, archive it, send what is pending, publish the snapshot."""
from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db
from signal_desk.config import Watchlist
from signal_desk.report import ledger
from signal_desk.report.build import build_report, report_id_for
from signal_desk.report.mail import message_id_for, save_message
from signal_desk.report.message import render_email
from signal_desk.report.send import send_pending


# Bound: the report's queries over the marts and its charts take seconds on the demo and minutes on a
# year of data; the two ledger connections may each wait up to 120 s for another writer's lock.
@task(name="build-report", cache_policy=NO_CACHE, timeout_seconds=20 * 60)
def build_task(wl: Watchlist, db_path: str, window_end: datetime, mail_from: str) -> dict:
    log = get_run_logger()
    report_id = report_id_for(wl.id, window_end)
    with db.writer(db_path) as con:
        existing = ledger.get(con, report_id)
        if existing is None:
            since = ledger.previous_window_end(con, wl.id, window_end)
            report = build_report(con, wl, window_end, since)
    if existing is not None:
        log.info("report %s is already in the ledger (built %s, %s): not building it again",
                 report_id, existing.built_at.isoformat(), existing.status)
        return dict(report_id=report_id, built=False, status=existing.status, subject=existing.subject,
                    summary=existing.summary)
    html, text, eml = render_email(report, mail_from)
    with db.writer(db_path) as con:
        inserted = ledger.record(
            con, report_id=report.report_id, watchlist_id=wl.id, window_start=report.window_start,
            window_end=report.window_end, since=report.since, built_at=report.built_at, subject=report.subject,
            mail_from=mail_from, recipients=list(report.recipients), html=html, text_body=text, eml=eml,
            message_id=message_id_for(report.report_id, mail_from), summary=report.summary())
    log.info("built report %s: %s", report_id, report.subject)
    return dict(report_id=report_id, built=inserted, status="pending", subject=report.subject,
                summary=report.summary())


# Bound: one ledger read (which may wait 120 s for a writer's lock) and a few files written.
@task(name="archive-report", cache_policy=NO_CACHE, timeout_seconds=5 * 60)
def archive_task(db_path: str, report_id: str, watchlist_id: str, archive_dir: str) -> dict:
    """Write <archive_dir>/<watchlist>/<report_id>.eml and .html (with its charts) unless already there."""
    folder = Path(archive_dir) / watchlist_id
    html_path, eml_path = folder / f"{report_id}.html", folder / f"{report_id}.eml"
    if not (html_path.exists() and eml_path.exists()):
        with db.writer(db_path) as con:
            entry = ledger.get(con, report_id)
        save_message(entry.eml, folder, report_id)
        get_run_logger().info("archived report %s: %s and %s", report_id, html_path, eml_path)
    else:
        get_run_logger().info("report %s was archived before: %s", report_id, html_path)
    return dict(html=str(html_path), eml=str(eml_path))


# One attempt at every pending report. Bound: per report, a few SMTP commands at DESK_SMTP_TIMEOUT each
# plus two ledger writes at the lock wait each (about 6 min at the defaults); 30 min covers a backlog
# of several reports after an outage. A retry is a new task run.
@task(name="send-pending-reports", cache_policy=NO_CACHE, timeout_seconds=30 * 60)
def send_task(db_path: str, watchlist_id: str, current_report_id: str, holder: str) -> dict:
    return send_pending(db_path, watchlist_id, current_report_id, holder, get_run_logger())


# Bound: copying the whole database under its write lock, as the hourly run's close-run step does.
@task(name="publish-snapshot", cache_policy=NO_CACHE, timeout_seconds=15 * 60)
def publish_task(db_path: str) -> str | None:
    """Publish the analysts' snapshot, so it shows what this run recorded (a report sent, or still pending
    and why). Returns why it could not be published (a full disk, the database held past the lock wait),
    or None: the run then fails after saying what it delivered."""
    log = get_run_logger()
    try:
        published = db.publish_snapshot(db_path)
    except db.StorageError as error:
        log.error("%s", error)
        return str(error)
    log.info("published the analysts' snapshot: %s", published)
    return None


def holder() -> str:
    """Who holds a claim: this flow run (a retry of the send inside it takes its own claims back)."""
    from prefect.runtime import flow_run
    run_id = flow_run.id
    return f"flow run {flow_run.name!r} ({run_id})" if run_id else f"process {os.getpid()}"


def artifact_key(watchlist_id: str) -> str:
    return "report-" + "".join(c if c.isalnum() else "-" for c in watchlist_id.lower())


def artifact_markdown(r: dict, text_body: str | None = None) -> str:
    """The delivery outcome, then the report itself (its plain-text part as sent), so that it reads in
    Prefect's UI on any machine; the archived files are named as paths on the worker."""
    s = r["summary"] or {}
    lines = [f"# {r['subject']}", "",
             f"report `{r['report_id']}`: **{r['status']}**" + (" (built this run)" if r["built"] else ""), "",
             "| what changed | count |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in s.items()]
    lines += ["", f"- archived on the worker as `{r['archive']['html']}` and `{r['archive']['eml']}`"]
    if r.get("snapshot_error"):
        lines.append(f"- **the analysts' snapshot was not published**: {r['snapshot_error']}")
    if r["sent"]:
        lines.append(f"- sent this run: {', '.join(r['sent'])}")
    if r["delayed"]:
        lines.append(f"- delayed by an earlier outage, sent now: {', '.join(r['delayed'])}")
    if r["possible_duplicates"]:
        lines.append(f"- **possible duplicates** (an earlier hand-over's outcome is unknown): "
                     f"{', '.join(r['possible_duplicates'])}")
    if r["pending"]:
        lines.append(f"- **still pending** (retried by the next run): {', '.join(r['pending'])}")
    for rid, refused in r["refused"].items():
        lines.append(f"- **refused for good** ({rid}): " + "; ".join(f"{k}: {v}" for k, v in refused.items()))
    for rid, why in {**r["waiting"], **r["unrecorded"]}.items():
        lines.append(f"- {rid}: {why}")
    if text_body:
        fence = "`" * max(3, _longest_backtick_run(text_body) + 1)
        lines += ["", "## The report as sent", "", f"{fence}text", text_body.rstrip("\n"), fence]
    return "\n".join(lines)


def _longest_backtick_run(text: str) -> int:
    """The fence around the report must be longer than any run of backticks in it."""
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
