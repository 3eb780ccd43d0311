"""Signal alerts from the hourly run, end to end: the demo's hours replayed through the real mirror and
flows into real DuckDB files, alerts received by a real SMTP server and a webhook receiver on 127.0.0.1.

The demo's talks watch list has its alerts on and a talks-suspended signal (the claim the 21:05 UTC run
of 28 June first sees: Reuters 20:10, Al-Alam 20:24, BBC Persian 20:41; Sprinter Press 20:46 relays
Reuters). desk@ hears from `seen` on, analyst@ from `corroborated` on (config/demo/watchlists.yaml)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from mirror.scenario import load_scenario
from mirror.scenario_types import Outlet, Post, Scenario
from mirror.server import MirrorServer
from mirror.smtp import LocalSmtpServer
from signal_desk import db
from signal_desk.config import check_config
from tests.conftest import DEMO_ALERTS_INBOX
from tests.pipeline_helpers import T0, query
from tests.reliability_table import record_outcome
from tests.test_reliability_crash import prefect_api  # noqa: F401 (fixture: one Prefect API for the subprocess)
from tests.test_report import demo_ids, id_tokens, parse_html

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo"
TALKS = "us-iran-talks"
DESK, ANALYST = "desk@example.org", "analyst@example.org"
SUSPENDED = "talks-suspended"
SUSPENDED_TITLE = "Iran cancels, suspends or stays away from the technical talks with the US"
HOURS = load_scenario("iran_talks").run_times
FIRST_SEEN = HOURS[2]                   # 28 June 21:05 UTC
WEBHOOK_ENV = "DESK_TEST_ALERT_WEBHOOK"
AREA = "signal alert delivery"


# ---- the demo, with alerts on -------------------------------------------------------------------

def webhook_config(folder: Path) -> Path:
    """config/demo with a webhook beside the talks watch list's email alerts, its URL in WEBHOOK_ENV."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO_CONFIG / "sources.yaml", folder / "sources.yaml")
    data = yaml.safe_load((DEMO_CONFIG / "watchlists.yaml").read_text(encoding="utf-8"))
    talks = next(wl for wl in data["watchlists"] if wl["id"] == TALKS)
    talks["alerts"]["webhook"] = {"url_env": WEBHOOK_ENV}
    (folder / "watchlists.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                                            encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorServer]:
    with MirrorServer(load_scenario("iran_talks")) as server, pytest.MonkeyPatch.context() as env:
        env.setenv("MIRROR_URL", server.base_url)
        yield server


def run_hour(mirror: MirrorServer, config: Path, path: Path, as_of, politeness: str = "mirror"):
    """One hourly run at the demo's clock: (its final state, its result or error)."""
    from flows.hourly import hourly
    mirror.set_clock(as_of)
    state = hourly(config_dir=str(config), db_path=str(path), as_of=as_of, politeness=politeness,
                   return_state=True)
    return state, state.result(raise_on_failure=False)


@pytest.fixture(scope="module")
def before_first_seen(tmp_path_factory, mirror) -> dict:
    """The demo's hours before talks-suspended is seen, with alerts on: the database they leave."""
    tmp = tmp_path_factory.mktemp("alerts-demo")
    config = DEMO_CONFIG
    path = tmp / "desk.duckdb"
    with LocalSmtpServer(tmp / "inbox") as smtp, smtp.as_desk_mail():
        for as_of in HOURS[:2]:
            state, _ = run_hour(mirror, config, path, as_of)
            assert state.is_completed(), state.message
        received = smtp.received
    return dict(config=config, db=path, received=received)


def copy_of(before: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(before["db"], folder / "desk.duckdb"))


def artifact_markdown(state, key: str = "hourly-run-summary") -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    return found[0].data


@pytest.fixture(scope="module")
def first_seen(tmp_path_factory, mirror, before_first_seen) -> dict:
    """The 21:05 run on a copy of that database, and then the same hour again."""
    tmp = tmp_path_factory.mktemp("alerts-first-seen")
    path = copy_of(before_first_seen, tmp)
    config = before_first_seen["config"]
    with LocalSmtpServer(tmp / "inbox") as smtp, smtp.as_desk_mail():
        state, result = run_hour(mirror, config, path, FIRST_SEEN)
        first = smtp.received
        rows_after_first = alert_rows(path, FIRST_SEEN)
        again_state, again = run_hour(mirror, config, path, FIRST_SEEN)
        both = smtp.received
    return dict(db=path, state=state, result=result, received=first, rows=rows_after_first,
                again_state=again_state, again=again, received_again=both[len(first):],
                rows_again=alert_rows(path, FIRST_SEEN))


def alert_rows(path: Path, changed_at=None) -> list[dict]:
    """The alerts table (of the changes one run saw, when given its clock)."""
    con = db.connect(path, read_only=True)
    try:
        cur = con.execute("""
            select alert_id, signal_id, from_level, to_level, channel, recipient, status, attempts, message_id,
                   attempted_at, finished_at, sent_at, last_error, batched_into, changed_at
            from alerts where changed_at = coalesce(?, changed_at)
            order by changed_at, signal_id, channel, recipient""", [changed_at])
        return [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    finally:
        con.close()


def level_of(path: Path, signal_id: str) -> str:
    con = db.connect(path, read_only=True)
    try:
        return con.execute("select level from mart_signal_status where watchlist_id = ? and signal_id = ?",
                           [TALKS, signal_id]).fetchone()[0]
    finally:
        con.close()


def messages(received) -> list[tuple[tuple[str, ...], EmailMessage]]:
    from signal_desk.report.mail import parse
    return [(r.rcpt_tos, parse(r.data)) for r in received]


def about(received, title: str) -> list[tuple[tuple[str, ...], EmailMessage]]:
    return [(rcpts, msg) for rcpts, msg in messages(received) if title in msg["Subject"]]


def parts(msg: EmailMessage) -> tuple[str, str]:
    """(plain text, the text the HTML part shows)."""
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return text, "".join(parse_html(html).text)


def without_links(text: str) -> str:
    return re.sub(r"https?://\S+", " ", text)


# ---- the hour talks-suspended is first seen -------------------------------------------------------

def test_the_hour_the_signal_is_first_seen_sends_one_alert_to_each_opted_in_recipient(first_seen,
                                                                                     before_first_seen):
    assert level_of(before_first_seen["db"], SUSPENDED) == "not seen"
    assert level_of(first_seen["db"], SUSPENDED) == "corroborated"
    assert first_seen["state"].is_completed(), first_seen["state"].message
    assert about(before_first_seen["received"], SUSPENDED_TITLE) == []
    alerts = about(first_seen["received"], SUSPENDED_TITLE)
    assert Counter(rcpt for rcpts, _ in alerts for rcpt in rcpts) == Counter({DESK: 1, ANALYST: 1})
    rows = [r for r in first_seen["rows"] if r["signal_id"] == SUSPENDED]
    assert [(r["recipient"], r["channel"], r["from_level"], r["to_level"], r["status"], r["attempts"])
            for r in rows] == [(ANALYST, "email", "not seen", "corroborated", "sent", 1),
                               (DESK, "email", "not seen", "corroborated", "sent", 1)]
    assert {r["message_id"] for r in rows} == {msg["Message-ID"] for _, msg in alerts}


def test_the_demo_sends_it_once_to_each_opted_in_recipient_in_that_hour(demo_db):
    """`./run demo` itself: its hourly runs send their alerts to its local SMTP server."""
    from signal_desk.report.mail import parse
    received = [parse(p.read_bytes()) for p in sorted((Path(demo_db).parent / DEMO_ALERTS_INBOX).glob("*.eml"))]
    suspended = [m for m in received if SUSPENDED_TITLE in m["Subject"]]
    assert Counter(m["To"] for m in suspended) == Counter({DESK: 1, ANALYST: 1})
    con = db.connect(demo_db, read_only=True)
    try:
        rows = con.execute("""select recipient, channel, changed_at, to_level, status, message_id from alerts
                              where signal_id = ? order by recipient""", [SUSPENDED]).fetchall()
    finally:
        con.close()
    assert [r[:5] for r in rows] == [(ANALYST, "email", FIRST_SEEN, "corroborated", "sent"),
                                     (DESK, "email", FIRST_SEEN, "corroborated", "sent")]
    assert {r[5] for r in rows} == {m["Message-ID"] for m in suspended}
    # every alert the demo's runs recorded reached the server, once
    assert len(received) == len({m["Message-ID"] for m in received}) > len(suspended)


def test_the_alert_says_which_signal_which_posts_and_the_market_move_in_words(first_seen):
    [(_, msg), *_] = about(first_seen["received"], SUSPENDED_TITLE)
    assert msg["Subject"] == f"CORROBORATED, 3 outlets: {SUSPENDED_TITLE} — Reuters 28 Jun 20:10 UTC"
    assert msg.get_content_type() == "multipart/alternative"
    text, shown = parts(msg)
    for body in (text, shown):
        assert SUSPENDED_TITLE in body and "US–Iran technical talks" in body
        # the signal's description: the claim it watches for, in words
        assert "Iran cancelled, suspended or did not attend the technical talks with the United States" in body
        # the three outlets that corroborate it, first post of each, in UTC; Sprinter Press only relays Reuters
        assert "Reuters, 28 Jun 20:10 UTC" in body
        assert "Al-Alam Arabic, 28 Jun 20:24 UTC" in body
        assert "BBC Persian, 28 Jun 20:41 UTC" in body
        assert "Sprinter" not in body
        assert "an Iranian official" in body
        assert "Iran cancels participation in technical talks with the US over recent attacks" in body
        assert "إيران لن تشارك في جولة المحادثات الفنية" in body
        # the watch list's markets that moved from just before the Reuters post to the run's clock
        assert "Markets moving since 28 Jun 20:10 UTC" in body
        assert "Will the US and Iran hold technical talks before Aug 1, 2026? (Kalshi)" in body
        assert "Yes 65% → 51% (−14 pts)" in body
        assert "US announces new blockade of Iran by July 31? (Polymarket)" in body
        assert "Yes 13.5% → 20% (+6.5 pts)" in body
    assert "https://t.me/alalamarabic/" in text and "https://t.me/bbcpersian/" in text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert 'href="https://t.me/alalamarabic/' in html and "<script" not in html.lower()


def test_the_alert_shows_no_ids(first_seen):
    ids = demo_ids(first_seen["db"]) | {SUSPENDED, "not-seen"}
    for _, msg in about(first_seen["received"], SUSPENDED_TITLE):
        text, shown = parts(msg)
        for body in (msg["Subject"], without_links(text), shown):
            assert id_tokens(body, ids) == set(), body


def test_the_run_artifact_has_a_line_per_alert(first_seen):
    markdown = artifact_markdown(first_seen["state"])
    sent = [r for r in first_seen["rows"] if r["status"] == "sent"]
    assert f"**alerts**: {len(sent)}" in markdown
    for _, msg in about(first_seen["received"], SUSPENDED_TITLE):
        for rcpt in msg["To"].split(", "):
            assert f"- sent: email to {rcpt}: {msg['Subject']}" in markdown


def test_rerunning_that_hour_sends_nothing(first_seen):
    again = first_seen["received_again"]
    copies = Counter(rcpt for r in first_seen["received"] + again for rcpt in r.rcpt_tos)
    record_outcome(AREA, "the hour a signal is first seen, run twice", lost=None, duplicates=None,
                   double_sent=len(again),
                   outcome=f"first run {len(first_seen['received'])} alerts (copies {dict(sorted(copies.items()))}); "
                           f"the rerun {first_seen['again_state'].type.value}, sent {len(again)}, "
                           f"ledger unchanged: {first_seen['rows_again'] == first_seen['rows']}")
    assert first_seen["again_state"].is_completed(), first_seen["again_state"].message
    assert first_seen["received_again"] == []
    assert first_seen["again"]["alerts"]["lines"] == []
    assert first_seen["rows_again"] == first_seen["rows"]


# ---- a crash between the SMTP server's acceptance and the ledger write ---------------------------

def start_hourly(prefect_api: str, config: Path, path: Path, as_of, **env: str) -> subprocess.Popen:
    """`python -m flows.cli hourly` in a process of its own (a failpoint kills it)."""
    full = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING", **env}
    return subprocess.Popen([sys.executable, "-m", "flows.cli", "hourly", "--config", str(config), "--db", str(path),
                             "--as-of", as_of.isoformat(), "--politeness", "mirror"],
                            cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def expire_leases(path: Path) -> None:
    """Stands in for the sender's lease running out (DESK_ALERT_LEASE_S, ten minutes by default)."""
    with db.writer(path) as con:
        con.execute("update alerts set claimed_until = ? where claimed_until is not null",
                    [db.utcnow() - timedelta(seconds=1)])


def test_a_crash_between_acceptance_and_the_ledger_write_leaves_a_possibly_delivered_record(
        tmp_path, mirror, before_first_seen, prefect_api):
    path = copy_of(before_first_seen, tmp_path)
    config = before_first_seen["config"]
    mirror.set_clock(FIRST_SEEN)
    with LocalSmtpServer(tmp_path / "inbox") as smtp:
        proc = start_hourly(prefect_api, config, path, FIRST_SEEN, DESK_FAILPOINT="alert-after-accept",
                            MIRROR_URL=mirror.base_url, **smtp.desk_settings())
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == -9, f"the run was not killed at the failpoint:\n{out[-3000:]}"
        [accepted] = messages(smtp.received)
        after_crash = alert_rows(path, FIRST_SEEN)

        expire_leases(path)
        with smtp.as_desk_mail():
            state, error = run_hour(mirror, config, path, FIRST_SEEN)
        final = alert_rows(path, FIRST_SEEN)
        copies = Counter(msg["Message-ID"] for _, msg in messages(smtp.received))
    crashed = [r for r in after_crash if r["status"] == "possibly_delivered"]
    said = re.search(r"was handed over at .*?(?=; alert|$)", str(error))
    record_outcome(AREA, "SIGKILL between the SMTP server's 250 and the ledger write", lost=None, duplicates=None,
                   double_sent=sum(n - 1 for n in copies.values()),
                   outcome=f"the killed run left {[r['status'] for r in crashed]} with its Message-ID and no outcome; "
                           f"the next run {state.type.value}: \"… {said.group(0) if said else error}\"; "
                           f"{len(copies)} alerts, copies per Message-ID {sorted(copies.values())}")
    # the record says so: the intent, with the Message-ID the server took, no outcome
    assert [(r["message_id"], r["finished_at"], r["sent_at"]) for r in crashed] == [
        (accepted[1]["Message-ID"], None, None)]
    assert crashed[0]["attempted_at"] is not None
    assert all(r["status"] == "pending" for r in after_crash if r is not crashed[0])
    # the next run sends the others, not that one again, and fails so a person checks with the recipient
    assert state.is_failed() and "possibly delivered, not sent again" in str(error)
    assert crashed[0]["alert_id"] in str(error)
    [that] = [r for r in final if r["alert_id"] == crashed[0]["alert_id"]]
    assert that["status"] == "possibly_delivered" and "possibly delivered" in that["last_error"]
    assert {r["status"] for r in final if r["alert_id"] != that["alert_id"]} == {"sent"}
    assert set(copies.values()) == {1} and len(copies) == len(final)


# ---- the webhook ------------------------------------------------------------------------------

class WebhookReceiver:
    """An incoming-webhook endpoint on 127.0.0.1: answers with the scripted statuses first (then 200)
    and keeps every request it got."""

    def __init__(self, statuses: list[int] = ()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(dict(path=self.path, type=self.headers.get("Content-Type"), body=body,
                                              status=status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"busy")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, secret: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/{secret}"


def test_the_webhook_gets_each_alert_once_through_a_transient_error(tmp_path, mirror, before_first_seen):
    path = copy_of(before_first_seen, tmp_path)
    config = webhook_config(tmp_path / "config")
    secret = "hook-token-7f3a9c"
    with WebhookReceiver([503]) as hook, LocalSmtpServer(tmp_path / "inbox") as smtp, smtp.as_desk_mail(), \
            pytest.MonkeyPatch.context() as env:
        env.setenv(WEBHOOK_ENV, hook.url(secret))
        state, result = run_hour(mirror, config, path, FIRST_SEEN)
        again_state, _ = run_hour(mirror, config, path, FIRST_SEEN)
    rows = [r for r in alert_rows(path, FIRST_SEEN) if r["channel"] == "webhook"]
    delivered = [json.loads(r["body"]) for r in hook.requests if r["status"] == 200]
    record_outcome(AREA, "webhook answers 503 once, then 200; the hour run twice", lost=None, duplicates=None,
                   double_sent=len(delivered) - len(rows),
                   outcome=f"{len(hook.requests)} POSTs ({[r['status'] for r in hook.requests]}) for {len(rows)} "
                           f"alerts; ledger {[(r['status'], r['attempts']) for r in rows]}; runs "
                           f"{state.type.value}, {again_state.type.value}")
    assert state.is_completed() and again_state.is_completed(), (state.message, again_state.message)
    # one alert per change (talks-suspended and the blockade market), the first after a 503 and a retry
    assert [r["status"] for r in hook.requests] == [503] + [200] * len(rows)
    assert sorted((r["status"], r["attempts"]) for r in rows) == [("sent", 1), ("sent", 2)]
    assert all(r["type"] == "application/json" and r["path"].endswith(secret) for r in hook.requests)
    [suspended] = [d["text"] for d in delivered if SUSPENDED_TITLE in d["text"]]
    assert "CORROBORATED, 3 outlets — US–Iran technical talks" in suspended
    assert "Reuters, 28 Jun 20:10 UTC" in suspended and "https://t.me/alalamarabic/" in suspended
    # where the URL comes from is recorded, never the URL
    assert {r["recipient"] for r in rows} == {f"env {WEBHOOK_ENV}"}
    assert secret.encode() not in path.read_bytes()
    assert result["alerts"]["problems"] == []


# ---- the quiet period -------------------------------------------------------------------------

QUIET_WATCHLIST = """\
watchlists:
  - id: strait
    title: Strait of Hormuz
    keywords: {en: [blockade]}
    signals:
      - id: blockade-reported
        title: A blockade of the strait is reported
        rule: {keywords_any: {en: [blockade]}}
    report:
      recipients: [now@example.org, later@example.org]
    alerts:
      quiet_minutes: 200
      recipients:
        - {email: now@example.org, quiet_minutes: 0}
        - later@example.org
"""


def flapping_scenario() -> Scenario:
    """A blockade reported by Alpha, withdrawn by an edit an hour later, reported again by Beta, then by
    World Feed too: seen, not seen, seen, corroborated, an hour apart."""
    minutes = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    outlets = [Outlet("telegram", "alpha_news", "Alpha News", "en", "independent"),
               Outlet("telegram", "beta_news", "Beta News", "en", "independent"),
               Outlet("rss", "worldfeed", "World Feed", "en", "western-wire")]
    posts = [Post("alpha_news", "telegram", 1001, minutes(10), "The navy announces a blockade of the strait",
                  edited_at=minutes(70), edited_text="The navy announces exercises in the strait"),
             Post("beta_news", "telegram", 501, minutes(130), "A blockade of the strait is in force, officials say"),
             Post("worldfeed", "rss", 1, minutes(190), "Shipping halted as the blockade of the strait holds",
                  title="Blockade of the strait holds", links=["https://news.example.org/a/1"])]
    return Scenario("flapping", T0 - timedelta(days=1), T0 + timedelta(days=1), [], outlets, posts, [])


def quiet_config(folder: Path, base_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(f"""\
endpoints:
  telegram: {base_url}/telegram
  x_mirrors: ["{base_url}/nitter-a"]
  polymarket_gamma: {base_url}/polymarket-gamma
  polymarket_clob: {base_url}/polymarket-clob
  kalshi: {base_url}/kalshi/trade-api/v2
  manifold: {base_url}/manifold/v0
sources:
  - {{id: alpha, kind: telegram, handle: alpha_news, name: Alpha News, register: independent, language: en}}
  - {{id: beta, kind: telegram, handle: beta_news, name: Beta News, register: independent, language: en}}
  - {{id: worldfeed, kind: rss, url: "{base_url}/rss/worldfeed.xml", name: World Feed, register: western-wire,
      language: en}}
""", encoding="utf-8")
    (folder / "watchlists.yaml").write_text(QUIET_WATCHLIST, encoding="utf-8")
    return folder


def test_a_signal_that_flaps_within_the_quiet_period_is_one_alert(tmp_path):
    from signal_desk.report.mail import parse
    runs = [T0 + timedelta(minutes=m) for m in (30, 90, 150, 210, 270)]
    levels, inbox = [], {}
    with MirrorServer(flapping_scenario(), as_of=runs[0]) as server, LocalSmtpServer(tmp_path / "inbox") as smtp, \
            smtp.as_desk_mail():
        config = quiet_config(tmp_path / "config", server.base_url)
        for as_of in runs:
            server.set_clock(as_of)
            before = len(smtp.received)
            state, _ = run_hour(server, config, tmp_path / "desk.duckdb", as_of, politeness="test")
            assert state.is_completed(), state.message
            levels.append(query(tmp_path / "desk.duckdb", "select level from mart_signal_status")[0][0])
            for r in smtp.received[before:]:
                inbox.setdefault(r.rcpt_tos[0], []).append((as_of, parse(r.data)))
    assert levels == ["seen", "not seen", "seen", "corroborated", "corroborated"]
    # no quiet period: every rise, as it happens
    assert [(t, m["Subject"].split(":")[0]) for t, m in inbox["now@example.org"]] == [
        (runs[0], "SEEN"), (runs[2], "SEEN"), (runs[3], "CORROBORATED, 2 outlets")]
    # 200 minutes: the first rise at once, the two inside the quiet period as one alert when it ends
    [(t1, first), (t2, batch)] = inbox["later@example.org"]
    assert (t1, t2) == (runs[0], runs[4])
    assert first["Subject"].startswith("SEEN: A blockade of the strait is reported")
    assert batch["Subject"].startswith("CORROBORATED, 2 outlets: A blockade of the strait is reported")
    text = batch.get_body(preferencelist=("plain",)).get_content()
    assert "This alert gathers 2 changes from the quiet period after the alert of 28 Jun 12:30 UTC" in text
    assert "28 Jun 14:30 not seen → seen; 28 Jun 15:30 seen → corroborated" in text
    rows = [r for r in alert_rows(tmp_path / "desk.duckdb") if r["recipient"] == "later@example.org"]
    assert [(r["to_level"], r["status"]) for r in rows] == [("seen", "sent"), ("seen", "batched"),
                                                           ("corroborated", "sent")]
    assert rows[1]["batched_into"] == rows[2]["alert_id"]


# ---- configuration ------------------------------------------------------------------------------

BAD_ALERTS = [
    ("      min_level: seen\n", "      min_level: loud\n", "alerts.min_level", "'seen' or 'corroborated'"),
    ("      quiet_minutes: 60\n", "      quiet_minutes: -5\n", "alerts.quiet_minutes", "greater than or equal to 0"),
    ("        - desk@example.org\n", "        - desk.example.org\n", "alerts.recipients.0.email",
     "String should match"),
    ("        - desk@example.org\n", "        - someone@example.org\n", "alerts.recipients.0.email",
     "someone@example.org is not one of this watch list's recipients"),
    ("        - {email: analyst@example.org, min_level: corroborated}\n",
     "        - {email: analyst@example.org, quiet: 5}\n", "alerts.recipients.1.quiet", "unknown field"),
    ("      quiet_minutes: 60\n",
     "      quiet_minutes: 60\n      webhook: {url: 'https://hooks.slack.com/services/T/B/x'}\n",
     "alerts.webhook", "a webhook URL is a secret"),
    ("      quiet_minutes: 60\n", "      quiet_minutes: 60\n      webhook: {url_env: A, secret_block: b}\n",
     "alerts.webhook", "exactly one of url_env"),
]


@pytest.mark.parametrize("good,bad,field,expected", BAD_ALERTS, ids=[b[2] + " " + b[3][:20] for b in BAD_ALERTS])
def test_a_bad_alert_setting_is_one_line_naming_file_watch_list_and_field(tmp_path, monkeypatch, good, bad, field,
                                                                          expected):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:9")
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(DEMO_CONFIG / "sources.yaml", folder / "sources.yaml")
    text = (DEMO_CONFIG / "watchlists.yaml").read_text(encoding="utf-8")
    start = text.index("    alerts:\n")
    assert good in text[start:]
    text = text[:start] + text[start:].replace(good, bad, 1)
    (folder / "watchlists.yaml").write_text(text, encoding="utf-8")
    _, problems = check_config(folder)
    assert len(problems) == 1, problems
    line = next(i + 1 for i, row in enumerate(text.splitlines()) if row.startswith(bad.splitlines()[-1]))
    assert problems[0].startswith(f"{folder / 'watchlists.yaml'}: line {line}: watch list {TALKS}: {field}: "), problems
    assert expected in problems[0]


def test_the_shipped_configurations_pass_with_their_alert_settings(monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:9")
    for folder in (ROOT / "config", DEMO_CONFIG):
        cfg, problems = check_config(folder)
        assert problems == []
        assert any(wl.alerts is not None for wl in cfg.watchlists)
