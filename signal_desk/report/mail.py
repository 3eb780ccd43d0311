"""The desk's email (multipart/alternative: plain text, then HTML with its charts by Content-ID), SMTP
settings from the environment or a Prefect Secret block, and sending with a timeout. Reports and signal
alerts (signal_desk/signal_alerts) go out through the same settings and the same hand-over.

Settings come from a Prefect Secret block named by DESK_SMTP_BLOCK (its value a JSON object with the
keys host, port, user, password, starttls, ssl, mail_from, timeout) or else from the environment:
DESK_SMTP_HOST, DESK_SMTP_PORT, DESK_SMTP_USER, DESK_SMTP_PASSWORD, DESK_SMTP_STARTTLS, DESK_SMTP_SSL,
DESK_SMTP_TIMEOUT, DESK_MAIL_FROM. Never from a file in the repository; the password is never printed.
"""
from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Callable, Mapping

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class SmtpSettingsError(ValueError):
    """SMTP settings missing or malformed; the message names the variable or block key."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    mail_from: str
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout_s: float = 20.0

    def describe(self) -> str:
        how = " (implicit TLS)" if self.ssl else " (STARTTLS)" if self.starttls else ""
        return f"{self.host}:{self.port}{how}" + (f" as {self.user}" if self.user else "")


def first_line(error: BaseException) -> str:
    """An error in one line: its type and the first line of its message."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else 'no detail'}"


def is_permanent(error: BaseException) -> bool:
    """A 5xx to the session (login, sender): retrying the same settings cannot help."""
    return isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600


def smtp_settings(env: Mapping[str, str] | None = None) -> SmtpSettings:
    env = os.environ if env is None else env
    block = env.get("DESK_SMTP_BLOCK", "").strip()
    if block:
        return settings_from_mapping(_load_block(block), f"Prefect Secret block {block!r}")
    values = {k.removeprefix("DESK_SMTP_").lower(): v for k, v in env.items() if k.startswith("DESK_SMTP_")}
    if "DESK_MAIL_FROM" in env:
        values["mail_from"] = env["DESK_MAIL_FROM"]
    return settings_from_mapping(values, "environment (DESK_SMTP_*, DESK_MAIL_FROM)")


def settings_from_mapping(values: Mapping[str, object], where: str) -> SmtpSettings:
    def text(key: str, required: bool = False) -> str | None:
        v = values.get(key)
        v = None if v is None else str(v).strip()
        if required and not v:
            raise SmtpSettingsError(f"{where}: {_name(key, where)} is not set")
        return v or None

    def flag(key: str) -> bool:
        v = values.get(key)
        if isinstance(v, bool):
            return v
        s = "" if v is None else str(v).strip().lower()
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise SmtpSettingsError(f"{where}: {_name(key, where)} must be true or false, not {v!r}")

    def number(key: str, default: float, kind: type) -> float:
        v = values.get(key)
        if v is None or str(v).strip() == "":
            return default
        try:
            return kind(str(v).strip())
        except ValueError:
            raise SmtpSettingsError(f"{where}: {_name(key, where)} must be a number, not {v!r}") from None

    mail_from = text("mail_from", required=True)
    if "@" not in parseaddr(mail_from)[1]:
        raise SmtpSettingsError(f"{where}: {_name('mail_from', where)} {mail_from!r} is not an email address")
    use_ssl = flag("ssl")
    return SmtpSettings(
        host=text("host", required=True), mail_from=mail_from,
        port=int(number("port", 465 if use_ssl else 25, int)), user=text("user"), password=text("password"),
        starttls=flag("starttls"), ssl=use_ssl, timeout_s=float(number("timeout", 20.0, float)))


def _name(key: str, where: str) -> str:
    if where.startswith("environment"):
        return "DESK_MAIL_FROM" if key == "mail_from" else f"DESK_SMTP_{key.upper()}"
    return f"key {key!r}"


def _load_block(name: str) -> Mapping[str, object]:
    from prefect.blocks.system import Secret
    try:
        value = Secret.load(name).get()
    except ValueError as e:
        raise SmtpSettingsError(f"Prefect Secret block {name!r} could not be loaded: {e}") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SmtpSettingsError(f"Prefect Secret block {name!r}: its value must be a JSON object") from None
    if not isinstance(value, dict):
        raise SmtpSettingsError(f"Prefect Secret block {name!r}: its value must be a JSON object")
    return value


# ---- composing ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class InlineImage:
    cid: str                 # without angle brackets; the HTML refers to it as cid:<this>
    png: bytes
    filename: str


def message_id_for(key: str, mail_from: str, kind: str = "report") -> str:
    """`<kind.key@sender's domain>`: the same for every copy of one message, so a duplicate is recognisable."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "signal-desk.invalid"
    return f"<{kind}.{key}@{domain}>"


def compose(*, report_id: str, watchlist_id: str, subject: str, mail_from: str, recipients: list[str],
            text: str, html: str, images: list[InlineImage], date: datetime) -> bytes:
    """The whole report as CRLF bytes, exactly what is stored, archived and sent."""
    return compose_message(subject=subject, mail_from=mail_from, recipients=recipients, text=text, html=html,
                           date=date, message_id=message_id_for(report_id, mail_from), images=images,
                           headers={"X-Desk-Report-Id": report_id, "X-Desk-Watchlist": watchlist_id})


def compose_message(*, subject: str, mail_from: str, recipients: list[str], text: str, html: str,
                    date: datetime, message_id: str, headers: dict[str, str],
                    images: list[InlineImage] = ()) -> bytes:
    """A desk message (reports, signal alerts) as CRLF bytes: plain text, then HTML with its images by
    Content-ID, marked auto-generated."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    html_part = msg.get_payload()[1]
    for img in images:
        html_part.add_related(img.png, maintype="image", subtype="png", cid=f"<{img.cid}>",
                              filename=img.filename, disposition="inline")
    return msg.as_bytes(policy=policy.SMTP)


def parse(eml: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(eml)


class HandOverUnknown(Exception):
    """The message went to the server but its answer to DATA was lost: it may have been delivered."""


@dataclass(slots=True)
class Delivery:
    """What the server said to one hand-over, recipient by recipient."""
    accepted: list[str] = field(default_factory=list)           # 250 to DATA: they have it
    deferred: dict[str, str] = field(default_factory=dict)      # 4xx: not now, try again later
    refused: dict[str, str] = field(default_factory=dict)       # 5xx: never, do not retry
    handed_over: bool = False      # DATA was sent (so the intent was recorded first)
    after_accept_error: str | None = None   # e.g. an error answer to QUIT: does not undo the 250


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def is_temporary(code: int) -> bool:
    return 400 <= code < 500


def send_eml(settings: SmtpSettings, eml: bytes, recipients: list[str], *,
             before_data: Callable[[list[str]], None] | None = None) -> Delivery:
    """Hand the stored bytes to the SMTP server, recipient by recipient.

    `before_data(recipients)` runs once the server has taken the envelope and before the message is
    handed over (DATA): the caller records its intent there, and if that raises nothing is sent.
    Returns who got it, who was refused for now (4xx) and who for good (5xx). Raises OSError or
    smtplib.SMTPException when the server could not be reached or refused the sender, and
    HandOverUnknown when the answer to DATA was lost."""
    cls = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    delivery = Delivery()
    smtp = cls(settings.host, settings.port, timeout=settings.timeout_s)
    try:
        if settings.starttls and not settings.ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(eml)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, reply = smtp.mail(settings.mail_from, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, settings.mail_from)
        for rcpt in recipients:
            code, reply = smtp.rcpt(rcpt)
            if code in (250, 251):
                delivery.accepted.append(rcpt)
            elif is_temporary(code):
                delivery.deferred[rcpt] = _reply(code, reply)
            else:
                delivery.refused[rcpt] = _reply(code, reply)
        if not delivery.accepted:
            smtp.rset()
            return delivery
        if before_data is not None:
            before_data(list(delivery.accepted))
        delivery.handed_over = True
        try:
            code, reply = smtp.data(eml)
        except smtplib.SMTPDataError as e:      # DATA itself refused (no 354): the message was not sent
            code, reply = e.smtp_code, e.smtp_error
        except (OSError, smtplib.SMTPException) as e:
            raise HandOverUnknown(f"{type(e).__name__}: {e or 'no detail'}") from e
        if code != 250:
            answer = _reply(code, reply)
            into = delivery.deferred if is_temporary(code) else delivery.refused
            into.update({rcpt: answer for rcpt in delivery.accepted})
            delivery.accepted = []
    finally:
        # The server's 250 to DATA is what counts: an error to QUIT, or a dropped line, after it changes nothing.
        try:
            code, reply = smtp.docmd("QUIT")
            if code != 221 and delivery.accepted:
                delivery.after_accept_error = f"QUIT answered {_reply(code, reply)}"
        except (OSError, smtplib.SMTPException) as e:
            if delivery.accepted:
                delivery.after_accept_error = f"QUIT failed: {type(e).__name__}: {e}"
        smtp.close()
    return delivery


# ---- saving for a browser -------------------------------------------------------------------------

def save_message(eml: bytes, directory: Path | str, stem: str) -> Path:
    """Write <stem>.eml and <stem>.html beside the message's inline images (<stem>-<n>.png), the
    HTML pointing at those files instead of cid: so a browser shows the charts. Returns the .html path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.eml").write_bytes(eml)
    msg = parse(eml)
    html_part = msg.get_body(preferencelist=("html",))
    if html_part is None:
        raise ValueError(f"{stem}.eml has no HTML part")
    html = html_part.get_content()
    n = 0
    for part in msg.walk():
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        if part.get_content_maintype() == "image" and cid:
            n += 1
            name = f"{stem}-{n}.{part.get_content_subtype()}"
            (directory / name).write_bytes(part.get_content())
            html = re.sub(rf'(["\'])cid:{re.escape(cid)}\1', rf"\g<1>{name}\g<1>", html)
    path = directory / f"{stem}.html"
    path.write_text(html, encoding="utf-8")
    return path
