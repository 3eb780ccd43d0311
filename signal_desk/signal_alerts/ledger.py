"""The alerts ledger (table `alerts`): one row per change of a signal per recipient and channel, and its
delivery, by the report ledger's rules (signal_desk/report/ledger.py), for messages that go to one recipient:

- the alert is recorded, with its words, before anything is sent (`changes.note_changes`);
- a sender leases a due alert (`claim`) so an overlapping run leaves it alone;
- right before the message is handed over (DATA, or the webhook's POST) the row turns
  `possibly_delivered` with the Message-ID and the exact bytes (`record_intent`), and after the
  server's answer it turns `sent`, `failed` (refused for good) or back to `pending` (not taken: tried
  again) (`record_outcome`).

An alert is never handed over twice: a hand-over whose answer was never recorded (the sender died, or
the database could not be written right after) stays `possibly_delivered`. Unlike a report, it is not
sent again: an alert repeated an hour later says something that is no longer news, and the recipient
may already have acted on the first. The next run that finds such a row past its lease says so once
(`orphaned_intents`), and fails, so a person checks with the recipient.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from signal_desk.db import transaction
from signal_desk.report.ledger import lease as _lease

LEASE_ENV = "DESK_ALERT_LEASE_S"
DEFAULT_LEASE = timedelta(minutes=10)
# Rows whose alert went out, or is on its way: what a recipient has heard, and when the quiet period starts.
WENT_OUT = ("pending", "possibly_delivered", "sent")


def lease() -> timedelta:
    """How long a sender's claim on an alert holds (DESK_ALERT_LEASE_S, 600 s): longer than one
    hand-over with its retries and the two ledger writes around it."""
    return _lease(LEASE_ENV, DEFAULT_LEASE)


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    watchlist_id: str
    signal_id: str
    from_level: str
    to_level: str
    changed_at: datetime
    channel: str
    recipient: str
    status: str
    subject: str | None
    text_body: str | None
    html: str | None
    payload: bytes | None
    message_id: str | None
    attempts: int
    last_error: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    attempted_at: datetime | None


_COLUMNS = ("alert_id, watchlist_id, signal_id, from_level, to_level, changed_at, channel, recipient, status, "
            "subject, text_body, html, payload, message_id, attempts, last_error, claimed_by, claimed_until, "
            "attempted_at")


def _alert(row: tuple) -> Alert:
    values = list(row)
    values[12] = bytes(values[12]) if values[12] is not None else None
    return Alert(*values)


def get(con: duckdb.DuckDBPyConnection, alert_id: str) -> Alert | None:
    row = con.execute(f"select {_COLUMNS} from alerts where alert_id = ?", [alert_id]).fetchone()
    return None if row is None else _alert(row)


def due_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every alert still to hand over, oldest change first (leased or not)."""
    return [r[0] for r in con.execute(
        "select alert_id from alerts where status = 'pending' order by changed_at, watchlist_id, signal_id, alert_id"
    ).fetchall()]


def claim(con: duckdb.DuckDBPyConnection, alert_id: str, *, now: datetime, holder: str) -> Alert | None:
    """Lease a pending alert to `holder` until now + lease(), unless another holder's lease still runs.
    Returns the alert either way (`claimed_by == holder` says whether the caller got it), or None when it
    is no longer pending."""
    def work() -> Alert | None:
        alert = get(con, alert_id)
        if alert is None or alert.status != "pending":
            return None
        if alert.claimed_until is not None and alert.claimed_until >= now and alert.claimed_by != holder:
            return alert
        con.execute("update alerts set claimed_by = ?, claimed_until = ? where alert_id = ?",
                    [holder, now + lease(), alert_id])
        return get(con, alert_id)
    return transaction(con, work, what=f"claiming alert {alert_id}")


def record_intent(con: duckdb.DuckDBPyConnection, alert_id: str, *, at: datetime, payload: bytes,
                  message_id: str | None) -> None:
    """Written right before the message goes out: from here on, it may have been delivered."""
    transaction(con, lambda: con.execute("""
        update alerts set status = 'possibly_delivered', attempted_at = ?, payload = ?, message_id = ?,
                          finished_at = null
        where alert_id = ?
        """, [at, payload, message_id, alert_id]), what=f"recording the intent to send alert {alert_id}")


def record_outcome(con: duckdb.DuckDBPyConnection, alert_id: str, *, status: str, at: datetime,
                   error: str | None, attempts: int) -> None:
    """The hand-over's outcome: sent, failed (refused for good) or pending (not taken; tried again);
    the lease is released."""
    transaction(con, lambda: con.execute("""
        update alerts set status = ?, last_error = ?, attempts = attempts + ?, finished_at = ?,
                          sent_at = case when ? = 'sent' then ? else sent_at end,
                          claimed_by = null, claimed_until = null
        where alert_id = ?
        """, [status, error, attempts, at, status, at, alert_id]), what=f"recording the delivery of alert {alert_id}")


def orphaned_intents(con: duckdb.DuckDBPyConnection, *, now: datetime) -> list[Alert]:
    """Hand-overs whose outcome was never recorded, past their sender's lease: noted once (their error
    says so, their lease is released) and returned, so the run reports them."""
    def work() -> list[Alert]:
        ids = [r[0] for r in con.execute("""
            select alert_id from alerts
            where status = 'possibly_delivered' and finished_at is null
              and (claimed_until is null or claimed_until < ?)
            order by attempted_at
            """, [now]).fetchall()]
        for alert_id in ids:
            con.execute("""
                update alerts set finished_at = ?, claimed_by = null, claimed_until = null, attempts = attempts + 1,
                       last_error = coalesce(last_error || '; ', '') || ?
                where alert_id = ?
                """, [now, "the sender stopped after handing it over and before recording the answer: "
                           "possibly delivered, not sent again", alert_id])
        return [get(con, a) for a in ids]
    return transaction(con, work, what="noting alerts handed over without a recorded outcome")
