"""The signal tables on the replayed demo day (28 June - 1 July 2026): what the desk's pieces say must be
in the marts. Times, outlets and texts are read off the scenario's posts and market history
(mirror/scenarios/iran_talks/seed_posts.yaml, scenario.yaml)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from signal_desk import db

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TALKS = "us-iran-talks"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(demo_db) -> duckdb.DuckDBPyConnection:
    """The session's replay of the demo (conftest.demo_db), read through its snapshot."""
    con = db.connect(demo_db, read_only=True)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "mart_story_timeline" in tables, "the demo run did not compute the signal marts"
    yield con
    con.close()


def item_at(con, source_id: str, at: str) -> str:
    """The item id of a source's post at a given UTC second (ids are minted by the mirror)."""
    rows = con.execute("select item_id from items where source_id = ? and published_at = ?",
                       [source_id, utc(at)]).fetchall()
    assert len(rows) == 1, f"expected one {source_id} post at {at}, found {len(rows)}"
    return rows[0][0]


def story_of(con, source_id: str, item_id: str, watchlist_id: str = TALKS) -> str | None:
    row = con.execute("select story_id from mart_story_timeline where watchlist_id = ? and source_id = ? "
                      "and item_id = ?", [watchlist_id, source_id, item_id]).fetchone()
    return row[0] if row else None


def timeline_row(con, source_id: str, item_id: str) -> dict:
    cur = con.execute("select * from mart_story_timeline where watchlist_id = ? and source_id = ? and item_id = ?",
                      [TALKS, source_id, item_id])
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    assert row is not None, f"{source_id}/{item_id} is in no story of {TALKS}"
    return dict(zip(cols, row))


@pytest.fixture(scope="module")
def talks(demo):
    ids = {
        "reuters_2010": ("reuters", item_at(demo, "reuters", "2026-06-28T20:10:23")),
        "sprinter_2046": ("sprinterpress", item_at(demo, "sprinterpress", "2026-06-28T20:46:12")),
        "araqchi_2146": ("alalamarabic", item_at(demo, "alalamarabic", "2026-06-28T21:46:08")),
        "araqchi_2147": ("alalamarabic", item_at(demo, "alalamarabic", "2026-06-28T21:47:15")),
        "wire_0020": ("reuters-world", item_at(demo, "reuters-world", "2026-06-29T00:20:00")),
        "axios_ontrack": ("axios", item_at(demo, "axios", "2026-06-28T20:16:40")),
    }
    story = story_of(demo, *ids["reuters_2010"])
    assert story is not None
    return story, ids


def test_one_story_holds_the_talks_day(demo, talks):
    story, ids = talks
    for name, (source_id, item_id) in ids.items():
        assert story_of(demo, source_id, item_id) == story, f"{name} is not in the story of the Reuters 20:10 report"
    first = demo.execute("select first_source_id, first_item_id, first_seen_at from mart_stories "
                         "where watchlist_id = ? and story_id = ?", [TALKS, story]).fetchone()
    assert first == (*ids["reuters_2010"], utc("2026-06-28T20:10:23"))
    row = timeline_row(demo, *ids["reuters_2010"])
    assert row["is_first_report"] and row["relay_of_item_id"] is None
    assert row["published_minute"] == utc("2026-06-28T20:10:00")
    assert (row["outlet_name"], row["register"], row["speaker_id"]) == ("Reuters", "western-wire", "iranian-official")


def test_sprinter_relays_reuters_36_minutes_later(demo, talks):
    _, ids = talks
    row = timeline_row(demo, *ids["sprinter_2046"])
    assert (row["relay_of_source_id"], row["relay_of_item_id"]) == ids["reuters_2010"]
    assert row["relay_lag_minutes"] == 36
    assert row["relay_kind"] == "cites"
    assert row["register"] == "osint"
    relay = demo.execute("select relay_of_source_id, relay_of_item_id, lag_minutes, link_kind from mart_relays "
                         "where source_id = ? and item_id = ?", list(ids["sprinter_2046"])).fetchone()
    assert relay == (*ids["reuters_2010"], 36, "cites")


def test_araqchi_statements_from_the_arabic_text(demo, talks):
    _, ids = talks
    at_2146 = timeline_row(demo, *ids["araqchi_2146"])
    assert at_2146["published_minute"] == utc("2026-06-28T21:46:00")
    assert (at_2146["outlet_name"], at_2146["register"], at_2146["lang"]) == ("Al-Alam Arabic", "state-aligned", "ar")
    assert (at_2146["speaker_id"], at_2146["speaker_name"]) == ("araqchi", "Abbas Araqchi")
    assert at_2146["speech_act"] == "accused"
    assert at_2146["quotes"] == ["لا سيما البند الأول"]
    assert at_2146["claims"] == ["memorandum-violated"]
    at_2147 = timeline_row(demo, *ids["araqchi_2147"])
    assert at_2147["published_minute"] == utc("2026-06-28T21:47:00")
    assert at_2147["speaker_id"] == "araqchi"
    assert at_2147["quotes"] == ["الالتزام مقابل الالتزام"]


def test_the_wire_of_29_june(demo, talks):
    _, ids = talks
    row = timeline_row(demo, *ids["wire_0020"])
    assert row["published_minute"] == utc("2026-06-29T00:20:00")
    assert (row["outlet_name"], row["speaker_id"], row["claims"]) == (
        "Reuters World News", "iranian-official", ["talks-suspended"])
    assert row["attributed_to"] == "an Iranian official speaking to state TV"


def test_us_official_on_track_contradicts_tehran(demo, talks):
    story, ids = talks
    pairs = demo.execute("""
        select source_id_a, item_id_a, source_id_b, item_id_b, speaker_a, speaker_b, url_a, url_b
        from mart_contradictions
        where watchlist_id = ? and story_id = ? and claim_a = 'talks-suspended' and claim_b = 'talks-on-track'
    """, [TALKS, story]).fetchall()
    assert (*ids["reuters_2010"], *ids["axios_ontrack"]) in [p[:4] for p in pairs]
    first = [p for p in pairs if p[:4] == (*ids["reuters_2010"], *ids["axios_ontrack"])][0]
    assert first[4:6] == ("an Iranian official", "a senior US official")
    assert first[6].endswith("/2071325357740156528") or "reuters" in first[6]


def test_qatar_shrapnel_is_another_story(demo, talks):
    story, _ = talks
    qatar = [item_at(demo, "aljazeera-ar", "2026-06-28T15:12:00"),
             item_at(demo, "reuters-world", "2026-06-28T16:02:00")]
    qatar_stories = {story_of(demo, "aljazeera-ar", qatar[0], "gulf-shipping"),
                     story_of(demo, "reuters-world", qatar[1], "gulf-shipping")}
    assert len(qatar_stories) == 1 and None not in qatar_stories
    assert story not in qatar_stories


def test_blockade_odds_beside_the_story(demo, talks):
    story, _ = talks
    row = demo.execute("""
        select question, outcome, price_at_first_report_prob, price_now_prob, move_since_first_report_prob,
               moved_before_first_report
        from mart_story_odds where watchlist_id = ? and story_id = ? and venue = 'polymarket' and market_id = '604417'
    """, [TALKS, story]).fetchone()
    # the Yes price at 20:10 on 28 June was 0.135; at the last run (1 July 18:05) it was 0.272
    assert row == ("US announces new blockade of Iran by July 31?", "Yes", 0.135, 0.272, 0.137, False)
    around = demo.execute("""
        select price_before_prob, price_at_prob, price_after_prob
        from mart_statement_odds s join mart_story_timeline t using (watchlist_id, story_id, source_id, item_id)
        where s.watchlist_id = ? and s.story_id = ? and s.venue = 'polymarket' and t.is_first_report
    """, [TALKS, story]).fetchone()
    assert around == (0.15, 0.135, 0.2)     # 19:10 -> 20:10 -> 21:10


def test_every_signal_has_a_status_with_evidence(demo):
    rows = demo.execute("select watchlist_id, signal_id, status, first_seen_at, evidence_count, evidence "
                        "from mart_signal_status").fetchall()
    status = {(r[0], r[1]): r for r in rows}
    assert set(status) == {(TALKS, s) for s in ("iran-attends-next-session", "memorandum-scope",
                                                 "next-incident-response", "talks-military-linkage",
                                                 "talks-suspended", "blockade-odds-move")} | {("gulf-shipping", "shipping-incident")}
    assert status[(TALKS, "iran-attends-next-session")][2:5] == ("not seen", None, 0)
    # Reuters 20:10 is the first of the outlets that report Iran staying away
    assert status[(TALKS, "talks-suspended")][2:4] == ("seen", utc("2026-06-28T20:10:23"))
    veto = item_at(demo, "alalamarabic", "2026-06-28T21:53:27")
    scope = status[(TALKS, "memorandum-scope")]
    assert scope[2] == "seen" and scope[3] == utc("2026-06-28T21:53:27")
    evidence = json.loads(scope[5])
    assert evidence[0]["source_id"] == "alalamarabic" and evidence[0]["item_id"] == veto
    assert evidence[0]["url"] == f"https://t.me/alalamarabic/{veto}"
    assert evidence[0]["published_at"] == "2026-06-28T21:53:27Z" and evidence[0]["why"] == "claim memorandum-scope"
    odds = status[(TALKS, "blockade-odds-move")]
    # 28 June 21:00: 0.20 against 0.15 a day earlier, the first five-point move
    assert odds[2] == "seen" and odds[3] == utc("2026-06-28T21:00:00")
    assert json.loads(odds[5])[0]["why"] == "Yes at 20.0% (+5.0 pts in 24 h)"
    linkage = status[(TALKS, "talks-military-linkage")]
    assert linkage[2] == "seen" and linkage[3] == utc("2026-07-01T08:42:10")
    assert status[("gulf-shipping", "shipping-incident")][3] == utc("2026-06-28T15:12:00")


def test_registers_side_by_side(demo, talks):
    story, _ = talks
    rows = demo.execute("select register, first_seen_at, order_of_arrival, share_of_volume from mart_story_registers "
                        "where watchlist_id = ? and story_id = ? order by order_of_arrival, register",
                        [TALKS, story]).fetchall()
    assert rows[0][:3] == ("western-wire", utc("2026-06-28T20:10:23"), 1)
    assert {"state-aligned", "osint", "western-media"} <= {r[0] for r in rows}
    assert abs(sum(r[3] for r in rows) - 1.0) < 1e-9


def test_documented_queries_run(demo):
    text = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", text, re.DOTALL)
    assert len(queries) >= 6
    for q in queries:
        rows = demo.execute(q).fetchall()
        assert rows, f"documented query returned nothing:\n{q}"


def test_documented_columns_exist(demo):
    """Every table and view the docs describe exists with the columns they list, and every column of the
    signal tables is described."""
    text = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    sections = re.findall(r"^### `(\w+)`.*?\n(.*?)(?=^### |\Z)", text, re.DOTALL | re.MULTILINE)
    assert len(sections) >= 20
    for name, body in sections:
        documented = re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE)
        actual = [r[0] for r in demo.execute(f"describe {name}").fetchall()]
        assert documented == actual, f"docs/tables.md: columns of {name} differ from the database"
