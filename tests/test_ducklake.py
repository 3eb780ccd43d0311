"""The DuckLake backend on a real PostgreSQL: what differs from a DuckDB file (no key constraints, so
writers keep the keys), readers beside writers, and two ingest processes writing one lake at once.
The hourly pipeline's own tests (test_hourly_ingest.py) run on both backends."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from flows.signals import signals
from mirror.server import MirrorServer
from signal_desk import db, landing
from tests.pipeline_helpers import T0, small_scenario, write_config

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "items": "source_id, item_id", "raw_bodies": "content_sha256", "raw_fetches": "fetch_id",
    "markets": "venue, market_id", "odds_snapshots": "venue, market_id, outcome, venue_ts",
    "run_sources": "run_id, source_id", "runs": "run_id", "story_items": "source_id, item_id",
    "item_annotations": "source_id, item_id",
}


def duplicate_keys(con) -> dict[str, int]:
    found = {}
    for table, key in KEYS.items():
        extra = con.execute(f"select count(*) - count(distinct ({key})) from {table}").fetchone()[0]
        if extra:
            found[table] = extra
    return found


def test_a_new_lake_gets_every_migration_recorded_with_its_files_digest(lake):
    con = db.connect(lake)
    try:
        recorded = dict(con.execute("select name, sha256 from schema_migrations").fetchall())
        assert recorded == {p.stem: hashlib.sha256(p.read_text(encoding="utf-8").encode()).hexdigest()
                            for p in db.migrations()}
        # Tables live in the lake (catalog in PostgreSQL), not in the local in-memory database.
        assert con.execute("select current_database()").fetchone()[0] == db.LAKE_ALIAS
    finally:
        con.close()
    assert db.migrate(db.connect(lake), lake=True) == []   # a second writer applies nothing


def test_writers_opening_a_new_lake_at_once_all_succeed_and_migrate_it_once(postgres, tmp_path, monkeypatch):
    # Regression: workers started together on a new lake lost the race to create DuckLake's catalog
    # tables ("duplicate key value ... pg_type_typname_nsp_index") or to apply a migration another
    # writer had just committed ("Column with name point_kind already exists").
    monkeypatch.setenv(db.LAKE_DATA_PATH_ENV, str(tmp_path / "lake-files") + "/")
    for _ in range(3):
        setting = f"{db.LAKE_PREFIX}postgres:{postgres.create_database()}"
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def open_lake():
            start.wait()
            try:
                db.connect(setting).close()
            except BaseException as error:   # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=open_lake) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        con = db.connect(setting)
        try:
            names = [row[0] for row in con.execute("select name from schema_migrations").fetchall()]
        finally:
            con.close()
        assert sorted(names) == [p.stem for p in db.migrations()]


def test_key_constraints_are_dropped_for_a_lake_and_key_columns_stay_not_null():
    ddl = """create table t (
        a varchar primary key,
        b int not null,   -- a comment
        primary key (a, b)
    );"""
    stripped = db.without_key_constraints(ddl)
    assert "primary key" not in stripped
    assert "a varchar not null," in stripped and "b int not null   -- a comment\n    );" in stripped


def test_a_new_lake_without_a_data_path_is_a_clear_error(postgres, monkeypatch):
    monkeypatch.delenv(db.LAKE_DATA_PATH_ENV, raising=False)
    setting = f"{db.LAKE_PREFIX}postgres:{postgres.create_database()}"
    try:
        con = db.connect(setting)
    except db.StorageError as error:
        assert setting in str(error) and db.LAKE_DATA_PATH_ENV in str(error)
    else:   # DuckLake may pick a default data path itself; then the lake must work
        con.execute("select count(*) from items").fetchone()
        con.close()


def test_an_unreachable_catalog_names_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv(db.LAKE_DATA_PATH_ENV, str(tmp_path))
    setting = f"{db.LAKE_PREFIX}postgres:host=127.0.0.1 port=9 dbname=nowhere user=desk connect_timeout=2"
    with pytest.raises(db.StorageError, match="port=9"):
        db.connect(setting)


def test_reruns_keep_every_key_unique_and_readers_see_whole_commits(lake):
    from signal_desk.items import Item
    from datetime import datetime, timezone
    items = [("telegram", Item(source_id="alpha", item_id=str(i), url=f"https://t.me/alpha/{i}",
                               published_at=datetime(2026, 6, 28, 12, i, tzinfo=timezone.utc), text=f"post {i}"))
             for i in range(30)]
    with pytest.raises(db.StorageError, match="the first run creates it"):
        db.connect(lake, read_only=True)
    db.connect(lake).close()
    reader = db.connect(lake, read_only=True)
    try:
        with db.writer(lake) as con:
            run_id = landing.start_run(con, "hourly", None)
            landing.land_items(con, run_id, items)
            landing.land_items(con, run_id, items)
            stats = landing.land_items(con, run_id, items[:10])
            assert stats["alpha"]["unchanged"] == 10
            assert duplicate_keys(con) == {}
        # A reader that opened the lake before the writes sees them once committed, all at once.
        assert reader.execute("select count(*), count(distinct item_id) from items").fetchone() == (30, 30)
    finally:
        reader.close()


def test_run_bookkeeping_of_writers_at_once_survives_commit_conflicts(lake):
    # Regression: a DuckLake commit that updates `runs` or `run_sources` conflicts with any other
    # writer's commit to the same table in between, whichever rows each touched; `finish_run` was not
    # retried, so one of two ingest workers failed at its very end ("Transaction conflict").
    db.connect(lake).close()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def bookkeeping(worker: str) -> None:
        con = db.connect(lake)
        try:
            start.wait()
            for _ in range(8):
                landing.mark_abandoned_runs(con)
                run_id = landing.start_run(con, "hourly", None)
                landing.record_source_runs(con, run_id, [dict(
                    source_id=worker, kind="telegram", pages_fetched=1, items_parsed=0, items_new=0,
                    items_updated=0, rejects=0, status="ok", error=None)])
                landing.finish_run(con, run_id, "completed", {"worker": worker})
        except BaseException as error:   # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            con.close()

    threads = [threading.Thread(target=bookkeeping, args=(w,)) for w in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    con = db.connect(lake, read_only=True)
    try:
        assert con.execute("select status, count(*) from runs group by status").fetchall() == [("completed", 16)]
        assert con.execute("select count(*) from run_sources").fetchone()[0] == 16
    finally:
        con.close()


# --- two ingest processes on one lake -----------------------------------------------------------------

def start_ingest(cfg: Path, setting: str, sources: list[str], home: Path, extra: list[str]) -> subprocess.Popen:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    args = [sys.executable, "-m", "flows.cli", "hourly", "--config", str(cfg), "--db", setting,
            "--politeness", "mirror", "--no-signals", *extra]
    for source in sources:
        args += ["--source", source]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_side_by_side(cfg: Path, setting: str, tmp_path: Path, round_no: int) -> None:
    workers = [
        start_ingest(cfg, setting, ["alpha", "wirebird"], tmp_path / "worker-a", []),
        start_ingest(cfg, setting, ["beta", "worldfeed"], tmp_path / "worker-b", ["--no-markets"]),
    ]
    for name, proc in zip("ab", workers):
        try:
            out, _ = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            raise AssertionError(f"worker {name}, round {round_no}, did not finish:\n{out[-3000:]}") from None
        assert proc.returncode == 0, f"worker {name}, round {round_no}, failed:\n{out[-3000:]}"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_ingest_workers_write_one_lake_at_once_without_loss(lake, tmp_path):
    scenario = small_scenario()
    with MirrorServer(scenario, as_of=T0 + timedelta(hours=4)) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url)
        # Each worker's first page answers slowly, so the two runs are in flight at the same time.
        for path in ("/telegram/s/alpha_news", "/telegram/s/beta_news"):
            mirror.add_fault(path, "slow", delay_s=3.0)
        run_side_by_side(cfg, lake, tmp_path, 1)
        # Round two: new posts and an edit, so both workers update rows that round one wrote.
        newest = scenario.posts_of("beta_news", scenario.end)[-1]
        newest.edited_at, newest.edited_text = T0 + timedelta(hours=4, minutes=30), "beta item, corrected"
        scenario.posts += [p for p in small_scenario(channel_posts=50).posts if p.outlet == "alpha_news"][45:]
        mirror.set_clock(T0 + timedelta(hours=5))
        run_side_by_side(cfg, lake, tmp_path, 2)
        summary = signals(config_dir=str(cfg), db_path=lake, as_of=T0 + timedelta(hours=5))

    con = db.connect(lake, read_only=True)
    try:
        runs = con.execute("""
            select flow, status, started_at, finished_at from runs where flow = 'hourly' order by started_at
        """).fetchall()
        landed = set(con.execute("select source_id, item_id from items").fetchall())
        edited = con.execute("select text from items where source_id = 'beta' and item_id = ?",
                             [str(newest.post_id)]).fetchone()
        history = con.execute("select count(*) from item_history").fetchone()[0]
        grouped = con.execute("select count(*) from story_items").fetchone()[0]
        fetches = con.execute("select count(*) from raw_fetches").fetchone()[0]
        pages = con.execute("select sum(pages_fetched) from run_sources").fetchone()[0]
        odds = con.execute("select count(*) from odds_snapshots").fetchone()[0]
        duplicates = duplicate_keys(con)
    finally:
        con.close()

    assert [(f, s) for f, s, _, _ in runs] == [("hourly", "completed")] * 4
    for first, second in (runs[0:2], runs[2:4]):
        assert first[2] < second[3] and second[2] < first[3], f"the two runs of a round did not overlap: {runs}"
    cutoff = T0 + timedelta(hours=5)
    published = {source: {str(p.post_id) for p in scenario.posts if p.outlet == handle and p.published_at <= cutoff}
                 for source, handle in (("alpha", "alpha_news"), ("beta", "beta_news"),
                                        ("wirebird", "wirebird"), ("worldfeed", "worldfeed"))}
    by_source: dict[str, set[str]] = {}
    for source, item_id in landed:
        by_source.setdefault(source, set()).add(item_id)
    assert {s: len(ids) for s, ids in by_source.items()} == {s: len(ids) for s, ids in published.items()}
    assert by_source["alpha"] == published["alpha"] and by_source["beta"] == published["beta"]
    assert edited == ("beta item, corrected",) and history == 1
    assert duplicates == {}
    assert fetches >= pages > 0 and odds > 0
    assert summary["items_annotated"] == len(landed) and grouped > 0


def rows(con, sql: str) -> list[str]:
    """Rows as sorted text, with the mirror's port (new at every replay) taken out of posts' links."""
    return sorted(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", repr(r)) for r in con.execute(sql).fetchall())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_demo_on_a_lake_gives_the_same_signal_tables_as_on_a_file(lake, demo_db, tmp_path):
    from mirror.demo import run_demo
    run_demo(lake, tmp_path / "alerts-inbox", quiet=True)
    tables = {
        "items": "select source_id, item_id, text, edited from items",
        "mart_story_timeline": """select watchlist_id, story_id, source_id, item_id, speaker_id, speech_act, quotes,
                                         is_first_report, relay_of_source_id, relay_lag_minutes
                                  from mart_story_timeline""",
        "mart_contradictions": "select * from mart_contradictions",
        "mart_signal_status": "select watchlist_id, signal_id, status, first_seen_at from mart_signal_status",
        "mart_story_odds": "select * from mart_story_odds",
    }
    on_file, on_lake = db.connect(demo_db, read_only=True), db.connect(lake, read_only=True)
    try:
        for name, sql in tables.items():
            expected = rows(on_file, sql)
            assert expected, f"{name} is empty in the file demo"
            assert rows(on_lake, sql) == expected, name
    finally:
        on_file.close()
        on_lake.close()
