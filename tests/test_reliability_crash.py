"""SIGKILL at several points of a run: the next run completes, every post is landed exactly once, the raw
fetches are whole, and the killed run stays visible as 'running' (or 'abandoned').

The killed run is `python -m flows.cli hourly ...` in a subprocess, stopped by a named failpoint
(DESK_FAILPOINT, see signal_desk/failpoints.py) or, mid-fetch, by os.kill while the mirror holds a slow answer.
The report is killed from the SMTP server's side: before it takes the message, and after it accepted it
but before the sender could record that.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest

from flows.hourly import hourly
from mirror.scenario_types import Scenario
from mirror.server import MirrorServer
from signal_desk import db as desk_db
from tests.pipeline_helpers import T0, small_scenario, write_config, query
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AS_OF = T0 + timedelta(hours=4)
KILLED = -signal.SIGKILL
SOURCE_HANDLES = {"alpha": ("telegram", "alpha_news"), "beta": ("telegram", "beta_news"),
                  "wirebird": ("x", "wirebird"), "worldfeed": ("rss", "worldfeed")}


@pytest.fixture(scope="module")
def prefect_api() -> str:
    """One Prefect API for this process and the subprocesses, so each killed run need not start its own
    temporary server (and leave it orphaned when killed)."""
    from prefect.server.api.server import SubprocessASGIServer
    server = SubprocessASGIServer()      # the same instance in-process flows use when no API URL is set
    server.start()
    return server.api_url


@pytest.fixture
def env(tmp_path):
    sc = small_scenario()
    with MirrorServer(sc, as_of=AS_OF) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url)
        yield mirror, str(cfg), str(tmp_path / "desk.duckdb"), sc


def start_cli(prefect_api: str, cfg: str, db: str, *, failpoint: str | None = None,
              extra: tuple = ()) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("DESK_FAILPOINT", None)
    if failpoint:
        env["DESK_FAILPOINT"] = failpoint
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "hourly", "--config", cfg, "--db", db, "--politeness", "test",
         "--as-of", AS_OF.isoformat(), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


def expected_items(sc: Scenario) -> dict[str, set[str]]:
    out = {}
    for sid, (kind, handle) in SOURCE_HANDLES.items():
        out[sid] = {f"{handle}-{p.post_id}" if kind == "rss" else str(p.post_id) for p in sc.posts_of(handle, AS_OF)}
    return out


def landed(db: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {sid: [] for sid in SOURCE_HANDLES}
    for sid, item_id in query(db, "select source_id, item_id from items"):
        out.setdefault(sid, []).append(item_id)
    return out


def lost_and_duplicated(db: str, sc: Scenario) -> tuple[int, int]:
    lost = dups = 0
    got = landed(db)
    for sid, due in expected_items(sc).items():
        matched = len(set(got[sid]) & due)
        lost += len(due) - matched
        dups += len(got[sid]) - matched
    return lost, dups


def assert_everything_landed_once(db: str, sc: Scenario) -> None:
    got = landed(db)
    for sid, due in expected_items(sc).items():
        assert sorted(got[sid]) == sorted(due), sid
    history = {p.t for p in sc.markets[0].history if p.t <= AS_OF}
    odds = query(db, "select outcome, venue_ts from odds_snapshots where market_id = '604417'")
    assert sorted(odds) == sorted((o, t) for t in history for o in ("Yes", "No"))


def assert_raw_fetches_whole(db: str) -> None:
    """Every landed fetch's body is there and decompresses to its recorded size."""
    assert query(db, """select count(*) from raw_fetches f left join raw_bodies b using (content_sha256)
                        where f.content_sha256 is not null and b.content_sha256 is null""") == [(0,)]
    for body, size in query(db, "select body_zlib, bytes from raw_bodies"):
        assert len(zlib.decompress(body)) == size


def run_statuses(db: str) -> dict[str, str]:
    return dict(query(db, "select run_id, status from runs"))


HOURLY_FAILPOINTS = ["after-land-raw", "before-land-items", "mid-land-items", "after-land-items"]


@pytest.mark.parametrize("point", HOURLY_FAILPOINTS)
def test_killed_at_a_failpoint_the_next_run_lands_everything_once(env, prefect_api, point):
    mirror, cfg, db, sc = env
    code, out = finish(start_cli(prefect_api, cfg, db, failpoint=point))
    assert code == KILLED, f"the run was not killed at {point}:\n{out[-2000:]}"
    killed_runs = [r for r, s in run_statuses(db).items() if s == "running"]

    recovered = hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("crash", f"SIGKILL at {point}", lost=lost, duplicates=dups,
                   outcome=f"killed run left {run_statuses(db).get(killed_runs[0]) if killed_runs else 'no row'}; "
                           f"next run {recovered['status']}")
    assert len(killed_runs) == 1 and run_statuses(db)[killed_runs[0]] in ("running", "abandoned")
    assert recovered["status"] == "completed"
    assert_everything_landed_once(db, sc)
    assert_raw_fetches_whole(db)


def test_killed_mid_fetch_the_next_run_lands_everything_once(env, prefect_api):
    mirror, cfg, db, sc = env
    mirror.add_fault("/telegram/s/alpha_news", "slow", delay_s=60)
    proc = start_cli(prefect_api, cfg, db)
    deadline = time.monotonic() + 180
    while mirror.request_count("/telegram/s/alpha_news") == 0 and proc.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the fetch"
        time.sleep(0.1)
    time.sleep(0.5)                                # the other sources' answers are in flight or in
    os.kill(proc.pid, signal.SIGKILL)
    code, _ = finish(proc)
    mirror.clear_faults()
    assert code == KILLED
    killed_runs = [r for r, s in run_statuses(db).items() if s == "running"]

    recovered = hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("crash", "SIGKILL mid-fetch (mirror holding a slow answer)", lost=lost, duplicates=dups,
                   outcome=f"killed run left {run_statuses(db).get(killed_runs[0]) if killed_runs else 'no row'}; "
                           f"next run {recovered['status']}")
    assert len(killed_runs) == 1
    assert recovered["status"] == "completed"
    assert_everything_landed_once(db, sc)
    assert_raw_fetches_whole(db)


def test_killed_after_closing_a_gap_the_gap_is_still_filled(env, prefect_api):
    mirror, cfg, db, sc = env
    hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    sc.posts += [p for p in small_scenario(channel_posts=105).posts if p.outlet == "alpha_news"][45:]
    hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test", page_cap=2)     # leaves a gap
    assert query(db, "select before_id, until_id from source_gaps") == [(1065, 1044)]
    code, out = finish(start_cli(prefect_api, cfg, db, failpoint="before-land-items"))
    assert code == KILLED, out[-2000:]
    hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("crash", "SIGKILL at before-land-items while filling a gap", lost=lost, duplicates=dups,
                   outcome=f"{lost} posts of the gap never landed" if lost else "gap filled by the next run")
    assert lost == 0 and dups == 0


def test_killed_mid_signals_the_next_run_annotates_and_groups_each_item_once(env, prefect_api):
    mirror, cfg, db, sc = env
    code, out = finish(start_cli(prefect_api, cfg, db, failpoint="mid-signals"))
    assert code == KILLED, f"the run was not killed at mid-signals:\n{out[-2000:]}"
    recovered = hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    lost, dups = lost_and_duplicated(db, sc)
    not_annotated = query(db, """select count(*) from stg_items s
                                 anti join item_annotations a using (source_id, item_id)""")[0][0]
    record_outcome("crash", "SIGKILL mid-signals", lost=lost, duplicates=dups,
                   outcome=f"next run {recovered['status']}; {not_annotated} items left without annotation")
    assert recovered["status"] == "completed"
    assert_everything_landed_once(db, sc)
    assert not_annotated == 0


# ---- the report: killed around the SMTP hand-over ------------------------------------------------

class KillingSmtpHandler:
    """Saves what it accepts; kills the sending process at the moment named:
    'before-accept' (on MAIL FROM, before any message is handed over) or 'after-accept' (the message
    accepted with 250, the sender killed while it waits for the answer to QUIT, before its ledger update)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.received: list[bytes] = []
        self.victim: int | None = None
        self.kill_at: str | None = None

    def _kill(self, moment: str) -> None:
        if self.victim and self.kill_at == moment:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._kill("before-accept")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.original_content or envelope.content)
        (self.folder / f"{len(self.received):04d}.eml").write_bytes(self.received[-1])
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        self._kill("after-accept")
        return "221 Bye"


@pytest.fixture
def smtp(tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller
    from mirror.smtp import _AnyPortController
    handler = KillingSmtpHandler(tmp_path)
    controller: Controller = _AnyPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    monkeypatch.delenv("DESK_SMTP_BLOCK", raising=False)
    for name, value in {"DESK_SMTP_HOST": "127.0.0.1", "DESK_SMTP_PORT": str(controller.port),
                        "DESK_SMTP_STARTTLS": "false", "DESK_SMTP_TIMEOUT": "10",
                        "DESK_MAIL_FROM": "Signal desk <desk@signal-desk.example>"}.items():
        monkeypatch.setenv(name, value)
    for name in ("DESK_SMTP_USER", "DESK_SMTP_PASSWORD", "DESK_SMTP_SSL"):
        monkeypatch.delenv(name, raising=False)
    yield handler
    controller.stop()


def start_report(prefect_api: str, cfg: str, db: str, archive: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.report", "test-list", "--config", cfg, "--db", db,
         "--as-of", AS_OF.isoformat(), "--archive", str(archive)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ledger(db: str) -> list[tuple]:
    return query(db, "select report_id, status, attempts, message_id, claimed_until from reports")


def expire_leases(db: str) -> None:
    """Stands in for the ten-minute claim lease running out (signal_desk/report/ledger.py LEASE)."""
    with desk_db.writer(db) as con:
        con.execute("update reports set claimed_until = ? where claimed_until is not null",
                    [desk_db.utcnow() - timedelta(seconds=1)])


@pytest.fixture
def desk_with_signals(env):
    from flows.signals import recompute_signals
    mirror, cfg, db, sc = env
    hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test")
    recompute_signals(config_dir=cfg, db_path=db, as_of=AS_OF)
    return cfg, db


@pytest.mark.parametrize("moment", ["before-accept", "after-accept"])
def test_report_killed_around_the_smtp_hand_over_is_delivered_with_one_message_id(
        desk_with_signals, smtp, prefect_api, tmp_path, moment):
    from flows.report import report
    from signal_desk.report.mail import parse
    cfg, db = desk_with_signals
    archive = tmp_path / "archive"
    smtp.kill_at = moment
    proc = start_report(prefect_api, cfg, db, archive)
    smtp.victim = proc.pid
    code, out = finish(proc)
    assert code == KILLED, f"the report run was not killed {moment}:\n{out[-2000:]}"
    [(report_id, status, attempts, message_id, claimed_until)] = ledger(db)
    assert status == "pending" and attempts == 0 and claimed_until is not None
    delivered_before_rerun = len(smtp.received)

    rerun_at_once = report("test-list", config_dir=cfg, db_path=db, as_of=AS_OF, archive_dir=str(archive))
    delivered_at_once = len(smtp.received) - delivered_before_rerun
    expire_leases(db)
    after_lease = report("test-list", config_dir=cfg, db_path=db, as_of=AS_OF, archive_dir=str(archive))

    ids = [parse(m)["Message-ID"] for m in smtp.received]
    final = ledger(db)[0]
    record_outcome(
        "crash", f"report run SIGKILLed {moment.replace('-', ' ')} (SMTP)", lost=None, duplicates=None,
        double_sent=max(len(ids) - 1, 0),
        outcome=(f"{len(ids)} deliveries, {len(set(ids))} Message-ID(s); a rerun within the 10-min claim lease "
                 f"sent {delivered_at_once} ({rerun_at_once['status']}), the run after it: {after_lease['sent']}; "
                 f"ledger {final[1]} after {final[2]} attempt(s)"))

    assert rerun_at_once["built"] is False                   # the stored report, not a second one
    assert delivered_at_once == 0                            # the dead run's claim still holds it
    assert final[1] == "sent" and after_lease["sent"] == [report_id]
    assert set(ids) == {message_id}                          # every delivery is the same message
    if moment == "before-accept":
        assert len(ids) == 1                                 # exactly once
    else:
        # At least once: the server had it before the crash, so it arrives twice with the same
        # Message-ID and bytes; the receiving side drops the second by its Message-ID.
        assert len(ids) == 2 and smtp.received[0] == smtp.received[1]
