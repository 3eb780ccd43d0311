"""The watch-list report: build it once per window, keep it, send it exactly once.

    report("us-iran-talks", config_dir="config", db_path="var/desk.duckdb")

A run builds the report for the window ending at `as_of` (by default the watch list's latest scheduled
time, from its `report.cron` in its `report.timezone`, so a rerun or retry of the same slot is the same
report), unless the ledger already has it; archives it (HTML + .eml); then sends every pending report
of the watch list, so one held back by an SMTP outage goes out on the next run, which says so.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from cronsim import CronSim
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from tasks import db
from tasks.config import ConfigError, Watchlist, WatchlistsFile, load_model
from tasks.report import ledger
from tasks.report.build import Report, as_utc, build_report, report_id_for
from tasks.report.chart import story_chart_png
from tasks.report.mail import InlineImage, compose, message_id_for, save_message, send_eml, smtp_settings
from tasks.report.render import render_html, render_text

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
    local_now = as_utc(now).astimezone(ZoneInfo(wl.report.timezone)).replace(second=0, microsecond=0)
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


@task(name="build-report", cache_policy=NO_CACHE)
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


@task(name="archive-report", cache_policy=NO_CACHE)
def archive_task(db_path: str, report_id: str, watchlist_id: str, archive_dir: str) -> dict:
    """Write <archive_dir>/<watchlist>/<report_id>.eml and .html (with its charts) unless already there."""
    folder = Path(archive_dir) / watchlist_id
    html_path, eml_path = folder / f"{report_id}.html", folder / f"{report_id}.eml"
    if not (html_path.exists() and eml_path.exists()):
        with db.writer(db_path) as con:
            entry = ledger.get(con, report_id)
        save_message(entry.eml, folder, report_id)
    return dict(html=str(html_path), eml=str(eml_path))


@task(name="send-pending-reports", cache_policy=NO_CACHE)
def send_task(db_path: str, watchlist_id: str, current_report_id: str) -> dict:
    log = get_run_logger()
    settings = smtp_settings()   # loaded here, not passed in, so the password never becomes a task parameter
    with db.writer(db_path) as con:
        pending = ledger.claim_pending(con, watchlist_id, db.utcnow())
    sent, delayed, failed = [], [], []
    for i, entry in enumerate(pending):
        now = db.utcnow()
        try:
            refused = send_eml(settings, entry.eml, entry.recipients)
            error = "; ".join(f"{r}: {why}" for r, why in refused.items()) or None
            ok = True
        except Exception as e:  # noqa: BLE001 -- any failure leaves the report pending for the next run
            ok, error = False, f"{type(e).__name__}: {e}"
        with db.writer(db_path) as con:
            ledger.record_attempt(con, entry.report_id, at=now, ok=ok, smtp_host=settings.describe(), error=error)
        if not ok:
            failed.append(entry.report_id)
            log.error("report %s NOT sent via %s: %s. It stays pending and goes out on the next run.",
                      entry.report_id, settings.describe(), error)
            with db.writer(db_path) as con:
                ledger.release(con, [e.report_id for e in pending[i + 1:]])
            failed += [e.report_id for e in pending[i + 1:]]
            break
        sent.append(entry.report_id)
        if error:
            log.warning("report %s: the server refused some recipients: %s", entry.report_id, error)
        if entry.attempts > 0 or entry.report_id != current_report_id:
            delayed.append(entry.report_id)
            log.warning("report %s was DELAYED: built %s, sent now (%s) after %d failed attempt(s); last error: %s",
                        entry.report_id, entry.built_at.isoformat(), now.isoformat(), entry.attempts,
                        entry.last_error or "none recorded")
        else:
            log.info("report %s sent to %s via %s", entry.report_id, ", ".join(entry.recipients),
                     settings.describe())
    return dict(sent=sent, delayed=delayed, pending=failed)


@flow(name="report")
def report(watchlist_id: str, config_dir: str = "config", db_path: str = "var/desk.duckdb",
           as_of: datetime | None = None, archive_dir: str = "var/reports") -> dict:
    """Build (once), archive and send the watch list's report; send any report an outage held back."""
    log = get_run_logger()
    wl = load_watchlist(config_dir, watchlist_id)
    settings = smtp_settings()
    window_end = (as_utc(as_of) if as_of is not None else scheduled_window_end(wl, db.utcnow()))
    window_end = window_end.replace(second=0, microsecond=0)
    built = build_task(wl, db_path, window_end, settings.mail_from)
    archived = archive_task(db_path, built["report_id"], wl.id, archive_dir)
    delivery = send_task(db_path, wl.id, built["report_id"])
    with db.writer(db_path) as con:
        status = ledger.get(con, built["report_id"]).status
    result = dict(watchlist_id=wl.id, report_id=built["report_id"], built=built["built"], status=status,
                  subject=built["subject"], summary=built["summary"], archive=archived, **delivery)
    create_markdown_artifact(key=_artifact_key(wl.id), markdown=_artifact_markdown(result),
                             description=f"Watch-list report {built['report_id']}")
    if delivery["pending"]:
        log.error("%d report(s) of %s wait for the SMTP server: %s", len(delivery["pending"]), wl.id,
                  ", ".join(delivery["pending"]))
    return result


def _artifact_key(watchlist_id: str) -> str:
    return "report-" + "".join(c if c.isalnum() else "-" for c in watchlist_id.lower())


def _artifact_markdown(r: dict) -> str:
    s = r["summary"] or {}
    lines = [f"# {r['subject']}", "",
             f"report `{r['report_id']}`: **{r['status']}**" + (" (built this run)" if r["built"] else ""), "",
             "| what changed | count |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in s.items()]
    lines += ["", f"- archive: [{Path(r['archive']['html']).name}]({Path(r['archive']['html']).resolve().as_uri()})"
                  f" and `{r['archive']['eml']}`"]
    if r["sent"]:
        lines.append(f"- sent this run: {', '.join(r['sent'])}")
    if r["delayed"]:
        lines.append(f"- delayed by an earlier outage, sent now: {', '.join(r['delayed'])}")
    if r["pending"]:
        lines.append(f"- **still pending** (SMTP failed, retried next run): {', '.join(r['pending'])}")
    return "\n".join(lines)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def demo_report(db_path: str | Path, as_of: datetime, out_dir: str | Path) -> Path:
    """Send the demo's reports to a real SMTP server on 127.0.0.1 and save what it received
    (<watchlist>.eml, <watchlist>.html and its chart files) in out_dir. Returns the first watch list's HTML."""
    from mirror.smtp import LocalSmtpServer
    from tasks.report.mail import parse
    out_dir = Path(out_dir)
    wls = load_model(DEMO_CONFIG / "watchlists.yaml", WatchlistsFile).watchlists
    with LocalSmtpServer(out_dir / "inbox") as smtp, _environment(
            DESK_SMTP_BLOCK="", DESK_SMTP_HOST=smtp.host, DESK_SMTP_PORT=str(smtp.port), DESK_SMTP_USER="",
            DESK_SMTP_PASSWORD="", DESK_SMTP_STARTTLS="false", DESK_SMTP_SSL="false",
            DESK_MAIL_FROM="Signal desk <desk@signal-desk.example>"):
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
    ap.add_argument("--db", default="var/desk.duckdb")
    ap.add_argument("--as-of", type=lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")))
    ap.add_argument("--archive", default="var/reports")
    a = ap.parse_args()
    print(report(a.watchlist_id, config_dir=a.config, db_path=a.db, as_of=a.as_of, archive_dir=a.archive))
