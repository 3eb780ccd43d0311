"""Sending the pending reports of a watch list exactly once, and the run's retry policy around it.

A report is claimed (a lease in the ledger), its intent to send recorded before DATA, and the outcome
after; the 250 to DATA is what counts. Temporary refusals stay owed and are retried, permanent ones are
reported; a hand-over whose outcome could not be recorded is never retried within the run.
"""
from __future__ import annotations

import logging
from datetime import timezone

from signal_desk import db
from signal_desk.config import env_seconds
from signal_desk.report import ledger
from signal_desk.report.mail import HandOverUnknown, first_line, is_permanent, send_eml, smtp_settings


class ReportNotDelivered(RuntimeError):
    """A report could not go out to everyone (after the run's retries); the ledger records what happened.
    Raised after the artifact is written, so the flow run fails and the alerting fires."""


RETRIES_ENV = "DESK_REPORT_RETRIES"
RETRY_DELAY_ENV = "DESK_REPORT_RETRY_DELAY_S"
MAX_RETRY_DELAY_S = 15 * 60


def retry_delays() -> list[float]:
    """Seconds to wait before each retry of the send within one run: DESK_REPORT_RETRIES (3) retries,
    the first after DESK_REPORT_RETRY_DELAY_S (60), doubling, capped at 15 min; jittered when used."""
    retries = int(env_seconds(RETRIES_ENV, 3))
    first = env_seconds(RETRY_DELAY_ENV, 60.0)
    return [min(first * 2 ** i, MAX_RETRY_DELAY_S) for i in range(retries)]


def waiting_for(con, entry: ledger.LedgerEntry) -> str:
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


def send_pending(db_path: str, watchlist_id: str, current_report_id: str, holder: str,
                 log: logging.Logger | logging.LoggerAdapter) -> dict:
    """One attempt at every pending report of the watch list: claim it, record the intent to send,
    hand it over, record the outcome. Returns what happened to each, and whether a retry may help."""
    settings = smtp_settings()   # loaded here, not passed in, so the password never becomes a task parameter
    smtp_host = settings.describe()
    out = dict(sent=[], delayed=[], delivered={}, deferred={}, refused={}, failed={}, waiting={},
               possible_duplicates=[], unrecorded={}, pending=[], retry=False)
    with db.writer(db_path) as con:
        candidates = ledger.pending_ids(con, watchlist_id)
    session_failure: BaseException | None = None
    for report_id in candidates:
        if session_failure is not None:           # the server is down or refuses us: the rest wait too
            out["failed"][report_id] = first_line(session_failure)
            continue
        with db.writer(db_path) as con:
            entry = ledger.claim(con, report_id, now=db.utcnow(), holder=holder)
            if entry is None or entry.status != "pending":
                continue
            if entry.claimed_by != holder:
                out["waiting"][report_id] = waiting_for(con, entry)
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
            error = first_line(e)
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
                    f"the outcome: {first_line(e)}. The intent is recorded and the lease holds until "
                    f"{entry.claimed_until:%H:%M:%S} UTC; a copy sent after it is marked as a possible duplicate")
                log.error("report %s: %s", report_id, out["unrecorded"][report_id])
            else:
                out["failed"][report_id] = (f"not sent{' (' + error + ')' if error else ''}; the ledger could not "
                                            f"record the attempt: {first_line(e)}")
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
        session_failure is not None and is_permanent(session_failure))
    return out


def merge_attempts(total: dict | None, attempt: dict) -> dict:
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


def delivery_problems(r: dict) -> list[str]:
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
