"""Sending the demo's report to a real SMTP server on 127.0.0.1, exactly once, through outages.

The database is a copy of the demo's (conftest's demo_db, replayed through the real pipeline)."""
from __future__ import annotations

import socket
from datetime import timedelta
from email.message import EmailMessage

import pytest

from mirror.smtp import LocalSmtpServer
from signal_desk import db
from tests.test_report import (DEMO_CONFIG, REPORT_END, copy_db, parse_html, script_post,
                               with_post_in_timeline)

pytestmark = pytest.mark.slow

WATCHLIST = "us-iran-talks"
RECIPIENTS = ["desk@example.org", "analyst@example.org"]   # config/demo/watchlists.yaml


@pytest.fixture
def desk_db(demo_db, tmp_path):
    return copy_db(demo_db, tmp_path)


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    with LocalSmtpServer(tmp_path / "inbox") as server:
        point_at(monkeypatch, server.port)
        yield server


def point_at(monkeypatch, port: int) -> None:
    monkeypatch.delenv("DESK_SMTP_BLOCK", raising=False)
    monkeypatch.setenv("DESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DESK_SMTP_PORT", str(port))
    monkeypatch.setenv("DESK_SMTP_STARTTLS", "false")
    monkeypatch.setenv("DESK_SMTP_TIMEOUT", "5")
    monkeypatch.setenv("DESK_MAIL_FROM", "Signal desk <desk@signal-desk.example>")
    monkeypatch.setenv("DESK_REPORT_RETRIES", "1")          # one quick retry within the run
    monkeypatch.setenv("DESK_REPORT_RETRY_DELAY_S", "0.05")
    for name in ("DESK_SMTP_USER", "DESK_SMTP_PASSWORD", "DESK_SMTP_SSL"):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_report(desk_db, tmp_path, as_of=REPORT_END) -> dict:
    from flows.report import report
    return report(WATCHLIST, config_dir=str(DEMO_CONFIG), db_path=str(desk_db), as_of=as_of,
                  archive_dir=str(tmp_path / "archive"))


def failing_report_run(desk_db, tmp_path, as_of=REPORT_END) -> tuple[str, str]:
    """A run that must fail in Prefect: (its state's type, its error message)."""
    from flows.report import report
    state = report(WATCHLIST, config_dir=str(DEMO_CONFIG), db_path=str(desk_db), as_of=as_of,
                   archive_dir=str(tmp_path / "archive"), return_state=True)
    error = state.result(raise_on_failure=False)
    return state.type.value, str(error)


def the_report_id(as_of=REPORT_END) -> str:
    from signal_desk.report.build import report_id_for
    return report_id_for(WATCHLIST, as_of)


def ledger_row(desk_db, report_id: str) -> dict:
    con = db.connect(desk_db, read_only=True)
    try:
        cur = con.execute("select status, attempts, last_error, sent_at from reports where report_id = ?",
                          [report_id])
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))
    finally:
        con.close()


def parts(msg: EmailMessage) -> dict:
    html_part = msg.get_body(preferencelist=("html",))
    text_part = msg.get_body(preferencelist=("plain",))
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    images = [p for p in related[0].iter_parts() if p.get_content_maintype() == "image"] if related else []
    return dict(html=html_part.get_content(), text=text_part.get_content(), images=images)


def test_the_report_arrives_with_both_parts_its_chart_and_the_demo_facts(desk_db, smtp, tmp_path):
    from signal_desk.report.mail import parse
    result = run_report(desk_db, tmp_path)
    assert result["sent"] == [result["report_id"]] and result["pending"] == [] and result["status"] == "sent"
    [received] = smtp.received
    assert sorted(received.rcpt_tos) == sorted(RECIPIENTS)
    msg = parse(received.data)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "multipart/related"]
    assert msg["Message-ID"] == f"<report.{result['report_id']}@signal-desk.example>"
    assert msg["Subject"].startswith("US–Iran technical talks")
    p = parts(msg)

    # the chart: a PNG attached inline and referenced by its Content-ID
    assert p["images"], "no inline image"
    for img in p["images"]:
        assert img.get_content_type() == "image/png" and img.get_content()[:4] == b"\x89PNG"
        assert img.get_content_disposition() == "inline"
        cid = img["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in p["html"]
    assert "<script" not in p["html"].lower()

    shown = "".join(parse_html(p["html"]).text)
    for body in (shown, p["text"]):
        # the timeline rows with their times (UTC), per the demo facts
        assert "28 Jun 20:10 UTC" in body and "Reuters" in body
        assert "28 Jun 20:46 UTC" in body and "Sprinter Press" in body
        assert "28 Jun 21:46 UTC" in body and "28 Jun 21:47 UTC" in body and "Al-Alam Arabic" in body
        assert "29 Jun 00:20 UTC" in body
        # the contradiction: Tehran's "did not attend" against the US official's "on track"
        assert "CONTRADICTED BY" in body and "on track" in body
        # the 20% blockade odds
        assert "US announces new blockade of Iran by July 31?" in body and "20%" in body
        # the signals, each with its status
        assert "Whether Iran sends representatives to the next proposed technical session" in body
        assert "Any explicit linkage by Tehran between attending talks and specific US or Israeli military" in body
    assert "SEEN" in shown and "NOT SEEN" in shown
    assert "[SEEN]" in p["text"] and "[not seen]" in p["text"]

    # kept: in the ledger, and archived as HTML and .eml
    assert ledger_row(desk_db, result["report_id"])["status"] == "sent"
    archive = tmp_path / "archive" / WATCHLIST
    assert (archive / f"{result['report_id']}.eml").read_bytes() == received.data
    assert (archive / f"{result['report_id']}.html").exists()
    assert list(archive.glob("*.png"))


def snapshot_row(desk_db, report_id: str) -> dict | None:
    """The report as analysts see it: in the published snapshot, never the live file."""
    con = db.connect(db.snapshot_path(desk_db), read_only=True)
    try:
        cur = con.execute("select status, attempts, sent_at from reports where report_id = ?", [report_id])
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row)) if row else None
    finally:
        con.close()


def test_analysts_see_the_report_sent_in_the_snapshot(desk_db, smtp, tmp_path):
    """Regression: the report flow did not publish the snapshot, so analysts saw a sent report as pending
    (or not at all) until the next hourly run published one."""
    db.publish_snapshot(desk_db)                        # what the last hourly run left for analysts
    assert snapshot_row(desk_db, the_report_id()) is None
    result = run_report(desk_db, tmp_path)
    assert result["status"] == "sent" and len(smtp.received) == 1
    seen = snapshot_row(desk_db, result["report_id"])
    assert seen is not None and seen["status"] == "sent" and seen["attempts"] == 1 and seen["sent_at"] is not None


def test_a_second_run_sends_nothing(desk_db, smtp, tmp_path):
    first = run_report(desk_db, tmp_path)
    second = run_report(desk_db, tmp_path)
    assert first["built"] and not second["built"]
    assert second["report_id"] == first["report_id"]
    assert second["sent"] == [] and second["pending"] == []
    assert len(smtp.received) == 1
    assert ledger_row(desk_db, first["report_id"])["attempts"] == 1


def test_an_smtp_outage_delays_the_report_and_the_next_run_sends_it(desk_db, tmp_path, monkeypatch):
    point_at(monkeypatch, closed_port())
    state, error = failing_report_run(desk_db, tmp_path)
    down = dict(report_id=the_report_id())
    assert state == "FAILED" and f"report {down['report_id']} still pending" in error
    row = ledger_row(desk_db, down["report_id"])
    # the first try and the run's one retry, both recorded
    assert row["status"] == "pending" and row["attempts"] == 2 and "Connection" in row["last_error"]
    assert (tmp_path / "archive" / WATCHLIST / f"{down['report_id']}.eml").exists()   # kept meanwhile
    # analysts see it waiting, not missing
    assert snapshot_row(desk_db, down["report_id"])["status"] == "pending"

    later = REPORT_END + timedelta(days=1)
    with LocalSmtpServer(tmp_path / "inbox") as server:
        point_at(monkeypatch, server.port)
        up = run_report(desk_db, tmp_path, as_of=later)
    assert up["delayed"] == [down["report_id"]]
    assert up["sent"] == [down["report_id"], up["report_id"]]
    from signal_desk.report.mail import parse
    ids = [parse(m.data)["X-Desk-Report-Id"] for m in server.received]
    assert ids == [down["report_id"], up["report_id"]]
    row = ledger_row(desk_db, down["report_id"])
    assert row["status"] == "sent" and row["attempts"] == 3
    # the next report knows what the delayed one already said
    assert "Changes since the last report (01 Jul 18:05 UTC)" in parts(parse(server.received[1].data))["text"]


def test_a_server_answering_try_later_keeps_the_report_pending_and_fails_the_run(desk_db, tmp_path, monkeypatch):
    with LocalSmtpServer(tmp_path / "inbox", refuse_with="451 4.3.0 mailbox busy, try later") as server:
        point_at(monkeypatch, server.port)
        state, error = failing_report_run(desk_db, tmp_path)
    assert state == "FAILED" and "451" in error and server.received == []
    row = ledger_row(desk_db, the_report_id())
    assert row["status"] == "pending" and "451" in row["last_error"]


def test_a_post_with_script_tags_arrives_as_text(desk_db, demo_db, smtp):
    from signal_desk.report.message import render_email
    from signal_desk.report.schedule import load_watchlist
    from signal_desk.report.build import build_report
    from signal_desk.report.mail import parse, send_eml, smtp_settings
    con = db.connect(desk_db, read_only=True)
    try:
        built = build_report(con, load_watchlist(DEMO_CONFIG, WATCHLIST), REPORT_END)
    finally:
        con.close()
    report = with_post_in_timeline(built, script_post(demo_db))
    _, _, eml = render_email(report, "desk@signal-desk.example")
    send_eml(smtp_settings(), eml, list(report.recipients))
    p = parts(parse(smtp.received[0].data))
    parsed = parse_html(p["html"])
    assert "script" not in [t for t, _ in parsed.tags]
    assert not [a for t, a in parsed.tags if t == "img" and not a.get("src", "").startswith("cid:")]
    assert "<script>alert(1)</script>" in "".join(parsed.text)
    assert "<script>alert(1)</script>" in p["text"]


def test_smtp_settings_from_a_prefect_secret_block(monkeypatch):
    from prefect.blocks.system import Secret
    from prefect.testing.utilities import prefect_test_harness
    from signal_desk.report.mail import SmtpSettingsError, smtp_settings
    with prefect_test_harness():
        Secret(value={"host": "smtp.example.org", "port": 587, "user": "desk", "password": "s3cret-pw",
                      "starttls": True, "mail_from": "Signal desk <desk@example.org>"}).save("desk-smtp")
        Secret(value="not json").save("desk-smtp-broken")
        s = smtp_settings({"DESK_SMTP_BLOCK": "desk-smtp", "DESK_SMTP_HOST": "ignored.example.org"})
        with pytest.raises(SmtpSettingsError, match="desk-smtp-broken"):
            smtp_settings({"DESK_SMTP_BLOCK": "desk-smtp-broken"})
    assert (s.host, s.port, s.user, s.password, s.starttls) == ("smtp.example.org", 587, "desk", "s3cret-pw", True)
    assert "s3cret-pw" not in repr(s)


def test_the_report_flow_and_its_tasks_have_time_bounds():
    from flows.report import report
    from tasks.report import archive_task, build_task, send_task
    bounds = {f.name: f.timeout_seconds for f in (report, build_task, archive_task, send_task)}
    assert all(bounds.values()), bounds
    # the run as a whole outlasts any one step, so a hung step fails as that step
    assert bounds["report"] > max(bounds["build-report"], bounds["send-pending-reports"])
