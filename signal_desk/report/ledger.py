"""The report ledger (tables `reports` and `report_attempts`): each report once, and its delivery.

Exactly once, as far as SMTP allows: a report is recorded before it is sent, keyed by a deterministic
report_id; a sender claims it with a lease so overlapping runs do not both send it; before the message
is handed over (DATA) the attempt is written as an intent (outcome 'sending', with the Message-ID and
recipients), and completed with the outcome after. A report stays `pending` while a recipient is owed
it (never reached, or refused for now); it turns `sent` once every recipient has it or refused it for
good (`refused` if nobody got it). An intent found without an outcome after its lease ran out means the
sender died or could not record the server's answer: the message may have been delivered, so the next
copy is marked as a possible duplicate.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from signal_desk.config import env_seconds
from signal_desk.db import transaction

LEASE_ENV = "DESK_REPORT_LEASE_S"
DEFAULT_LEASE = timedelta(minutes=10)


def lease(env: str = LEASE_ENV, default: timedelta = DEFAULT_LEASE) -> timedelta:
    """How long a claim holds a message: longer than one send and its two ledger writes can take (SMTP
    timeouts and the database lock wait), so a live sender never loses it. DESK_REPORT_LEASE_S for
    reports; the signal alerts' ledger passes its own variable."""
    return timedelta(seconds=env_seconds(env, default.total_seconds(), positive=True))


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    report_id: str
    watchlist_id: str
    window_start: datetime
    window_end: datetime
    since: datetime
    built_at: datetime
    subject: str
    mail_from: str
    recipients: list[str]
    html: str
    text_body: str
    eml: bytes
    message_id: str
    status: str
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    summary: dict
    delivered_to: list[str] = field(default_factory=list)
    refused_to: list[str] = field(default_factory=list)
    claimed_until: datetime | None = None
    claimed_by: str | None = None
    unknown_handovers: int = 0     # earlier hand-overs whose outcome is unknown: the next copy may be a duplicate

    @property
    def owed(self) -> list[str]:
        """Recipients still to get it: neither delivered nor refused for good."""
        done = set(self.delivered_to) | set(self.refused_to)
        return [r for r in self.recipients if r not in done]


_COLUMNS = ("report_id, watchlist_id, window_start, window_end, since, built_at, subject, mail_from, recipients, "
            "html, text_body, eml, message_id, status, attempts, last_error, last_attempt_at, sent_at, summary, "
            "coalesce(delivered_to, []), coalesce(refused_to, []), claimed_until, claimed_by, "
            "(select count(*) from report_attempts a where a.report_id = reports.report_id "
            "and a.outcome = 'unknown')")


def _entry(row: tuple) -> LedgerEntry:
    values = list(row)
    values[11] = bytes(values[11])
    values[18] = json.loads(values[18]) if isinstance(values[18], str) else (values[18] or {})
    values[19], values[20] = list(values[19]), list(values[20])
    return LedgerEntry(*values)


def get(con: duckdb.DuckDBPyConnection, report_id: str) -> LedgerEntry | None:
    row = con.execute(f"select {_COLUMNS} from reports where report_id = ?", [report_id]).fetchone()
    return None if row is None else _entry(row)


def previous_window_end(con: duckdb.DuckDBPyConnection, watchlist_id: str, before: datetime) -> datetime | None:
    """The window end of this watch list's latest report before `before`: where "what changed" starts."""
    row = con.execute("select max(window_end) from reports where watchlist_id = ? and window_end < ?",
                      [watchlist_id, before]).fetchone()
    return row[0] if row else None


def record(con: duckdb.DuckDBPyConnection, *, report_id: str, watchlist_id: str, window_start: datetime,
           window_end: datetime, since: datetime, built_at: datetime, subject: str, mail_from: str,
           recipients: list[str], html: str, text_body: str, eml: bytes, message_id: str,
           summary: dict) -> bool:
    """Add a built report as pending. False if it was already there (the stored one is kept)."""
    if con.execute("select 1 from reports where report_id = ?", [report_id]).fetchone():
        return False
    con.execute("""
        insert into reports (report_id, watchlist_id, window_start, window_end, since, built_at, subject, mail_from,
                             recipients, html, text_body, eml, message_id, status, attempts, summary)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
        """, [report_id, watchlist_id, window_start, window_end, since, built_at, subject, mail_from, recipients,
              html, text_body, eml, message_id, json.dumps(summary)])
    return True


def pending_ids(con: duckdb.DuckDBPyConnection, watchlist_id: str) -> list[str]:
    """The watch list's reports someone is still owed, oldest first (leased or not)."""
    return [r[0] for r in con.execute(
        "select report_id from reports where watchlist_id = ? and status = 'pending' order by window_end",
        [watchlist_id]).fetchall()]


def claim(con: duckdb.DuckDBPyConnection, report_id: str, *, now: datetime, holder: str) -> LedgerEntry:
    """Lease one pending report to `holder` until now + lease(), unless another holder's lease still runs.
    Returns the entry either way: `entry.claimed_by == holder` says whether the caller got it.

    An intent left without an outcome ('sending') by a lease that ran out, or by this holder's own
    earlier try, becomes 'unknown': that hand-over may have been delivered."""
    def work() -> LedgerEntry:
        entry = get(con, report_id)
        if entry is None or entry.status != "pending":
            return entry
        held = entry.claimed_until is not None and entry.claimed_until >= now and entry.claimed_by != holder
        if held:
            return entry
        con.execute("update reports set claimed_until = ?, claimed_by = ? where report_id = ?",
                    [now + lease(), holder, report_id])
        con.execute("""
            update report_attempts set outcome = 'unknown', finished_at = ?,
                   error = coalesce(error || '; ', '') || 'the sender recorded no outcome before its lease ran out'
            where report_id = ? and outcome = 'sending'
            """, [now, report_id])
        return get(con, report_id)
    return transaction(con, work, what=f"claiming report {report_id}")


def latest_unfinished_attempt(con: duckdb.DuckDBPyConnection, report_id: str) -> tuple | None:
    """(attempted_at, message_id, recipients) of the newest hand-over with no recorded outcome, if any."""
    return con.execute("""
        select attempted_at, message_id, recipients from report_attempts
        where report_id = ? and outcome in ('sending', 'unknown') order by attempted_at desc limit 1
        """, [report_id]).fetchone()


def record_intent(con: duckdb.DuckDBPyConnection, report_id: str, *, at: datetime, smtp_host: str,
                  message_id: str, recipients: list[str], possible_duplicate: bool) -> None:
    """Write the attempt before the message is handed over, so a delivery never goes unrecorded."""
    transaction(con, lambda: con.execute("""
        insert into report_attempts (report_id, attempted_at, ok, smtp_host, error, message_id, recipients,
                                     outcome, possible_duplicate)
        values (?, ?, false, ?, null, ?, ?, 'sending', ?)
        """, [report_id, at, smtp_host, message_id, recipients, possible_duplicate]),
        what=f"recording the intent to send report {report_id}")


def record_attempt(con: duckdb.DuckDBPyConnection, report_id: str, *, at: datetime, smtp_host: str,
                   outcome: str, accepted: list[str] = (), deferred: list[str] = (), refused: list[str] = (),
                   error: str | None = None, message_id: str | None = None, possible_duplicate: bool = False,
                   finished_at: datetime | None = None) -> LedgerEntry:
    """Complete one delivery attempt (its intent row, or a new row when it never got as far as DATA) and
    release the lease. The report turns `sent` when nobody is owed it any more. Returns the entry."""
    accepted, deferred, refused = list(accepted), list(deferred), list(refused)

    def work() -> LedgerEntry:
        finished = finished_at or at
        row = [bool(accepted), outcome, error, accepted, deferred, refused, finished]
        if con.execute("select 1 from report_attempts where report_id = ? and attempted_at = ?",
                       [report_id, at]).fetchone():
            con.execute("""
                update report_attempts set ok = ?, outcome = ?, error = ?, accepted = ?, deferred = ?,
                                           refused = ?, finished_at = ?
                where report_id = ? and attempted_at = ?
                """, row + [report_id, at])
        else:
            con.execute("""
                insert into report_attempts (ok, outcome, error, accepted, deferred, refused, finished_at,
                                             report_id, attempted_at, smtp_host, message_id, possible_duplicate)
                values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, row + [report_id, at, smtp_host, message_id, possible_duplicate])
        entry = get(con, report_id)
        delivered_to = entry.delivered_to + [r for r in accepted if r not in entry.delivered_to]
        refused_to = entry.refused_to + [r for r in refused if r not in entry.refused_to and r not in delivered_to]
        owed = [r for r in entry.recipients if r not in delivered_to and r not in refused_to]
        status = "pending" if owed else ("sent" if delivered_to else "refused")
        con.execute("""
            update reports set attempts = attempts + 1, last_attempt_at = ?, last_error = ?, claimed_until = null,
                               claimed_by = null, delivered_to = ?, refused_to = ?, status = ?,
                               sent_at = case when ? = 'sent' then ? else sent_at end
            where report_id = ?
            """, [at, error, delivered_to, refused_to, status, status, finished, report_id])
        return get(con, report_id)
    return transaction(con, work, what=f"recording the delivery of report {report_id}")
