"""Report delivery against a real SMTP server on 127.0.0.1 that misbehaves on purpose: an error answer to
QUIT after it accepted the message, a temporary or permanent refusal of one recipient, an outage, and the
desk's database locked by a second process right after the server's 250.

Each case counts the copies every recipient got (reports double-sent: copies beyond one per recipient)
and reads what the ledger (`reports`, `report_attempts`) and the Prefect state say. The database is a
copy of the demo's (conftest's demo_db); the watch list has two recipients.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest

from mirror.smtp import _AnyPortController
from signal_desk import db
from tests.reliability_table import record_outcome
from tests.test_report_send import (RECIPIENTS, WATCHLIST, desk_db, failing_report_run,  # noqa: F401 (fixture)
                                    ledger_row, point_at, run_report, the_report_id)

pytestmark = pytest.mark.slow

AREA = "report delivery"
DESK, ANALYST = RECIPIENTS


class ScriptedSmtpHandler:
    """Accepts mail like a real server, with scripted answers: `rcpt_replies[address]` is a list of replies
    to RCPT TO for that address, used up one per attempt (then 250); `data_replies` likewise for DATA;
    `quit_reply` answers QUIT; `on_accept()` runs after the message is stored, before the 250 goes out."""

    def __init__(self):
        self.rcpt_replies: dict[str, list[str]] = {}
        self.data_replies: list[str] = []
        self.quit_reply = "221 Bye"
        self.on_accept = None
        self.received: list[tuple[tuple[str, ...], bytes]] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        scripted = self.rcpt_replies.get(address)
        if scripted:
            return scripted.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        with self._lock:
            self.received.append((tuple(envelope.rcpt_tos), envelope.original_content or envelope.content))
        if self.on_accept:
            self.on_accept()
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_reply

    def copies(self) -> Counter:
        """Copies received per recipient."""
        return Counter(rcpt for rcpts, _ in self.received for rcpt in rcpts)

    def message_ids(self) -> set[str]:
        from signal_desk.report.mail import parse
        return {parse(data)["Message-ID"] for _, data in self.received}


@pytest.fixture
def smtp(monkeypatch):
    handler = ScriptedSmtpHandler()
    controller = _AnyPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    point_at(monkeypatch, controller.port)
    yield handler
    controller.stop()


def extra_copies(copies: Counter) -> int:
    return sum(max(n - 1, 0) for n in copies.values())


def attempts(desk_db, report_id: str) -> list[dict]:
    con = db.connect(desk_db, read_only=True)
    try:
        cur = con.execute("""
            select outcome, ok, message_id, recipients, accepted, deferred, refused, possible_duplicate, error
            from report_attempts where report_id = ? order by attempted_at""", [report_id])
        return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]
    finally:
        con.close()


def expire_leases(desk_db) -> None:
    """Stands in for the claim lease running out (DESK_REPORT_LEASE_S, ten minutes by default)."""
    with db.writer(desk_db) as con:
        con.execute("update reports set claimed_until = ? where claimed_until is not null",
                    [db.utcnow() - timedelta(seconds=1)])


def test_an_error_answer_to_quit_after_the_250_does_not_send_the_report_again(desk_db, smtp, tmp_path):
    smtp.quit_reply = "500 5.0.0 internal error closing the session"
    results = [run_report(desk_db, tmp_path) for _ in range(4)]
    copies = smtp.copies()
    row = ledger_row(desk_db, results[0]["report_id"])
    record_outcome(AREA, "500 to QUIT after 250 to DATA, four runs", lost=None, duplicates=None,
                   double_sent=extra_copies(copies),
                   outcome=f"{len(smtp.received)} copies in 4 runs; ledger {row['status']} after "
                           f"{row['attempts']} attempt(s); runs sent {[r['sent'] for r in results]}")
    assert len(smtp.received) == 1 and copies == Counter({DESK: 1, ANALYST: 1})
    assert row["status"] == "sent" and row["attempts"] == 1
    assert "QUIT answered 500" in row["last_error"]       # kept as a note, not as a failure


def test_a_recipient_refused_for_now_gets_the_report_by_a_retry_and_nobody_gets_two(
        desk_db, smtp, tmp_path, monkeypatch):
    # 450 to the analyst on the run's first try and its one retry; the next run's try passes
    smtp.rcpt_replies[ANALYST] = ["450 4.2.1 mailbox busy, try later"] * 2
    state, error = failing_report_run(desk_db, tmp_path)
    report_id = the_report_id()
    after_first_run = smtp.copies()
    row_between = ledger_row(desk_db, report_id)
    later = run_report(desk_db, tmp_path)
    copies = smtp.copies()
    row = ledger_row(desk_db, report_id)
    record_outcome(AREA, "450 to one recipient (longer than the run's retries)", lost=None, duplicates=None,
                   double_sent=extra_copies(copies),
                   outcome=f"run 1 {state}: {error}; copies after it {dict(after_first_run)}; next run sent "
                           f"{later['sent']}; copies {dict(copies)}; ledger {row['status']}")
    assert state == "FAILED" and ANALYST in error and "450" in error
    assert after_first_run == Counter({DESK: 1}) and row_between["status"] == "pending"
    assert later["sent"] == [report_id] and copies == Counter({DESK: 1, ANALYST: 1})
    assert row["status"] == "sent"
    assert [a["accepted"] for a in attempts(desk_db, report_id)] == [[DESK], [], [ANALYST]]


def test_a_recipient_refused_for_good_is_reported_and_not_retried(desk_db, smtp, tmp_path):
    smtp.rcpt_replies[ANALYST] = ["550 5.1.1 no such user"] * 10
    state, error = failing_report_run(desk_db, tmp_path)
    report_id = the_report_id()
    again = run_report(desk_db, tmp_path)
    copies = smtp.copies()
    row = ledger_row(desk_db, report_id)
    record_outcome(AREA, "550 to one recipient", lost=None, duplicates=None, double_sent=extra_copies(copies),
                   outcome=f"run {state}: {error}; copies {dict(copies)}; ledger {row['status']}; "
                           f"the next run sent {again['sent']}")
    assert state == "FAILED" and f"refused for good by the server for {ANALYST} (550 5.1.1 no such user)" in error
    assert copies == Counter({DESK: 1}) and row["status"] == "sent"
    assert again["sent"] == [] and again["pending"] == [] and len(smtp.rcpt_replies[ANALYST]) == 9   # asked once


def test_a_short_outage_is_ridden_out_by_the_runs_own_retry(desk_db, smtp, tmp_path):
    smtp.data_replies = ["451 4.3.0 local problem, try again later"]
    result = run_report(desk_db, tmp_path)
    row = ledger_row(desk_db, result["report_id"])
    record_outcome(AREA, "451 to DATA once (a short outage)", lost=None, duplicates=None,
                   double_sent=extra_copies(smtp.copies()),
                   outcome=f"run completed, report {result['status']} after {row['attempts']} attempt(s) "
                           f"within the run; copies {dict(smtp.copies())}")
    assert result["status"] == "sent" and row["attempts"] == 2
    assert smtp.copies() == Counter({DESK: 1, ANALYST: 1})


def test_an_outage_for_the_whole_run_fails_it_in_prefect(desk_db, tmp_path, monkeypatch):
    from tests.test_report_send import closed_port
    point_at(monkeypatch, closed_port())
    state, error = failing_report_run(desk_db, tmp_path)
    row = ledger_row(desk_db, the_report_id())
    record_outcome(AREA, "SMTP server down for the whole run", lost=None, duplicates=None, double_sent=0,
                   outcome=f"run {state} after {row['attempts']} attempts: {error}; ledger {row['status']}")
    assert state == "FAILED" and "still pending" in error and "Connection" in error
    assert row["status"] == "pending" and row["attempts"] == 2          # the first try and the run's retry


LOCK_HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])          # a second process's write connection: DuckDB's file lock
print("locked", flush=True)
sys.stdin.readline()                       # held until the test says so (or the test's end closes stdin)
con.close()
"""


class DatabaseLocker:
    """A second process that opens the desk's database for writing, so holds its lock, when told to."""

    def __init__(self, path):
        self.path, self.proc = str(path), None

    def lock(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, self.path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "locked":
            raise RuntimeError(f"the lock holder did not get the lock: {line!r}")

    def release(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
            self.proc = None


def test_a_delivery_the_locked_database_could_not_record_leaves_its_trace_and_a_marked_copy(
        desk_db, smtp, tmp_path, monkeypatch):
    monkeypatch.setenv("DESK_DB_LOCK_WAIT_S", "2")   # instead of 120 s
    monkeypatch.setenv("DESK_SMTP_TIMEOUT", "60")        # the server holds its 250 while the lock is taken
    locker = DatabaseLocker(desk_db)
    smtp.on_accept = locker.lock                          # locked right before the server's 250
    try:
        state, error = failing_report_run(desk_db, tmp_path)
    finally:
        smtp.on_accept = None
        locker.release()
    report_id = the_report_id()
    trace = attempts(desk_db, report_id)
    row_after_lock = ledger_row(desk_db, report_id)

    rerun = run_report(desk_db, tmp_path)                 # at once: inside the lease
    copies_inside_lease = len(smtp.received)
    expire_leases(desk_db)
    after_lease = run_report(desk_db, tmp_path)
    final = attempts(desk_db, report_id)
    copies = smtp.copies()
    record_outcome(AREA, "database locked (second process) right after the server's 250", lost=None,
                   duplicates=None, double_sent=extra_copies(copies),
                   outcome=f"run {state}: {error}; recorded before DATA: {[a['outcome'] for a in trace]}; "
                           f"rerun inside the lease sent {copies_inside_lease - 1}: {rerun['waiting'].get(report_id)}; "
                           f"after the lease: sent {after_lease['sent']}, possible duplicates "
                           f"{after_lease['possible_duplicates']}; copies {dict(copies)}, "
                           f"{len(smtp.message_ids())} Message-ID")
    # the failed run: the intent (Message-ID, recipients) was written before DATA and survives
    assert state == "FAILED" and "handed over but not recorded" in error and "could not record" in error
    assert [(a["outcome"], a["recipients"]) for a in trace] == [("sending", RECIPIENTS)]
    assert trace[0]["message_id"] == f"<report.{report_id}@signal-desk.example>"
    assert row_after_lock["status"] == "pending"
    # a rerun inside the lease sends nothing and says what it waits for
    assert copies_inside_lease == 1 and rerun["status"] == "pending"
    waiting = rerun["waiting"][report_id]
    assert "waiting for that sender" in waiting and "no recorded outcome" in waiting
    assert "possible duplicate" in waiting
    # after the lease: one more copy, the same message, marked as a possible duplicate
    assert after_lease["sent"] == [report_id] and after_lease["possible_duplicates"] == [report_id]
    assert [(a["outcome"], a["possible_duplicate"]) for a in final] == [("unknown", False), ("delivered", True)]
    assert copies == Counter({DESK: 2, ANALYST: 2}) and len(smtp.message_ids()) == 1
