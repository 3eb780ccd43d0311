"""Progress of long work: plain numbered lines in a log, a bar on a real terminal (a pseudo-terminal here)."""
from __future__ import annotations

import io
import os
import pty
import threading

from signal_desk.progress import Steps


def test_a_log_gets_one_plain_line_per_step_with_its_number():
    log = io.StringIO()
    with Steps(3, "demo run", stream=log) as steps:
        for hour in ("19:05", "20:05", "21:05"):
            steps.start(hour)
            steps.done(f"28 Jun {hour} UTC  12 new")
    assert log.getvalue().splitlines() == ["demo run 1/3: 28 Jun 19:05 UTC  12 new",
                                           "demo run 2/3: 28 Jun 20:05 UTC  12 new",
                                           "demo run 3/3: 28 Jun 21:05 UTC  12 new"]
    assert "\x1b" not in log.getvalue()          # no cursor or colour codes in a log


def test_a_terminal_gets_a_bar_that_ends_full():
    master, slave = pty.openpty()
    received = bytearray()

    def read_all() -> None:                      # drain the terminal while writing, so the writer never blocks
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:                      # the other end closed
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    terminal = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    try:
        with Steps(2, "bench section", stream=terminal) as steps:
            steps.start("parse")
            steps.done("parse done in 3 s")
            steps.start("meaning")
            steps.done("meaning done in 5 s")
    finally:
        terminal.close()
        reader.join(timeout=10)
        os.close(master)
    shown = received.decode("utf-8", errors="replace")
    assert "\x1b[" in shown                      # drawn with terminal codes
    assert "━" in shown                          # the bar
    assert "2/2" in shown                        # and its count when done
    assert "bench section 2/2: meaning done in 5 s" in shown   # the step lines still appear above it
