"""The demo leaves a database that carries the seeds' facts (DEMO-FACTS.md)."""
from datetime import datetime, timezone

import duckdb
import pytest

from mirror.scenario import canonical_url, load_scenario
from signal_desk.config import load_config
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def con(demo_db):
    c = duckdb.connect(str(demo_db), read_only=True)
    c.execute("set timezone = 'UTC'")
    yield c
    c.close()


def test_every_seed_post_is_landed_with_its_utc_time_and_url(con, monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:1")
    cfg = load_config(ROOT / "config" / "demo")
    source_of = {(s.kind, (s.handle or s.id).lower()): s.id for s in cfg.sources}
    for s in cfg.sources:
        if s.kind == "rss":
            source_of[("rss", s.id)] = s.id
    sc = load_scenario("iran_talks")
    last_run = max(sc.run_times)
    seeds = [p for p in sc.posts if p.seed_fact and p.published_at <= last_run]
    assert len(seeds) >= 20
    for p in seeds:
        sid = source_of[(p.kind, p.outlet.lower())]
        rows = con.execute("select published_at, url from items where source_id = ? and published_at = ?",
                           [sid, p.published_at]).fetchall()
        assert rows, f"{p.seed_fact}: no item from {sid} at {p.published_at:%Y-%m-%d %H:%M:%S}"
        if p.kind != "rss":
            assert rows[0][1] == canonical_url(p)


def test_reuters_2010_and_its_2046_relay_with_original_urls(con):
    rows = con.execute("""
        select source_id, strftime(published_at, '%H:%M') as hhmm, url
        from items
        where source_id in ('reuters', 'sprinterpress')
          and published_at between '2026-06-28 20:00:00+00' and '2026-06-28 21:00:00+00'
          and regexp_matches(text, 'technical talks', 'i')
        order by published_at
    """).fetchall()
    assert [(s, t) for s, t, _ in rows] == [("reuters", "20:10"), ("sprinterpress", "20:46")]
    assert rows[0][2].startswith("https://x.com/reuters/status/") or rows[0][2].startswith("https://x.com/Reuters/status/")
    assert rows[1][2].startswith("https://x.com/sprinterpress/status/")


def test_blockade_contract_odds_history(con):
    rows = con.execute("""
        select o.venue_ts, o.price_prob
        from odds_snapshots o
        join markets m using (venue, market_id)
        where m.slug = 'us-announces-new-blockade-of-iran-by-july-31' and o.outcome = 'Yes'
        order by o.venue_ts
    """).fetchall()
    assert len(rows) > 100
    at = {t: p for t, p in rows}
    assert at[datetime(2026, 6, 28, 22, 0, tzinfo=timezone.utc)] == pytest.approx(0.20)
    assert rows[0][1] < 0.16


def test_the_edit_is_landed_with_history(con):
    rows = con.execute("""
        select h.text, i.text from item_history h join items i using (source_id, item_id)
        where i.source_id = 'alalamarabic'
    """).fetchall()
    assert any("كربلاء" in new and len(new) > len(old) for old, new in rows)


def test_runs_are_recorded_and_all_sources_ok(con):
    assert con.execute("select count(*) from runs where status = 'completed'").fetchone()[0] == \
        len(load_scenario("iran_talks").run_times)
    assert con.execute("select count(*) from run_sources where status = 'error'").fetchone()[0] == 0


def test_candidate_market_proposed_by_keyword_search(con):
    rows = con.execute("select watchlist_id, slug, status from market_candidates").fetchall()
    assert ("us-iran-talks", "us-iran-technical-talks-resume-by-august-31", "proposed") in rows


def test_the_demo_carries_a_poll_in_a_watched_channel_with_its_results_over_time(con):
    [(question, options, voters)] = con.execute(
        "select question, options, voters from polls where source_id = 'sepah_news'").fetchall()
    assert "مذاکرات فنی" in question and len(options) >= 2 and voters > 0
    observations = con.execute("""select count(distinct observed_at) from poll_results
                                  where source_id = 'sepah_news'""").fetchone()[0]
    assert observations >= 2
    # its question and options are the post's text, so annotation and grouping read it
    text = con.execute("""select i.text from items i join polls p using (source_id, item_id)""").fetchone()[0]
    assert question in text and options[0] in text


def test_the_demo_lands_kalshi_trades_for_the_talks_market_once_each(con):
    trades, distinct_ids = con.execute("""select count(*), count(distinct trade_id) from market_trades
                                          where venue = 'kalshi' and market_id = 'KXUSIRANTALKS-26JUL'""").fetchone()
    assert trades > 0 and trades == distinct_ids
    landed = con.execute("""select trades_landed from market_trade_cursors
                            where venue = 'kalshi' and market_id = 'KXUSIRANTALKS-26JUL'""").fetchone()[0]
    assert landed == trades


def test_the_archived_duplicate_is_landed_but_kept_out_of_the_watch_lists_odds(con):
    assert con.execute("select archived from markets where market_id = '598734'").fetchone()[0] is True
    assert con.execute("select count(*) from odds_snapshots where market_id = '598734'").fetchone()[0] > 0
    assert con.execute("select count(*) from stg_watchlist_markets where market_id = '598734'").fetchone()[0] == 0
    assert con.execute("select count(*) from mart_story_odds where market_id = '598734'").fetchone()[0] == 0
    # the live market with the same question stays
    assert con.execute("""select count(*) from stg_watchlist_markets
                          where question = 'US announces new blockade of Iran by July 31?'""").fetchone()[0] >= 1
