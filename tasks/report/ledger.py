"""The report ledger (tables `reports` and `report_attempts`): each report once, and its delivery.

Exactly once: a report is recorded before it is sent, keyed by a deterministic report_id; a sender
claims it with a lease so overlapping runs do not both send it; it turns `sent` only after the SMTP
server accepted it, and stays `pending` (with the error) otherwise, to go out on the next run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from tasks.db import rollback_if_open

LEASE = timedelta(minutes=10)


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


_COLUMNS = ("report_id, watchlist_id, window_start, window_end, since, built_at, subject, mail_from, recipients, "
            "html, text_body, eml, message_id, status, attempts, last_error, last_attempt_at, sent_at, summary")


def _entry(row: tuple) -> LedgerEntry:
    values = list(row)
    values[11] = bytes(values[11])
    values[18] = json.loads(values[18]) if isinstance(values[18], str) else (values[18] or {})
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


def claim_pending(con: duckdb.DuckDBPyConnection, watchlist_id: str, now: datetime) -> list[LedgerEntry]:
    """Pending reports of a watch list, oldest first, each leased to the caller until now + LEASE."""
    ids = [r[0] for r in con.execute("""
        select report_id from reports
        where watchlist_id = ? and status = 'pending' and (claimed_until is null or claimed_until < ?)
        """, [watchlist_id, now]).fetchall()]
    if not ids:
        return []
    con.execute("update reports set claimed_until = ? where report_id in (select unnest(?))", [now + LEASE, ids])
    rows = con.execute(f"select {_COLUMNS} from reports where report_id in (select unnest(?)) order by window_end",
                       [ids]).fetchall()
    return [_entry(r) for r in rows]


def record_attempt(con: duckdb.DuckDBPyConnection, report_id: str, *, at: datetime, ok: bool, smtp_host: str,
                   error: str | None) -> None:
    """Log one delivery attempt and release the lease: sent when the server took it, else still pending."""
    con.execute("begin")
    try:
        con.execute("insert into report_attempts values (?, ?, ?, ?, ?)", [report_id, at, ok, smtp_host, error])
        con.execute("""
            update reports set attempts = attempts + 1, last_attempt_at = ?, last_error = ?, claimed_until = null,
                               status = case when ? then 'sent' else status end,
                               sent_at = case when ? then ? else sent_at end
            where report_id = ?
            """, [at, error, ok, ok, at, report_id])
        con.execute("commit")
    except Exception:
        rollback_if_open(con)
        raise


def release(con: duckdb.DuckDBPyConnection, report_ids: list[str]) -> None:
    """Give back leases not used (a run stopping early), so the next run need not wait them out."""
    if report_ids:
        con.execute("update reports set claimed_until = null where report_id in (select unnest(?))", [report_ids])
