"""Hand each due alert over, once: email through the reports' SMTP settings, or the watch list's webhook.

Transient failures (the server down, 4xx, 429/5xx from a webhook) are retried with the run's fetch
policy's backoff (none under the test policy); what is still not taken stays `pending` for the next run.
Each hand-over is recorded as an intent before it starts and completed after (signal_desk/signal_alerts/ledger.py).
"""
from __future__ import annotations

import os
import smtplib
import time
from dataclasses import dataclass, field

from signal_desk import db
from signal_desk.config import Config, Webhook
from signal_desk.failpoints import failpoint
from signal_desk.http import FetchPolicy, backoff_delay, post_json
from signal_desk.report.mail import (HandOverUnknown, SmtpSettings, SmtpSettingsError, compose_message, first_line,
                                     is_permanent, message_id_for, send_eml, smtp_settings)
from signal_desk.signal_alerts import ledger


@dataclass(slots=True)
class Outcome:
    """What became of one alert this run."""
    alert: ledger.Alert
    status: str                   # sent | pending | failed | possibly_delivered | waiting
    attempts: int = 0
    error: str | None = None
    session_failed: bool = False  # the server could not be reached, or refused us: the other emails wait too


@dataclass(slots=True)
class Delivery:
    outcomes: list[Outcome] = field(default_factory=list)
    orphans: list[ledger.Alert] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)    # hand-overs whose outcome the ledger could not take

    def problems(self) -> list[str]:
        """Why the run must fail, one clause per alert a person has to look at."""
        out = [f"alert {a.alert_id} ({_who(a)}: {a.subject}) was handed over at {a.attempted_at:%d %b %H:%M:%S} UTC "
               f"but its outcome was never recorded: possibly delivered, not sent again" for a in self.orphans]
        out += self.unrecorded
        for o in self.outcomes:
            if o.status == "pending":
                out.append(f"alert {o.alert.alert_id} ({_who(o.alert)}) still pending: {o.error}")
            elif o.status == "failed":
                out.append(f"alert {o.alert.alert_id} ({_who(o.alert)}) refused for good: {o.error}")
            elif o.status == "possibly_delivered":
                out.append(f"alert {o.alert.alert_id} ({_who(o.alert)}) handed over but not confirmed: {o.error}")
        return out


def _who(alert: ledger.Alert) -> str:
    return f"{alert.channel} to {alert.recipient}"


def deliver(db_path: str, cfg: Config, policy: FetchPolicy, holder: str) -> Delivery:
    """Every due alert, oldest change first. A database that cannot record an outcome stops the rest."""
    result = Delivery()
    with db.writer(db_path) as con:
        result.orphans = ledger.orphaned_intents(con, now=db.utcnow())
        due = ledger.due_ids(con)
    webhooks = {(wl.id, wl.alerts.webhook.label): wl.alerts.webhook
                for wl in cfg.watchlists if wl.alerts is not None and wl.alerts.webhook is not None}
    smtp: SmtpSettings | None = None
    smtp_failure: str | None = None      # settings missing, or the server down or refusing us: no more tries
    for alert_id in due:
        with db.writer(db_path) as con:
            alert = ledger.claim(con, alert_id, now=db.utcnow(), holder=holder)
        if alert is None:
            continue
        if alert.claimed_by != holder:
            result.outcomes.append(Outcome(alert, "waiting", error=f"leased to {alert.claimed_by} until "
                                                                 f"{alert.claimed_until:%H:%M:%S} UTC"))
            continue
        if alert.channel == "email":
            if smtp is None and smtp_failure is None:
                try:
                    smtp = smtp_settings()
                except SmtpSettingsError as e:
                    smtp_failure = str(e)
            if smtp_failure is not None:
                outcome = Outcome(alert, "pending", error=f"not tried: {smtp_failure}")
            else:
                outcome = _send_email(db_path, alert, smtp, policy)
                if outcome.session_failed:
                    smtp_failure = outcome.error
        else:
            outcome = _send_webhook(db_path, alert, webhooks.get((alert.watchlist_id, alert.recipient)), policy)
        result.outcomes.append(outcome)
        try:
            with db.writer(db_path) as con:
                ledger.record_outcome(con, alert_id, status=outcome.status, at=db.utcnow(), error=outcome.error,
                                      attempts=outcome.attempts)
        except Exception as e:  # noqa: BLE001 -- the database is unavailable: say exactly what is known
            result.unrecorded.append(
                f"alert {alert_id} ({_who(alert)}) ended {outcome.status} but the ledger could not record it: "
                f"{first_line(e)}; it stays as recorded before the hand-over (possibly delivered) and is not "
                f"sent again")
            break
    return result


def _send_email(db_path: str, alert: ledger.Alert, settings: SmtpSettings, policy: FetchPolicy) -> Outcome:
    payload = alert.payload or compose_message(
        subject=alert.subject, mail_from=settings.mail_from, recipients=[alert.recipient], text=alert.text_body,
        html=alert.html, date=db.utcnow(), message_id=message_id_for(alert.alert_id, settings.mail_from, "alert"),
        headers={"X-Desk-Alert-Id": alert.alert_id, "X-Desk-Watchlist": alert.watchlist_id})
    message_id = alert.message_id or message_id_for(alert.alert_id, settings.mail_from, "alert")
    deadline = time.monotonic() + policy.max_total_s
    attempt = 0
    while True:
        attempt += 1

        def intent(_recipients: list[str]) -> None:
            with db.writer(db_path) as con:
                ledger.record_intent(con, alert.alert_id, at=db.utcnow(), payload=payload, message_id=message_id)
        try:
            delivery = send_eml(settings, payload, [alert.recipient], before_data=intent)
        except HandOverUnknown as e:
            return Outcome(alert, "possibly_delivered", attempt, f"the server's answer to DATA was lost: {e}")
        except (OSError, smtplib.SMTPException) as e:     # not handed over: no session, or sender refused
            error = f"{settings.describe()}: {first_line(e)}"
            if is_permanent(e):
                return Outcome(alert, "pending", attempt, error, session_failed=True)
            delay = backoff_delay(policy, attempt)
            if attempt >= policy.max_attempts or time.monotonic() + delay > deadline:
                return Outcome(alert, "pending", attempt, error, session_failed=True)
            time.sleep(delay)
            continue
        else:
            if delivery.accepted:
                failpoint("alert-after-accept")
                return Outcome(alert, "sent", attempt, delivery.after_accept_error)
            if delivery.refused:
                return Outcome(alert, "failed", attempt, "; ".join(delivery.refused.values()))
            error = "; ".join(delivery.deferred.values()) or "not accepted"
        if attempt >= policy.max_attempts:
            return Outcome(alert, "pending", attempt, error + (f" (after {attempt} attempts)" if attempt > 1 else ""))
        delay = backoff_delay(policy, attempt)
        if time.monotonic() + delay > deadline:
            return Outcome(alert, "pending", attempt, f"{error} (retry time budget exhausted)")
        time.sleep(delay)


def webhook_url(webhook: Webhook) -> str:
    """The webhook's URL, read where the configuration says: an environment variable or a Prefect Secret
    block. Raises ValueError naming where it looked (never the URL)."""
    if webhook.url_env:
        url = os.environ.get(webhook.url_env, "").strip()
        if not url:
            raise ValueError(f"environment variable {webhook.url_env} (the webhook's URL) is not set")
    else:
        from prefect.blocks.system import Secret
        try:
            value = Secret.load(webhook.secret_block).get()
        except ValueError as e:
            raise ValueError(f"Prefect Secret block {webhook.secret_block!r} (the webhook's URL) could not be "
                             f"loaded: {e}") from None
        url = str(value).strip()
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"the webhook's URL from {webhook.label} is not an http(s) URL")
    return url


def _send_webhook(db_path: str, alert: ledger.Alert, webhook: Webhook | None, policy: FetchPolicy) -> Outcome:
    if webhook is None:
        return Outcome(alert, "pending", error=f"no webhook {alert.recipient} is configured any more")
    try:
        url = webhook_url(webhook)
    except ValueError as e:
        return Outcome(alert, "pending", error=f"not tried: {e}")
    with db.writer(db_path) as con:
        ledger.record_intent(con, alert.alert_id, at=db.utcnow(), payload=alert.payload, message_id=None)
    posted = post_json(url, alert.payload, policy, describe=f"webhook ({webhook.label})")
    if posted.delivered:
        failpoint("alert-after-accept")
        return Outcome(alert, "sent", posted.attempts)
    if posted.unknown:
        return Outcome(alert, "possibly_delivered", posted.attempts, posted.error)
    return Outcome(alert, "failed" if posted.permanent else "pending", posted.attempts, posted.error)
