"""Signal alerts: record what this run's signal changes owe, then hand over every alert that is due."""
from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db
from signal_desk.config import Config
from signal_desk.http import FetchPolicy
from tasks.runs import current_flow_run_id

# A few reads and writes, then each due alert's hand-over: bounded by the SMTP timeout or the fetch
# policy's time budget (90 s) each, and ledger writes that may wait for the lock.
ALERTS_TIMEOUT_S = 15 * 60


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
