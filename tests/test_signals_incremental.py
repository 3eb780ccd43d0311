"""compute_signals run after run on a real DuckDB file: story ids stay, a run with nothing new changes
nothing, closed stories are not recomputed, an edit is re-annotated in place.

Posts are the demo scenario's (seed_posts.yaml), landed with the real landing code."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from signal_desk import db, landing
from signal_desk.config import load_config
from signal_desk.items import Item, Market, OddsPoint
from signal_desk.signals import compute_signals
from signal_desk.signals.models import ModelError, load_models

MARTS = ["mart_stories", "mart_story_timeline", "mart_story_registers", "mart_relays", "mart_contradictions",
         "mart_story_odds", "mart_statement_odds", "mart_signal_status"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


REUTERS_2010 = Item("reuters", "2071325357740156528", "https://x.com/reuters/status/2071325357740156528",
                    utc("2026-06-28T20:10:23"),
                    "Iran cancels participation in technical talks with the US over recent attacks, Iranian "
                    "official tells state TV https://reut.rs/3XqT7pL", outlinks=["https://reut.rs/3XqT7pL"], lang="en")
ALALAM_2024 = Item("alalamarabic", "61912", "https://t.me/alalamarabic/61912", utc("2026-06-28T20:24:12"),
                   "🔴 عاجل | مسؤول إيراني للتلفزيون الرسمي: إيران لن تشارك في جولة المحادثات الفنية المقررة مع "
                   "أمريكا بسبب الاعتداءات الأخيرة", lang="ar")
GOLD = Item("reuters", "2071247299666032409", "https://x.com/reuters/status/2071247299666032409",
            utc("2026-06-28T15:00:12"), "Gold climbs 2.4% to $4090 an ounce as investors trim bets on rate cuts",
            lang="en")
SPRINTER_2046 = Item("sprinterpress", "2071334371424105408", "https://x.com/sprinterpress/status/2071334371424105408",
                     utc("2026-06-28T20:46:12"),
                     "BREAKING: An Iranian official, speaking on state TV, confirms Tehran did not attend the "
                     "scheduled technical talks with the US, citing recent attacks — Reuters "
                     "http://127.0.0.1:8765/nitter-a/reuters/status/2071325357740156528",
                     outlinks=["http://127.0.0.1:8765/nitter-a/reuters/status/2071325357740156528"], lang="en")
BBC_2041 = Item("bbcpersian", "95362", "https://t.me/bbcpersian/95362", utc("2026-06-28T20:41:09"),
                "یک مقام ایرانی به تلویزیون دولتی گفت ایران به دلیل حملات اخیر در دور برنامه‌ریزی‌شده مذاکرات فنی "
                "با آمریکا شرکت نکرد.", lang="fa")
KIND = {"reuters": "x", "sprinterpress": "x", "alalamarabic": "telegram", "bbcpersian": "telegram"}


@pytest.fixture
def cfg(monkeypatch):
    monkeypatch.setenv("MIRROR_URL", "http://127.0.0.1:9")
    return load_config("config/demo")


def land(con, run_id: str, items: list[Item], seen_at: datetime) -> None:
    landing.land_items(con, run_id, [(KIND[i.source_id], i) for i in items], seen_at=seen_at)


def snapshot(con) -> dict[str, list]:
    return {m: sorted(map(repr, con.execute(f"select * from {m}").fetchall())) for m in MARTS}


def story_of(con, item: Item) -> str:
    return con.execute("select story_id from stg_story_items where source_id = ? and item_id = ?",
                       [item.source_id, item.item_id]).fetchone()[0]


def test_runs_are_incremental_and_story_ids_stable(tmp_path, cfg):
    con = db.connect(tmp_path / "desk.duckdb")
    t1 = utc("2026-06-28T20:30:00")
    land(con, "r1", [GOLD, REUTERS_2010, ALALAM_2024], t1)
    s1 = compute_signals(con, cfg, "r1", t1)
    assert s1["items_annotated"] == 3 and s1["items_grouped"] == 3
    story = story_of(con, REUTERS_2010)
    assert story_of(con, ALALAM_2024) == story            # English and Arabic, one story
    assert story_of(con, GOLD) != story

    t2 = utc("2026-06-28T21:05:00")
    land(con, "r2", [BBC_2041, SPRINTER_2046], t2)
    s2 = compute_signals(con, cfg, "r2", t2)
    assert s2["items_annotated"] == 2 and s2["items_grouped"] == 2
    assert story_of(con, REUTERS_2010) == story           # the story keeps its id
    relay = con.execute("""
        select relay_of_source_id, relay_of_item_id, relay_lag_minutes, relay_kind from mart_story_timeline
        where source_id = 'sprinterpress' and item_id = ?""", [SPRINTER_2046.item_id]).fetchone()
    assert relay == ("reuters", REUTERS_2010.item_id, 36, "cites")
    first = con.execute("select first_source_id, items from mart_stories where watchlist_id = 'us-iran-talks' "
                        "and story_id = ?", [story]).fetchone()
    assert first == ("reuters", 4)

    before = snapshot(con)
    state_before = con.execute("select state from grouper_state").fetchone()[0]
    s3 = compute_signals(con, cfg, "r3", t2)               # the same hour again, nothing new
    assert (s3["items_annotated"], s3["items_grouped"], s3["stories_new"]) == (0, 0, 0)
    assert snapshot(con) == before
    assert con.execute("select state from grouper_state").fetchone()[0] == state_before

    later = t2 + timedelta(days=10)                        # every story is closed by then
    s4 = compute_signals(con, cfg, "r4", later)
    assert s4["stories_in_scope"] == 0
    assert con.execute("select count(*) from signal_scope").fetchone()[0] == 0
    assert snapshot(con) == before                         # closed stories keep their rows as they were

    edited = Item(**{**ALALAM_2024.as_row(), "text": ALALAM_2024.text + "\n\n(محدّث)", "edited": True})
    t5 = utc("2026-06-28T22:05:00")
    land(con, "r5", [edited], t5)
    s5 = compute_signals(con, cfg, "r5", t5)
    assert (s5["items_annotated"], s5["items_grouped"]) == (1, 0)
    assert story_of(con, ALALAM_2024) == story
    text = con.execute("select text from mart_story_timeline where source_id = 'alalamarabic' and item_id = '61912'"
                       ).fetchone()[0]
    assert text.endswith("(محدّث)")
    runs = con.execute("select run_id, items_annotated from signal_runs order by computed_at").fetchall()
    assert runs == [("r1", 3), ("r2", 2), ("r3", 0), ("r4", 0), ("r5", 1)]
    con.close()


def test_a_changed_watch_list_reannotates_open_stories(tmp_path, cfg):
    con = db.connect(tmp_path / "desk.duckdb")
    t1 = utc("2026-06-28T20:30:00")
    land(con, "r1", [REUTERS_2010], t1)
    compute_signals(con, cfg, "r1", t1)
    wl = cfg.watchlists[0]
    renamed = wl.model_copy(update={"roles": [r.model_copy(update={"name": "an official in Tehran"})
                                              if r.id == "iranian-official" else r for r in wl.roles]})
    cfg2 = cfg.model_copy(update={"watchlists": [renamed, *cfg.watchlists[1:]]})
    s2 = compute_signals(con, cfg2, "r2", t1)
    assert s2["lexicon_changed"] and s2["items_annotated"] == 1
    assert con.execute("select speaker_name from mart_story_timeline where source_id = 'reuters'").fetchone()[0] \
        == "an official in Tehran"
    con.close()


def test_models_run_in_dependency_order():
    models = load_models()
    names = [m.name for m in models]
    assert names.index("stg_items") < names.index("int_scoped_story_items") < names.index("int_relay_links") \
        < names.index("mart_story_timeline") < names.index("mart_stories") < names.index("mart_story_odds")
    assert {m.materialized for m in models if m.name.startswith("stg_")} == {"view"}
    assert {m.refresh for m in models if m.name.startswith("mart_")} == {"story", "full"}


def test_a_mart_must_say_how_it_is_refreshed(tmp_path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "mart_x.sql").write_text("select 1 as x\n", encoding="utf-8")
    with pytest.raises(ModelError, match="mart_x.sql"):
        load_models(tmp_path)


BLOCKADE = Market("polymarket", "551234", "US announces a new blockade of Iran by July 31?", ["Yes", "No"],
                  slug="us-announces-new-blockade-of-iran-by-july-31")
POSTS_ONLY = ["int_relay_links", "mart_contradictions", "mart_relays", "mart_story_registers", "mart_story_timeline"]


def priced(yes: float, at: datetime) -> list[OddsPoint]:
    return [OddsPoint("polymarket", "551234", "Yes", yes, at), OddsPoint("polymarket", "551234", "No", 1 - yes, at)]


def test_a_run_with_nothing_new_keeps_post_marts_and_still_refreshes_odds_marts(tmp_path, cfg, monkeypatch):
    """The same runs twice: as they are, and with every mart recomputed; the tables must not differ."""
    tables = [*MARTS, "int_scoped_story_items", "int_relay_links"]
    edited = Item(**{**ALALAM_2024.as_row(), "text": ALALAM_2024.text + "\n\n(محدّث)", "edited": True})
    hours = [  # (clock, posts landed, odds landed)
        (utc("2026-06-28T20:30:00"), [GOLD, REUTERS_2010, ALALAM_2024],
         priced(0.20, utc("2026-06-27T20:00:00")) + priced(0.20, utc("2026-06-28T20:00:00"))),
        (utc("2026-06-28T21:05:00"), [BBC_2041, SPRINTER_2046], []),
        (utc("2026-06-28T21:35:00"), [], priced(0.35, utc("2026-06-28T21:30:00"))),     # only the odds move
        (utc("2026-06-28T22:05:00"), [], []),                                           # nothing at all
        (utc("2026-06-28T22:35:00"), [edited], []),
        (utc("2026-07-08T22:35:00"), [], []),                                           # every story closed
    ]

    def run_hours(path, keep: bool) -> tuple[list[dict], list[dict]]:
        con = db.connect(path)
        summaries, snapshots = [], []
        with monkeypatch.context() as m:
            if not keep:
                from signal_desk.signals import run as signals_run
                full = signals_run.refresh_marts
                m.setattr(signals_run, "refresh_marts", lambda *a, **k: full(*a, **{**k, "may_keep_posts_only": False}))
            for n, (clock, posts, odds) in enumerate(hours, start=1):
                land(con, f"r{n}", posts, clock)
                landing.land_markets(con, f"r{n}", [BLOCKADE], odds, observed_at=clock)
                summaries.append(compute_signals(con, cfg, f"r{n}", clock))
                snapshots.append({t: sorted(map(repr, con.execute(f"select * from {t}").fetchall())) for t in tables})
        con.close()
        return summaries, snapshots

    kept, kept_tables = run_hours(tmp_path / "kept.duckdb", keep=True)
    full, full_tables = run_hours(tmp_path / "full.duckdb", keep=False)
    assert kept_tables == full_tables
    assert [s["marts_kept"] for s in kept] == [[], [], POSTS_ONLY, POSTS_ONLY, [], POSTS_ONLY]
    assert all(s["marts_kept"] == [] for s in full)
    odds_moved = kept_tables[2]
    assert odds_moved["mart_story_odds"] != kept_tables[1]["mart_story_odds"]
    assert odds_moved["mart_signal_status"] != kept_tables[1]["mart_signal_status"]
    assert all(odds_moved[t] == kept_tables[1][t] for t in POSTS_ONLY if t.startswith("mart_"))
    assert kept_tables[4]["mart_story_timeline"] != kept_tables[3]["mart_story_timeline"]   # the edit shows
