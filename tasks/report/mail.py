"""The report as an email (multipart/alternative: plain text, then HTML with its charts by Content-ID),
SMTP settings from the environment or a Prefect Secret block, and sending with a timeout.

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
from typing import Mapping

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


def message_id_for(report_id: str, mail_from: str) -> str:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "signal-desk.invalid"
    return f"<report.{report_id}@{domain}>"


def compose(*, report_id: str, watchlist_id: str, subject: str, mail_from: str, recipients: list[str],
            text: str, html: str, images: list[InlineImage], date: datetime) -> bytes:
    """The whole message as CRLF bytes, exactly what is stored, archived and sent."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id_for(report_id, mail_from)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Desk-Report-Id"] = report_id
    msg["X-Desk-Watchlist"] = watchlist_id
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    html_part = msg.get_payload()[1]
    for img in images:
        html_part.add_related(img.png, maintype="image", subtype="png", cid=f"<{img.cid}>",
                              filename=img.filename, disposition="inline")
    return msg.as_bytes(policy=policy.SMTP)


def parse(eml: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(eml)


def send_eml(settings: SmtpSettings, eml: bytes, recipients: list[str]) -> dict[str, str]:
    """Hand the stored bytes to the SMTP server. Returns the recipients it refused (others got it);
    raises OSError or smtplib.SMTPException when nobody got it."""
    cls = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    with cls(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls and not settings.ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        refused = smtp.sendmail(settings.mail_from, recipients, eml)
    return {rcpt: f"{code} {reply.decode('utf-8', 'replace')}" for rcpt, (code, reply) in refused.items()}


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
