"""The hourly flow against the local mirror: paging, incremental stop, gaps, reruns, edits, faults.
Every test runs on both storage backends: a DuckDB file, and a DuckLake on a real PostgreSQL."""
from datetime import timedelta

import pytest

from flows.hourly import hourly
from mirror.server import MirrorServer
from signal_desk import db as desk_db
from tests.pipeline_helpers import T0, small_scenario, write_config


@pytest.fixture(params=["duckdb-file", "ducklake"])
def database(request, tmp_path):
    if request.param == "ducklake":
        return request.getfixturevalue("lake")
    return str(tmp_path / "desk.duckdb")


@pytest.fixture
def env(tmp_path, database):
    sc = small_scenario()
    with MirrorServer(sc, as_of=T0 + timedelta(hours=4)) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url)
        yield mirror, str(cfg), database, sc


def run(cfg, db, **kw):
    kw.setdefault("politeness", "test")
    return hourly(config_dir=cfg, db_path=db, **kw)


def q(db, sql, *params):
    con = desk_db.connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def status(summary, source_id):
    return next(r for r in summary["sources"] if r["source_id"] == source_id)


def test_first_run_pages_back_and_lands_everything_with_utc_times(env):
    mirror, cfg, db, sc = env
    s = run(cfg, db)
    alpha = status(s, "alpha")
    assert alpha["pages_fetched"] == 3 and alpha["items_new"] == 45   # 45 posts at 20 a page
    assert q(db, "select count(*) from items where source_id = 'alpha'") == [(45,)]
    first = sc.posts_of("alpha_news", sc.end)[0]
    assert q(db, "select published_at from items where source_id='alpha' and item_id=?", str(first.post_id)) == \
        [(first.published_at,)]
    assert status(s, "wirebird")["items_new"] == 5 and status(s, "worldfeed")["items_new"] == 4


def test_rerun_of_the_same_hour_adds_nothing(env):
    mirror, cfg, db, _ = env
    run(cfg, db)
    s = run(cfg, db)
    assert sum(r["items_new"] for r in s["sources"]) == 0
    assert q(db, "select count(*), count(distinct (source_id, item_id)) from items") == [(64, 64)]


def test_incremental_run_stops_at_the_newest_landed_post(env):
    mirror, cfg, db, sc = env
    run(cfg, db)
    sc.posts += [p for p in small_scenario(channel_posts=50).posts if p.outlet == "alpha_news"][45:]
    before = mirror.request_count("/telegram/s/alpha_news")
    s = run(cfg, db)
    assert mirror.request_count("/telegram/s/alpha_news") - before == 1
    assert status(s, "alpha")["items_new"] == 5


def test_page_cap_leaves_a_gap_that_the_next_run_fills(env):
    mirror, cfg, db, sc = env
    run(cfg, db)
    sc.posts += [p for p in small_scenario(channel_posts=105).posts if p.outlet == "alpha_news"][45:]
    s = run(cfg, db, page_cap=2)
    assert status(s, "alpha")["items_new"] == 40
    assert q(db, "select count(*) from source_gaps where source_id = 'alpha'") == [(1,)]
    s = run(cfg, db, page_cap=2)
    assert status(s, "alpha")["items_new"] == 20
    assert q(db, "select count(*) from items where source_id = 'alpha'") == [(105,)]
    assert q(db, "select count(*) from source_gaps") == [(0,)]


def test_edited_post_updates_and_keeps_history(env):
    mirror, cfg, db, sc = env
    run(cfg, db)
    newest = sc.posts_of("alpha_news", sc.end)[-1]
    newest.edited_at = T0 + timedelta(hours=4)
    newest.edited_text = "نص مصحح"
    mirror.set_clock(T0 + timedelta(hours=5))
    s = run(cfg, db)
    assert status(s, "alpha")["items_updated"] == 1
    assert q(db, "select text, edited from items where source_id='alpha' and item_id=?", str(newest.post_id)) == \
        [("نص مصحح", True)]
    assert q(db, "select text from item_history where item_id=?", str(newest.post_id)) == [(newest.text,)]


def test_channel_without_preview_is_a_source_error_and_others_land(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/telegram/s/beta_news", "private")
    s = run(cfg, db)
    beta = status(s, "beta")
    assert beta["status"] == "error" and "no public preview" in beta["error"]
    assert status(s, "alpha")["items_new"] == 45


def test_persistent_5xx_fails_the_source_only_and_the_cursor_does_not_advance(env):
    mirror, cfg, db, sc = env
    run(cfg, db)
    sc.posts += [p for p in small_scenario(channel_posts=70).posts if p.outlet == "alpha_news"][45:]
    mirror.add_fault("/telegram/s/alpha_news", "http-503")
    s = run(cfg, db)
    assert status(s, "alpha")["status"] == "error" and "503" in status(s, "alpha")["error"]
    assert status(s, "beta")["status"] == "ok"
    mirror.clear_faults()
    s = run(cfg, db)
    assert status(s, "alpha")["items_new"] == 25
    assert q(db, "select count(*) from items where source_id='alpha'") == [(70,)]


def test_failure_on_an_older_page_records_a_gap_and_loses_nothing(env):
    mirror, cfg, db, sc = env
    run(cfg, db)
    sc.posts += [p for p in small_scenario(channel_posts=105).posts if p.outlet == "alpha_news"][45:]
    mirror.add_fault("/telegram/s/alpha_news?before=", "http-500")   # older pages fail, the newest page loads
    s = run(cfg, db)
    assert status(s, "alpha")["items_new"] == 20
    assert q(db, "select until_id from source_gaps where source_id='alpha'") == [(1044,)]
    mirror.clear_faults()
    s = run(cfg, db)
    assert q(db, "select count(*) from items where source_id='alpha'") == [(105,)]
    assert q(db, "select count(*) from source_gaps") == [(0,)]


def test_429_with_retry_after_is_waited_out(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/telegram/s/beta_news", "http-429", count=1, retry_after="1")
    s = run(cfg, db, politeness="mirror")
    assert status(s, "beta")["status"] == "ok" and status(s, "beta")["items_new"] == 10


def test_truncated_page_is_a_fetch_error_and_the_next_run_lands_it(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/telegram/s/beta_news", "truncate", count=1)
    s = run(cfg, db)
    assert status(s, "beta")["status"] == "error" and "truncated" in status(s, "beta")["error"]
    assert status(s, "beta")["items_new"] == 0
    run(cfg, db)
    assert q(db, "select count(*) from items where source_id='beta'") == [(10,)]


def test_changed_layout_is_reported_and_quarantined(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/telegram/s/beta_news", "layout")
    s = run(cfg, db)
    beta = status(s, "beta")
    assert beta["status"] == "error" and "probable layout change" in beta["error"]
    assert q(db, "select check_name from quarantine where source_id='beta'") == [("telegram_layout",)]


def test_timeout_is_a_source_error(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/telegram/s/beta_news", "slow", delay_s=6)
    s = run(cfg, db)
    assert status(s, "beta")["status"] == "error" and "Timeout" in status(s, "beta")["error"]
    assert status(s, "alpha")["status"] == "ok"


def test_x_mirror_fails_over_and_lands_original_status_urls(env):
    mirror, cfg, db, sc = env
    mirror.add_fault("/nitter-a/", "http-429")
    s = run(cfg, db)
    assert status(s, "wirebird")["items_new"] == 5
    urls = q(db, "select url from items where source_id='wirebird' order by item_id")
    assert all(u.startswith("https://x.com/wirebird/status/") for (u,) in urls)
    mirror.clear_faults()
    mirror.add_fault("/nitter-b/", "http-503")
    s = run(cfg, db)   # now instance a answers: the same posts, no duplicates
    assert status(s, "wirebird")["items_new"] == 0
    assert q(db, "select count(*) from items where source_id='wirebird'") == [(5,)]


def test_market_history_is_backfilled_once_and_reruns_are_idempotent(env):
    mirror, cfg, db, _ = env
    s = run(cfg, db)
    assert s["markets"]["markets"] >= 1 and s["markets"]["new_odds"] > 0
    n = q(db, "select count(*) from odds_snapshots")[0][0]
    s = run(cfg, db)
    assert q(db, "select count(*) from odds_snapshots")[0][0] == n
    assert q(db, "select question, status from markets where market_id='604417'") == \
        [("US announces new blockade of Iran by July 31?", "open")]


def test_market_api_in_a_new_shape_is_quarantined_and_the_run_goes_on(env):
    mirror, cfg, db, _ = env
    mirror.add_fault("/polymarket-gamma/", "shape")
    s = run(cfg, db)
    assert s["status"] == "completed" and s["markets"]["errors"]
    assert q(db, "select count(*) from quarantine where table_name='markets'")[0][0] >= 1
    assert status(s, "alpha")["items_new"] == 45
