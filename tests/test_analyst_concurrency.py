"""Analysts and the writer, as separate processes. DuckDB lets no other process open a file a writer
holds, so analysts read the published snapshot: an analyst's session never fails an hourly run, a run
never fails an analyst's query, and overlapping writers wait for each other instead of failing.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from signal_desk import db

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = str(ROOT / "config" / "demo")

# An analyst: one read-only session, the same queries in a loop until told to stop, then a fresh session.
ANALYST = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import duckdb
    snapshot, ready, stop, limit_s = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    con = duckdb.connect(snapshot, read_only=True)
    counts, errors, queries = set(), [], 0
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            counts.add(con.execute("select count(*) from items").fetchone()[0])
            con.execute('''select s.source_id, count(*), max(i.published_at) from items i
                           join run_sources s on s.source_id = i.source_id group by 1''').fetchall()
            queries += 1
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        ready.touch()
        if stop.exists():
            break
        time.sleep(0.01)
    con.close()
    fresh = duckdb.connect(snapshot, read_only=True)
    after = fresh.execute("select count(*) from items").fetchone()[0]
    fresh.close()
    print(json.dumps(dict(queries=queries, counts=sorted(counts), errors=errors, after_reopen=after)))
""")

# A writer in the middle of a run: the live file open for writing, a transaction under way.
WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from signal_desk import db, landing
    live, ready, stop, limit_s = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    with db.writer(live) as con:
        con.execute("begin")
        landing.start_run(con, "hourly", None)
        ready.touch()
        deadline = time.monotonic() + limit_s
        while not stop.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        con.execute("commit")
    print("done")
""")

# A second writer arriving while the first one holds the file: db.connect waits for the lock.
SECOND_WRITER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from signal_desk import db, landing
    os.environ["DESK_DB_LOCK_WAIT_S"] = "60"
    live, first_ready = sys.argv[1], Path(sys.argv[2])
    while not first_ready.exists():
        time.sleep(0.01)
    started = time.monotonic()
    con = db.connect(live)
    waited = time.monotonic() - started
    run_id = landing.start_run(con, "backfill", None)
    con.close()
    print(json.dumps(dict(waited_s=waited, run_id=run_id)))
""")


def python(script: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} not signalled within {timeout} s")
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"process did not finish in {timeout} s: {err}") from None
    assert proc.returncode == 0, err
    return out


def count_items(path: Path) -> int:
    con = db.connect(path, read_only=True)
    try:
        return con.execute("select count(*) from items").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow
def test_an_analyst_session_open_during_an_hourly_run_neither_fails_it_nor_fails(tmp_path, monkeypatch):
    from flows.hourly import hourly
    from mirror.scenario import load_scenario
    from mirror.server import MirrorServer
    from mirror.smtp import LocalSmtpServer

    live = tmp_path / "desk.duckdb"
    snapshot = db.snapshot_path(live)
    ready, stop = tmp_path / "analyst-ready", tmp_path / "analyst-stop"
    scenario = load_scenario("iran_talks")
    first, second = scenario.run_times[0], scenario.run_times[1]
    # the demo's watch list sends signal alerts: a real SMTP server takes them
    with MirrorServer(scenario) as mirror, LocalSmtpServer(tmp_path / "inbox") as smtp, smtp.as_desk_mail():
        monkeypatch.setenv("MIRROR_URL", mirror.base_url)
        mirror.set_clock(first)
        hourly(config_dir=DEMO_CONFIG, db_path=str(live), as_of=first, politeness="mirror", with_markets=False)
        before = count_items(snapshot)

        analyst = python(ANALYST, snapshot, ready, stop, 240)
        try:
            wait_for_file(ready, analyst, 30)
            mirror.set_clock(second)
            summary = hourly(config_dir=DEMO_CONFIG, db_path=str(live), as_of=second, politeness="mirror",
                             with_markets=False)
        finally:
            stop.touch()
        seen = json.loads(finish(analyst))

    assert summary["status"] == "completed"
    new_items = sum(r["items_new"] for r in summary["sources"])
    assert new_items > 0
    assert seen["errors"] == [] and seen["queries"] > 0
    # The open session kept reading the snapshot it opened: one consistent state throughout the run.
    assert seen["counts"] == [before]
    # Reopened, it sees the new run's items, the same as the live file.
    assert seen["after_reopen"] == before + new_items == count_items(live)


def test_an_analyst_opens_the_snapshot_while_a_run_holds_the_live_file(tmp_path):
    live = tmp_path / "desk.duckdb"
    with db.writer(live) as con:
        con.execute("insert into runs (run_id, flow, started_at, status) values ('r0', 'hourly', now(), 'completed')")
    snapshot = db.publish_snapshot(live)
    ready, stop = tmp_path / "writer-ready", tmp_path / "writer-stop"
    writer = python(WRITER, live, ready, stop, 60)
    try:
        wait_for_file(ready, writer, 30)
        analyst = python(
            "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select count(*) from runs').fetchone()[0])", snapshot)
        assert finish(analyst, 30).strip() == "1"
    finally:
        stop.touch()
    assert finish(writer).strip() == "done"


def test_the_live_file_cannot_be_opened_by_another_process_while_a_writer_holds_it(tmp_path):
    """Why analysts read the snapshot: DuckDB refuses even a read-only open of a file a writer holds."""
    live = tmp_path / "desk.duckdb"
    ready, stop = tmp_path / "writer-ready", tmp_path / "writer-stop"
    writer = python(WRITER, live, ready, stop, 60)
    try:
        wait_for_file(ready, writer, 30)
        open_live = "import sys, duckdb; duckdb.connect(sys.argv[1], read_only=True)"
        direct = subprocess.run([sys.executable, "-c", open_live, str(live)], capture_output=True, text=True,
                                timeout=30, cwd=ROOT)
    finally:
        stop.touch()
    finish(writer)
    assert direct.returncode != 0 and "Conflicting lock" in direct.stderr


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path):
    live = tmp_path / "desk.duckdb"
    ready, stop = tmp_path / "first-ready", tmp_path / "first-stop"
    first = python(WRITER, live, ready, stop, 60)
    second = python(SECOND_WRITER, live, ready)
    try:
        wait_for_file(ready, first, 30)
        time.sleep(1.5)     # the first run keeps writing; the second has arrived and is waiting
    finally:
        stop.touch()
    assert finish(first).strip() == "done"
    result = json.loads(finish(second))
    assert result["waited_s"] >= 1.0
    con = db.connect(live, read_only=True)
    try:
        flows = sorted(r[0] for r in con.execute("select flow from runs").fetchall())
    finally:
        con.close()
    assert flows == ["backfill", "hourly"]


def test_publishing_goes_ahead_even_while_an_analyst_holds_the_snapshot_read_write(tmp_path):
    """`duckdb var/desk.snapshot.duckdb` without -readonly locks the snapshot; the next publish replaces
    the file regardless, and new sessions see the new one."""
    live = tmp_path / "desk.duckdb"
    with db.writer(live) as con:
        con.execute("insert into runs (run_id, flow, started_at, status) values ('r0', 'hourly', now(), 'completed')")
    snapshot = db.publish_snapshot(live)
    ready, stop = tmp_path / "analyst-ready", tmp_path / "analyst-stop"
    careless = python(textwrap.dedent("""
        import sys, time, duckdb
        from pathlib import Path
        con = duckdb.connect(sys.argv[1])
        Path(sys.argv[2]).touch()
        while not Path(sys.argv[3]).exists():
            con.execute("select count(*) from runs").fetchone()
            time.sleep(0.02)
        print(con.execute("select count(*) from runs").fetchone()[0])
    """), snapshot, ready, stop)
    try:
        wait_for_file(ready, careless, 30)
        with db.writer(live) as con:
            con.execute("insert into runs (run_id, flow, started_at, status) "
                        "values ('r1', 'hourly', now(), 'completed')")
        db.publish_snapshot(live)
        reader = db.connect(snapshot, read_only=True)
        assert reader.execute("select count(*) from runs").fetchone()[0] == 2
        reader.close()
    finally:
        stop.touch()
    assert finish(careless).strip() == "1"      # its own session went on undisturbed


def test_a_snapshot_is_never_copied_while_another_process_writes_the_live_file(tmp_path):
    import threading

    live = tmp_path / "desk.duckdb"
    with db.writer(live):
        pass
    ready, stop = tmp_path / "writer-ready", tmp_path / "writer-stop"
    other = python(WRITER, live, ready, stop, 60)
    try:
        wait_for_file(ready, other, 30)
        threading.Timer(1.5, stop.touch).start()
        started = time.monotonic()
        snapshot = db.publish_snapshot(live)
        waited = time.monotonic() - started
    finally:
        stop.touch()
    finish(other)
    # It waited for the other writer to finish and then copied a whole file, with that writer's run in it.
    assert waited >= 1.0
    con = db.connect(snapshot, read_only=True)
    try:
        assert con.execute("select count(*) from runs").fetchone()[0] == 1
    finally:
        con.close()
