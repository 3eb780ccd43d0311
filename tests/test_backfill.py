"""The backfill flow against the local mirror: a past range lands, and only that range.

Expected posts are read off the scenario the mirror serves (mirror/scenarios/iran_talks), not off
the parser's output.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from flows.backfill import backfill
from mirror.scenario import load_scenario
from mirror.server import MirrorServer
from signal_desk import db
from signal_desk.backfill import check_range, resolve_sources
from signal_desk.config import load_config

pytestmark = pytest.mark.slow

DEMO_CONFIG = str(Path(__file__).resolve().parent.parent / "config" / "demo")
START = datetime(2026, 6, 28, 20, 0, tzinfo=timezone.utc)
END = datetime(2026, 6, 29, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("iran_talks")


@pytest.fixture
def mirror(scenario, monkeypatch):
    with MirrorServer(scenario) as server:
        monkeypatch.setenv("MIRROR_URL", server.base_url)
        yield server


def scenario_ids(scenario, outlet: str, start: datetime, end: datetime) -> set[str]:
    return {str(p.post_id) for p in scenario.posts if p.outlet == outlet and start <= p.published_at <= end}


def scenario_times(scenario, outlet: str, start: datetime, end: datetime) -> list[datetime]:
    return sorted(p.published_at for p in scenario.posts if p.outlet == outlet and start <= p.published_at <= end)


def landed(db_path, source_id: str) -> dict[str, datetime]:
    con = db.connect(db.snapshot_path(db_path), read_only=True)
    try:
        return dict(con.execute("select item_id, published_at from items where source_id = ?", [source_id]).fetchall())
    finally:
        con.close()


def test_telegram_channel_is_paged_back_to_the_range_and_only_the_range_lands(mirror, scenario, tmp_path):
    db_path = tmp_path / "desk.duckdb"
    mirror.set_clock(scenario.end)      # the channel's newest post is 1 July; the range is three days back

    first = backfill(START, END, ["alalamarabic"], config_dir=DEMO_CONFIG, db_path=str(db_path),
                     politeness="mirror")

    items = landed(db_path, "alalamarabic")
    assert set(items) == scenario_ids(scenario, "alalamarabic", START, END)
    # Araqchi's statements from Karbala, carried by Al-Alam at 21:46 and 21:47 UTC (DEMO-FACTS).
    assert items["61915"] == datetime(2026, 6, 28, 21, 46, 8, tzinfo=timezone.utc)
    assert items["61916"] == datetime(2026, 6, 28, 21, 47, 15, tzinfo=timezone.utc)
    assert all(START <= t <= END for t in items.values())
    (cov,) = first["coverage"]
    assert cov["reached_start"] and cov["stopped_by"] is None
    assert datetime.fromisoformat(cov["oldest_seen"]) < START
    assert first["incomplete"] == []
    pages = mirror.request_count("/telegram/s/alalamarabic")
    assert first["sources"][0]["pages_fetched"] == pages > 1

    again = backfill(START, END, ["alalamarabic"], config_dir=DEMO_CONFIG, db_path=str(db_path),
                     politeness="mirror")
    assert again["sources"][0]["items_new"] == 0
    assert again["sources"][0]["items_parsed"] == len(items)

    con = db.connect(db.snapshot_path(db_path), read_only=True)
    try:
        runs = con.execute(
            "select flow, status, summary->>'start', summary->>'end' from runs order by started_at").fetchall()
    finally:
        con.close()
    assert runs == [("backfill", "completed", START.isoformat(), END.isoformat())] * 2


def test_a_page_cap_short_of_the_range_is_reported_not_silent(mirror, scenario, tmp_path):
    db_path = tmp_path / "desk.duckdb"
    mirror.set_clock(scenario.end)

    summary = backfill(START, END, ["alalamarabic"], config_dir=DEMO_CONFIG, db_path=str(db_path),
                       page_cap=1, politeness="mirror")

    assert summary["status"] == "completed"
    (cov,) = summary["coverage"]
    assert not cov["reached_start"] and cov["stopped_by"] == "page cap" and cov["pages"] == 1
    (note,) = summary["incomplete"]
    assert note.startswith("alalamarabic: page cap (1 pages) reached") and "larger page_cap" in note
    # One page of 20 posts reaches back only to 1 July: nothing of 28 June lands, nothing else either.
    assert landed(db_path, "alalamarabic") == {}


def test_feeds_are_fetched_once_and_keep_only_what_falls_in_the_range(mirror, scenario, tmp_path):
    db_path = tmp_path / "desk.duckdb"
    mirror.set_clock(datetime(2026, 6, 29, 1, 30, tzinfo=timezone.utc))

    summary = backfill(START, END, ["reuters", "reuters-world"], config_dir=DEMO_CONFIG, db_path=str(db_path),
                       politeness="mirror")

    assert mirror.request_count("/nitter-") == 1
    assert mirror.request_count("/rss/reuters-world.xml") == 1
    # At 01:30 both feeds still show entries from before 20:00, so the whole range is covered ...
    assert all(c["reached_start"] for c in summary["coverage"]) and summary["incomplete"] == []
    assert {c["source_id"]: c["pages"] for c in summary["coverage"]} == {"reuters": 1, "reuters-world": 1}
    for source_id in ("reuters", "reuters-world"):
        times = sorted(landed(db_path, source_id).values())
        assert times == scenario_times(scenario, source_id, START, END)
    # ... including Reuters' 20:10 UTC report and the 00:20 UTC wire of 29 June (DEMO-FACTS), while the
    # 16:02 UTC Qatar item, still in the feed, is before the range and stays out.
    assert "2071325357740156528" in landed(db_path, "reuters")
    rss_times = landed(db_path, "reuters-world").values()
    assert datetime(2026, 6, 29, 0, 20, tzinfo=timezone.utc) in rss_times
    assert datetime(2026, 6, 28, 16, 2, tzinfo=timezone.utc) not in rss_times


def test_bad_arguments_fail_before_anything_is_fetched(monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:9")
    cfg = load_config(DEMO_CONFIG)
    with pytest.raises(ValueError, match=r"unknown source id\(s\) 'no_such_channel'.*sources.yaml"):
        resolve_sources(cfg, ["alalamarabic", "no_such_channel"])
    with pytest.raises(ValueError, match="is not before end"):
        check_range(END, START)
    assert [s.id for s in resolve_sources(cfg, None)] == [s.id for s in cfg.sources]
    naive_start, _ = check_range(datetime(2026, 6, 28, 20, 0), END)
    assert naive_start == START
