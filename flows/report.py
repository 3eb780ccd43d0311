"""The watch-list report: build it once per window, keep it, send it exactly once.

    report("us-iran-talks", config_dir="config", db_path="var/desk.duckdb")

A run builds the report for the window ending at `as_of` (by default the watch list's latest scheduled
time, from its `report.cron` in its `report.timezone`, so a rerun or retry of the same slot is the same
report), unless the ledger already has it; archives it (HTML + .eml); then sends every pending report
of the watch list, so one held back by an SMTP outage goes out on the next run, which says so.
"""
from __future__ import annotations

import os
import random
import re
import smtplib
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from cronsim import CronSim
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed

from flows.hourly import RunFailed
from flows.run_names import report_run_name
from signal_desk import db
from signal_desk.config import ConfigError, Watchlist, WatchlistsFile, env_seconds, load_model
from signal_desk.report import ledger
from signal_desk.report.build import Report, build_report, report_id_for
from signal_desk.report.chart import story_chart_png
from signal_desk.report.mail import (HandOverUnknown, InlineImage, compose, message_id_for, save_message,
                               send_eml, smtp_settings)
from signal_desk.report.render import render_html, render_text

MAX_CHARTS = 3
ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo"


def load_watchlist(config_dir: str | Path, watchlist_id: str) -> Watchlist:
    path = Path(config_dir) / "watchlists.yaml"
    wls = load_model(path, WatchlistsFile).watchlists
    for wl in wls:
        if wl.id == watchlist_id:
            return wl
    raise ConfigError(f"{path}: no watch list {watchlist_id!r} (have: {', '.join(w.id for w in wls)})")


def scheduled_window_end(wl: Watchlist, now: datetime) -> datetime:
    """The latest time at or before `now` that the watch list's report cron names, in UTC."""
    local_now = db.as_utc(now).astimezone(ZoneInfo(wl.report.timezone)).replace(second=0, microsecond=0)
    # cronsim walks back from strictly before its start: start a minute on, so `now` itself can be the tick
    tick = next(CronSim(wl.report.cron, local_now + timedelta(minutes=1), reverse=True))
    return tick.astimezone(timezone.utc)


def render_email(report: Report, mail_from: str) -> tuple[str, str, bytes]:
    """(html, text, eml) for a built report: the charts drawn and attached inline."""
    images, charts = [], {}
    for story in [s for s in report.stories if s.series][:MAX_CHARTS]:
        png = story_chart_png(story, report.window_start, report.window_end)
        if png:
            cid = f"chart{len(images) + 1}.{report.report_id}@signal-desk"
            images.append(InlineImage(cid, png, f"odds-{len(images) + 1}.png"))
            charts[story.story_id] = cid
    html = render_html(report, charts)
    text = render_text(report)
    eml = compose(report_id=report.report_id, watchlist_id=report.watchlist_id, subject=report.subject,
                  mail_from=mail_from, recipients=list(report.recipients), text=text, html=html, images=images,
                  date=report.built_at)
    return html, text, eml


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


class ReportNotDelivered(RuntimeError):
    """A report could not go out to everyone (after the run's retries); the ledger records what happened.
    Raised after the artifact is written, so the flow run fails and the alerting fires."""


# Ledger writes around a send wait this long for another writer's lock (an overlapping run): long enough
# to ride out a normal run's write, short of the claim lease, so the lease outlives a sender that waits.
RETRIES_ENV = "DESK_REPORT_RETRIES"
RETRY_DELAY_ENV = "DESK_REPORT_RETRY_DELAY_S"
MAX_RETRY_DELAY_S = 15 * 60


def retry_delays() -> list[float]:
    """Seconds to wait before each retry of the send within one run: DESK_REPORT_RETRIES (3) retries,
    the first after DESK_REPORT_RETRY_DELAY_S (60), doubling, capped at 15 min; jittered when used."""
    retries = int(env_seconds(RETRIES_ENV, 3))
    first = env_seconds(RETRY_DELAY_ENV, 60.0)
    return [min(first * 2 ** i, MAX_RETRY_DELAY_S) for i in range(retries)]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else 'no detail'}"


def _is_permanent(error: BaseException) -> bool:
    """A 5xx to the session (login, sender): retrying the same settings cannot help."""
    return isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600


def _holder() -> str:
    """Who holds a claim: this flow run (a retry of the send inside it takes its own claims back)."""
    from prefect.runtime import flow_run
    run_id = flow_run.id
    return f"flow run {flow_run.name!r} ({run_id})" if run_id else f"process {os.getpid()}"


def _waiting_for(con, entry: ledger.LedgerEntry) -> str:
    """What a run that finds the report leased elsewhere is waiting for, in one line."""
    text = (f"leased to {entry.claimed_by or 'another sender'} until "
            f"{entry.claimed_until.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC: waiting for that sender")
    unfinished = ledger.latest_unfinished_attempt(con, entry.report_id)
    if unfinished:
        at, message_id, recipients = unfinished
        text += (f"; its hand-over at {at.astimezone(timezone.utc):%H:%M:%S} UTC (Message-ID {message_id}, to "
                 f"{', '.join(recipients or [])}) has no recorded outcome, so once the lease runs out the report "
                 f"goes out again, marked as a possible duplicate")
    return text


# One attempt at every pending report. Bound: per report, a few SMTP commands at DESK_SMTP_TIMEOUT each
# plus two ledger writes at the lock wait each (about 6 min at the defaults); 30 min covers a backlog
# of several reports after an outage. A retry is a new task run.
@task(name="send-pending-reports", cache_policy=NO_CACHE, timeout_seconds=30 * 60)
def send_task(db_path: str, watchlist_id: str, current_report_id: str, holder: str) -> dict:
    log = get_run_logger()
    settings = smtp_settings()   # loaded here, not passed in, so the password never becomes a task parameter
    smtp_host = settings.describe()
    out = dict(sent=[], delayed=[], delivered={}, deferred={}, refused={}, failed={}, waiting={},
               possible_duplicates=[], unrecorded={}, pending=[], retry=False)
    with db.writer(db_path) as con:
        candidates = ledger.pending_ids(con, watchlist_id)
    session_failure: BaseException | None = None
    for report_id in candidates:
        if session_failure is not None:           # the server is down or refuses us: the rest wait too
            out["failed"][report_id] = _first_line(session_failure)
            continue
        with db.writer(db_path) as con:
            entry = ledger.claim(con, report_id, now=db.utcnow(), holder=holder)
            if entry is None or entry.status != "pending":
                continue
            if entry.claimed_by != holder:
                out["waiting"][report_id] = _waiting_for(con, entry)
                log.warning("report %s is not sent by this run: %s", report_id, out["waiting"][report_id])
                continue
        possible_duplicate = entry.unknown_handovers > 0
        error_before = entry.last_error
        started = db.utcnow()
        intent = {}

        def record_intent(recipients: list[str]) -> None:
            with db.writer(db_path) as con:
                ledger.record_intent(con, report_id, at=started, smtp_host=smtp_host, message_id=entry.message_id,
                                     recipients=recipients, possible_duplicate=possible_duplicate)
            intent["recorded"] = True

        owed = entry.owed
        delivery, error, outcome = None, None, "failed"
        try:
            delivery = send_eml(settings, entry.eml, owed, before_data=record_intent)
            outcome = "delivered" if delivery.accepted else "failed"
        except HandOverUnknown as e:
            outcome, error = "unknown", f"the server's answer to DATA was lost: {e}"
        except Exception as e:  # noqa: BLE001 -- anything else: not handed over, the report stays pending
            error = _first_line(e)
            session_failure = e
        deferred = delivery.deferred if delivery else {}
        refused = delivery.refused if delivery else {}
        accepted = delivery.accepted if delivery else []
        details = [f"{r}: {why}" for r, why in {**deferred, **refused}.items()]
        if delivery and delivery.after_accept_error:
            details.append(f"after the server accepted it: {delivery.after_accept_error}")
        error = "; ".join(([error] if error else []) + details) or None
        try:
            with db.writer(db_path) as con:
                entry = ledger.record_attempt(
                    con, report_id, at=started, finished_at=db.utcnow(), smtp_host=smtp_host, outcome=outcome,
                    accepted=accepted, deferred=list(deferred), refused=list(refused), error=error,
                    message_id=entry.message_id, possible_duplicate=possible_duplicate)
        except Exception as e:  # noqa: BLE001 -- the database is unavailable: say exactly what is known
            if intent.get("recorded"):
                out["unrecorded"][report_id] = (
                    f"handed to {smtp_host} at {started:%H:%M:%S} UTC (Message-ID {entry.message_id}; "
                    f"{outcome}{' to ' + ', '.join(accepted) if accepted else ''}) but the ledger could not record "
                    f"the outcome: {_first_line(e)}. The intent is recorded and the lease holds until "
                    f"{entry.claimed_until:%H:%M:%S} UTC; a copy sent after it is marked as a possible duplicate")
                log.error("report %s: %s", report_id, out["unrecorded"][report_id])
            else:
                out["failed"][report_id] = (f"not sent{' (' + error + ')' if error else ''}; the ledger could not "
                                            f"record the attempt: {_first_line(e)}")
                log.error("report %s %s", report_id, out["failed"][report_id])
            session_failure = session_failure or e
            continue
        if possible_duplicate and delivery and delivery.handed_over:
            out["possible_duplicates"].append(report_id)
            log.warning("report %s went out again as a POSSIBLE DUPLICATE (Message-ID %s): an earlier hand-over's "
                        "outcome was never recorded", report_id, entry.message_id)
        if accepted:
            out["delivered"][report_id] = accepted
        if refused:
            out["refused"][report_id] = refused
            log.error("report %s: refused for good, not retried: %s", report_id,
                      "; ".join(f"{r}: {why}" for r, why in refused.items()))
        if entry.status == "pending":
            out["pending"].append(report_id)
            if deferred:
                out["deferred"][report_id] = deferred
            if outcome != "delivered" and not deferred:
                out["failed"][report_id] = error or "not accepted"
            log.error("report %s NOT sent to %s via %s: %s. It stays pending.", report_id,
                      ", ".join(entry.owed), smtp_host, error)
            continue
        if entry.status == "sent":
            out["sent"].append(report_id)
            if entry.attempts > 1 or report_id != current_report_id:
                out["delayed"].append(report_id)
                log.warning("report %s was DELAYED: built %s, completed now (%s) after %d attempt(s); "
                            "last error before: %s", report_id, entry.built_at.isoformat(), db.utcnow().isoformat(),
                            entry.attempts - 1, error_before or "none recorded")
            else:
                log.info("report %s sent to %s via %s", report_id, ", ".join(accepted), smtp_host)
        if delivery and delivery.after_accept_error:
            log.warning("report %s: delivered; %s (ignored: the 250 to DATA is what counts)", report_id,
                        delivery.after_accept_error)
    out["pending"] += [r for r in out["failed"] if r not in out["pending"]]
    # Retry within the run only what may pass later: not a 5xx to the session (bad login or sender), and
    # not after a hand-over the ledger could not record (a retry would send that report again at once).
    out["retry"] = bool(out["pending"]) and not out["unrecorded"] and not (
        session_failure is not None and _is_permanent(session_failure))
    return out


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


def _merge(total: dict | None, attempt: dict) -> dict:
    """One run's delivery over its retries: what happened at all, and what is still open after the last."""
    if total is None:
        return attempt
    merged = dict(attempt)
    for key in ("sent", "delayed", "possible_duplicates"):
        merged[key] = total[key] + [r for r in attempt[key] if r not in total[key]]
    for key in ("refused", "unrecorded"):
        merged[key] = {**total[key], **attempt[key]}
    merged["delivered"] = {r: total["delivered"].get(r, []) + attempt["delivered"].get(r, [])
                           for r in {**total["delivered"], **attempt["delivered"]}}
    return merged


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
    holder, delays, delivery = _holder(), retry_delays(), None
    for attempt in range(len(delays) + 1):
        delivery = _merge(delivery, send_task(db_path, wl.id, built["report_id"], holder))
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
        status = f"unknown (the ledger could not be read: {_first_line(e)})"
    delivery.pop("retry")
    # After the outcome is in the ledger: analysts read the snapshot, which would otherwise show the
    # report as pending until the next hourly run.
    snapshot_error = publish_task(db_path)
    result = dict(watchlist_id=wl.id, report_id=built["report_id"], built=built["built"], status=status,
                  subject=built["subject"], summary=built["summary"], archive=archived,
                  snapshot_error=snapshot_error, **delivery)
    create_markdown_artifact(key=_artifact_key(wl.id), markdown=_artifact_markdown(result, text_body),
                             description=f"Watch-list report {built['report_id']}")
    problems = _delivery_problems(result)
    if problems:
        raise ReportNotDelivered(f"watch list {wl.id}: " + "; ".join(problems)
                                 + (f"; and {snapshot_error}" if snapshot_error else ""))
    if snapshot_error:
        # As the hourly run: a Failed state with the reason, not a traceback, so the alert fires.
        return Failed(message=f"report {built['report_id']}: {snapshot_error}", data=RunFailed(snapshot_error))
    return result


def _delivery_problems(r: dict) -> list[str]:
    """Why this run must fail, one clause per report: not delivered, refused for good, or not recorded."""
    problems = [f"report {rid} handed over but not recorded: {why}" for rid, why in r["unrecorded"].items()]
    for rid in r["pending"]:
        if rid in r["unrecorded"]:
            continue
        why = r["failed"].get(rid) or "; ".join(f"{rcpt}: {reply}" for rcpt, reply in r["deferred"].get(rid, {}).items())
        problems.append(f"report {rid} still pending after the run's retries: {why}")
    problems += [f"report {rid} refused for good by the server for " +
                 "; ".join(f"{rcpt} ({reply})" for rcpt, reply in refused.items())
                 for rid, refused in r["refused"].items()]
    return problems


def _artifact_key(watchlist_id: str) -> str:
    return "report-" + "".join(c if c.isalnum() else "-" for c in watchlist_id.lower())


def _artifact_markdown(r: dict, text_body: str | None = None) -> str:
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


def demo_report(db_path: str | Path, as_of: datetime, out_dir: str | Path) -> Path:
    """Send the demo's reports to a real SMTP server on 127.0.0.1 and save what it received
    (<watchlist>.eml, <watchlist>.html and its chart files) in out_dir. Returns the first watch list's HTML."""
    from mirror.smtp import LocalSmtpServer
    from signal_desk.report.mail import parse
    out_dir = Path(out_dir)
    wls = load_model(DEMO_CONFIG / "watchlists.yaml", WatchlistsFile).watchlists
    with LocalSmtpServer(out_dir / "inbox") as smtp, smtp.as_desk_mail():
        for wl in wls:
            report(wl.id, config_dir=str(DEMO_CONFIG), db_path=str(db_path), as_of=as_of,
                   archive_dir=str(out_dir / "archive"))
        received = smtp.received
    pages = {}
    for msg in received:
        watchlist_id = parse(msg.data)["X-Desk-Watchlist"]
        pages[watchlist_id] = save_message(msg.data, out_dir, watchlist_id)
    if wls[0].id not in pages:
        raise RuntimeError(f"the local SMTP server received no report for {wls[0].id}")
    return pages[wls[0].id]


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
