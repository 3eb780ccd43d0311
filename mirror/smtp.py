"""A real SMTP server on 127.0.0.1 (aiosmtpd) that saves every message it receives as .eml.

Used by the tests and the demo to receive watch-list reports and signal alerts:

    with LocalSmtpServer(folder) as smtp, smtp.as_desk_mail():
        ...            # the desk's mail settings (DESK_SMTP_*, DESK_MAIL_FROM) point at this server
        smtp.received  # the saved messages, oldest first

`refuse_with="451 4.3.0 try again later"` makes it answer every message with that reply instead
(a server that is up but not accepting mail).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from aiosmtpd.controller import Controller

from mirror.environ import environment


# Every variable signal_desk/report/mail.py reads its SMTP settings from.
DESK_MAIL_ENV = ("DESK_SMTP_BLOCK", "DESK_SMTP_HOST", "DESK_SMTP_PORT", "DESK_SMTP_STARTTLS", "DESK_SMTP_SSL",
                 "DESK_SMTP_USER", "DESK_SMTP_PASSWORD", "DESK_SMTP_TIMEOUT", "DESK_MAIL_FROM")
MAIL_FROM = "Signal desk <desk@signal-desk.example>"


@dataclass(frozen=True, slots=True)
class Received:
    path: Path
    mail_from: str
    rcpt_tos: tuple[str, ...]

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


class _SavingHandler:
    def __init__(self, folder: Path, refuse_with: str | None):
        self.folder, self.refuse_with = folder, refuse_with
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        with self._lock:
            path = self.folder / f"{len(self.received) + 1:04d}.eml"
            path.write_bytes(envelope.original_content or envelope.content)
            self.received.append(Received(path, envelope.mail_from, tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class _AnyPortController(Controller):
    """Controller that can bind port 0 (the OS picks a free port) and learn which port it got."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class LocalSmtpServer:
    def __init__(self, folder: Path | str, *, port: int = 0, refuse_with: str | None = None,
                 host: str = "127.0.0.1"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._handler = _SavingHandler(self.folder, refuse_with)
        self._controller = _AnyPortController(self._handler, hostname=host, port=port)
        self.host = host

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def received(self) -> list[Received]:
        return list(self._handler.received)

    def desk_settings(self) -> dict[str, str]:
        """The environment that sends the desk's mail here: no block, no login, no TLS (every variable of
        DESK_MAIL_ENV, so that it also overrides settings inherited from the parent environment)."""
        return dict(DESK_SMTP_BLOCK="", DESK_SMTP_HOST=self.host, DESK_SMTP_PORT=str(self.port),
                    DESK_SMTP_STARTTLS="false", DESK_SMTP_SSL="false", DESK_SMTP_USER="", DESK_SMTP_PASSWORD="",
                    DESK_SMTP_TIMEOUT="10", DESK_MAIL_FROM=MAIL_FROM)

    @contextmanager
    def as_desk_mail(self) -> Iterator["LocalSmtpServer"]:
        """For the block, the desk's mail settings are this server's (any other SMTP variable unset);
        the environment is restored after."""
        with environment(self.desk_settings()):
            yield self

    def start(self) -> "LocalSmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "LocalSmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    import argparse
    import time
    ap = argparse.ArgumentParser(description="Receive mail on 127.0.0.1 and save each message as .eml")
    ap.add_argument("--port", type=int, default=8025)
    ap.add_argument("--folder", default="var/inbox")
    args = ap.parse_args(argv)
    with LocalSmtpServer(args.folder, port=args.port) as smtp:
        print(f"SMTP on {smtp.host}:{smtp.port}, saving to {smtp.folder} (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
