"""What a run records and how it ends, when the run cannot do its job: the disk fills while the snapshot
is published, every source fails, another process holds the database. In each case the `runs` row and
the Prefect state must say what happened (so alerts fire), nothing may be left behind that breaks the
next run, and the next run must land everything once. Also: every flow and task has a time bound.

The full disk is real: a small tmpfs holds the database (root only; skipped elsewhere). The lock is
real: another process opens the DuckDB file for writing and keeps it.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from prefect.exceptions import FailedRun

from flows.hourly import hourly
from tasks.runs import RunFailed
from mirror.server import MirrorServer
from signal_desk import db as desk_db
from signal_desk.landing import UNRECORDED_SUFFIX
from tests.pipeline_helpers import T0, small_scenario, write_config, query
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AS_OF = T0 + timedelta(hours=4)
SOURCE_HANDLES = {"alpha": ("telegram", "alpha_news"), "beta": ("telegram", "beta_news"),
                  "wirebird": ("x", "wirebird"), "worldfeed": ("rss", "worldfeed")}
EVERY_SOURCE_PATH = ["/telegram/", "/nitter-a/", "/nitter-b/", "/rss/"]
RUN_FAILURES = (FailedRun, RunFailed)


@pytest.fixture
def env(tmp_path):
    sc = small_scenario()
    with MirrorServer(sc, as_of=AS_OF) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url)
        yield mirror, str(cfg), sc


def lost_and_duplicated(db: str | Path, sc) -> tuple[int, int]:
    landed: dict[str, list[str]] = {sid: [] for sid in SOURCE_HANDLES}
    for sid, item_id in query(db, "select source_id, item_id from items"):
        landed.setdefault(sid, []).append(item_id)
    lost = dups = 0
    for sid, (kind, handle) in SOURCE_HANDLES.items():
        due = {f"{handle}-{p.post_id}" if kind == "rss" else str(p.post_id) for p in sc.posts_of(handle, AS_OF)}
        matched = len(set(landed[sid]) & due)
        lost += len(due) - matched
        dups += len(landed[sid]) - matched
    return lost, dups


def runs(db: str | Path) -> list[tuple[str, str, dict]]:
    """(run_id, status, summary) of every run, oldest first."""
    return [(r, s, json.loads(summary) if summary else {})
            for r, s, summary in query(db, "select run_id, status, summary from runs order by started_at")]


def hourly_run(cfg: str, db: str | Path, **kw):
    return hourly(config_dir=cfg, db_path=str(db), as_of=AS_OF, politeness="test", with_markets=False, **kw)


# ---- a full disk while the snapshot is published ----------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs: a real file system that fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, name: str, leave_free: int) -> Path:
    """A file that takes all the free space of `disk` but `leave_free` bytes."""
    import shutil
    size = shutil.disk_usage(disk).free - leave_free
    assert size > 0, "the disk is already fuller than the test needs"
    path = disk / name
    with open(path, "wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(b"\0" * (1 << 20))
        f.write(b"\0" * (size % (1 << 20)))
    return path


def leftovers(disk: Path) -> list[str]:
    return sorted(p.name for p in disk.glob("*.tmp-*"))


def test_a_full_disk_while_publishing_fails_the_run_and_leaves_no_partial_copy(env, small_disk):
    mirror, cfg, sc = env
    db = small_disk / "desk.duckdb"
    hourly_run(cfg, db)
    # Room for the run's own writes, not for a second copy of the database.
    filler = fill(small_disk, "filler", leave_free=db.stat().st_size // 2)

    try:
        hourly_run(cfg, db)
        failed: BaseException | None = None
    except Exception as error:                         # noqa: BLE001 - the old code raised OSError here
        failed = error
    left = leftovers(small_disk)
    run_id, status, summary = runs(db)[-1]
    filler.unlink()                                    # the operator frees space
    recovered = hourly_run(cfg, db)
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("runs", "disk full while the snapshot is published", lost=lost, duplicates=dups,
                   outcome=f"flow failed: {str(failed).replace(f'{small_disk}/', '')[:200]}; run recorded {status}; "
                           f"partial copies left: "
                           f"{len(left)}; next run {recovered['status']}")

    assert left == [], "the partial snapshot copy must be removed"
    assert status == "failed" and "disk is full" in summary["error"] and "snapshot" in summary["error"]
    assert isinstance(failed, RUN_FAILURES) and "disk is full" in str(failed)
    assert recovered["status"] == "completed" and leftovers(small_disk) == []
    assert query(desk_db.snapshot_path(db), "select status from runs where run_id = ?", recovered["run_id"]) \
        == [("completed",)]
    assert lost == 0 and dups == 0


def test_a_partial_copy_left_by_an_earlier_run_is_removed_by_the_next(env, small_disk):
    """A publish killed mid-copy (or by the old code's full disk) left `<snapshot>.tmp-<pid>` taking the
    space: the next run must not fail with ENOSPC because of it."""
    mirror, cfg, sc = env
    db = small_disk / "desk.duckdb"
    hourly_run(cfg, db)
    snapshot = Path(desk_db.snapshot_path(db))
    fill(small_disk, f"{snapshot.name}.tmp-4194303", leave_free=db.stat().st_size // 2)

    try:
        outcome = hourly_run(cfg, db)["status"]
    except RUN_FAILURES as error:
        outcome = f"failed: {str(error).replace(f'{small_disk}/', '')[:200]}"
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("runs", "partial snapshot copy left by an earlier run fills the disk", lost=lost,
                   duplicates=dups, outcome=f"next run {outcome}; partial copies left: {len(leftovers(small_disk))}")
    assert outcome == "completed" and leftovers(small_disk) == []
    assert lost == 0 and dups == 0


# ---- every source failed ----------------------------------------------------------------------------

def test_a_run_in_which_every_source_failed_is_recorded_then_fails(env, tmp_path):
    mirror, cfg, sc = env
    db = tmp_path / "desk.duckdb"
    for path in EVERY_SOURCE_PATH:
        mirror.add_fault(path, "http-500")
    state = hourly_run(cfg, db, return_state=True)
    run_id, status, summary = runs(db)[-1]
    per_source = dict(query(db, "select source_id, status from run_sources where run_id = ?", run_id))

    mirror.clear_faults()
    recovered = hourly_run(cfg, db)
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("runs", "every source fails (HTTP 500 from all four)", lost=lost, duplicates=dups,
                   outcome=f"Prefect state {state.name}; run recorded {status}: {summary.get('error', '')[:120]}; "
                           f"next run {recovered['status']}")

    assert state.is_failed(), f"a run whose every source failed ended {state.name}"
    assert "every source failed" in (state.message or "")
    assert status == "failed" and summary["error"].startswith("every source failed (4)")
    assert per_source == {sid: "error" for sid in SOURCE_HANDLES}          # what it did is recorded
    assert recovered["status"] == "completed" and lost == 0 and dups == 0


def test_a_run_with_one_source_left_completes(env, tmp_path):
    """The line is 'every': one source that answers keeps the run completed (its errors are reported)."""
    mirror, cfg, sc = env
    db = tmp_path / "desk.duckdb"
    for path in EVERY_SOURCE_PATH[1:]:
        mirror.add_fault(path, "http-500")
    summary = hourly_run(cfg, db)
    assert summary["status"] == "completed"
    assert sorted(r["source_id"] for r in summary["sources"] if r["status"] == "error") == ["wirebird", "worldfeed"]


# ---- another process holds the database -------------------------------------------------------------

@pytest.fixture(scope="module")
def prefect_api() -> str:
    """One Prefect API for this process and the command-line runs it starts."""
    from prefect.server.api.server import SubprocessASGIServer
    server = SubprocessASGIServer()
    server.start()
    return server.api_url


class LockHolder:
    """Another process with the DuckDB file open for writing, until released."""

    def __init__(self, db: Path):
        code = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); "
                "sys.stdin.read()")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "holding"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def test_a_writer_that_cannot_get_the_database_says_who_holds_it_and_is_recorded(env, tmp_path, prefect_api):
    mirror, cfg, sc = env
    db = tmp_path / "desk.duckdb"
    hourly_run(cfg, db)
    holder = LockHolder(db)
    try:
        child_env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING",
                     desk_db.LOCK_WAIT_ENV: "2"}
        child_env.pop("DESK_FAILPOINT", None)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "flows.cli", "hourly", "--config", cfg, "--db", str(db), "--politeness",
                 "test", "--no-markets", "--as-of", AS_OF.isoformat()],
                cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=110)
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as timed_out:      # the old code waited 120 s whatever it was told
            code, out = None, f"still waiting after 110 s: {timed_out.stdout or ''}{timed_out.stderr or ''}"
        side_file_written = Path(str(db) + UNRECORDED_SUFFIX).exists()
    finally:
        holder.release()
    named = [line for line in out.splitlines() if f"PID {holder.proc.pid}" in line]
    recovered = hourly_run(cfg, db)
    locked_runs = [(r, s, summary) for r, s, summary in runs(db)
                   if f"PID {holder.proc.pid}" in (summary.get("error") or "")]
    lost, dups = lost_and_duplicated(db, sc)
    record_outcome("runs", "database held by another process (wait set to 2 s)", lost=lost, duplicates=dups,
                   outcome=f"exit {code}; {out.count('Traceback')} tracebacks; "
                           f"line: {shown(named[-1], tmp_path) if named else 'no line names the holder'}; "
                           f"runs row: {locked_runs[0][1] if locked_runs else 'none'}; next run {recovered['status']}")

    assert code == 1, out[-3000:]
    assert len(named) == 1, f"not one line naming the holder (PID {holder.proc.pid}):\n{out[-3000:]}"
    assert "Traceback" not in out and "read-only" not in out.lower() and "read_only" not in out.lower(), out[-3000:]
    assert "-c import duckdb" in named[-1] and "2 s" in named[-1], named[-1]
    assert side_file_written
    assert len(locked_runs) == 1 and locked_runs[0][1] == "failed"          # recorded once the lock freed
    assert not Path(str(db) + UNRECORDED_SUFFIX).exists()
    assert recovered["status"] == "completed" and lost == 0 and dups == 0


def shown(line: str, folder: Path) -> str:
    """The line as the table shows it: without this machine's folders or the holder's PID."""
    line = line.strip().replace(f"{folder}/", "").replace(sys.executable, "python")
    return re.sub(r"PID \d+", "PID N", line)


def test_a_bad_lock_wait_setting_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(desk_db.LOCK_WAIT_ENV, "two minutes")
    with pytest.raises(desk_db.StorageError, match=f"{desk_db.LOCK_WAIT_ENV}='two minutes' is not a number"):
        desk_db.connect(tmp_path / "desk.duckdb")


# ---- time bounds ------------------------------------------------------------------------------------

def test_every_flow_and_task_has_a_time_bound():
    import importlib

    from prefect import Flow, Task
    root = Path(__file__).resolve().parent.parent
    unbounded, seen = [], []
    for path in sorted([*(root / "flows").glob("*.py"), *(root / "tasks").glob("*.py")]):
        module_name = f"{path.parent.name}.{path.stem}"
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if isinstance(obj, (Flow, Task)) and obj.fn.__module__ == module_name:
                seen.append(obj.name)
                if not obj.timeout_seconds:
                    unbounded.append(f"{module_name}.{name}")
    assert {"hourly", "report", "backfill", "signals", "alert", "fetch-sources", "send-pending-reports"} <= set(seen)
    record_outcome("runs", "flows and tasks without a timeout", lost=None, duplicates=None,
                   outcome=", ".join(unbounded) or "none")
    assert unbounded == []


# ---- the alert ------------------------------------------------------------------------------------

class Webhook:
    """A webhook receiver (on 127.0.0.1 unless told) that keeps what it is sent."""

    def __init__(self, host: str = "127.0.0.1"):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_alert_names_the_failed_run_and_goes_through_the_notification_block(env, tmp_path):
    """What the `alert` deployment's triggers start, run directly on a real failed hourly run."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows.alerts import AlertNotSent, alert
    mirror, cfg, sc = env
    for path in EVERY_SOURCE_PATH:
        mirror.add_fault(path, "http-500")
    failed = hourly_run(cfg, tmp_path / "desk.duckdb", return_state=True)
    event_resource = f"prefect.flow-run.{failed.state_details.flow_run_id}"     # as the trigger passes it
    webhook = Webhook()
    try:
        CustomWebhookNotificationBlock(name="desk alerts (test)", url=webhook.url, json_data={"text": "{{subject}}: {{body}}"},
                                       allow_private_urls=True).save("desk-alerts-test", overwrite=True)
        text = alert.with_options(retries=0)(flow_run=event_resource, notification_block="desk-alerts-test")
        with pytest.raises(AlertNotSent, match="no notification block named 'nowhere'.*every source failed"):
            alert.with_options(retries=0)(flow_run=event_resource, notification_block="nowhere")
    finally:
        webhook.close()
    record_outcome("runs", "alert for a failed hourly run (webhook notification block)", lost=None,
                   duplicates=None, outcome=f"{len(webhook.received)} message(s): "
                                            f"{webhook.received[0]['text'][:120] if webhook.received else 'none'}")
    assert [m["text"] for m in webhook.received] == [f"signal desk: hourly run Failed: {text}"]
    assert str(failed.state_details.flow_run_id) in text and "every source failed (4)" in text
