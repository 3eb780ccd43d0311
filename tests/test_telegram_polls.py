"""Telegram polls: parsed from the real markup, served by the mirror, landed in polls / poll_results by a
real hourly run, and read by annotation and story grouping through the post's text."""
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from flows.hourly import hourly
from mirror.scenario import load_scenario
from mirror.scenario_types import Post, ScenarioPoll
from mirror.server import MirrorServer
from mirror.telegram_page import render_channel_page
from signal_desk import landing
from signal_desk.sources.telegram.exceptions import LayoutChanged
from signal_desk.sources.telegram.parse import parse
from tests.pipeline_helpers import T0, query, small_scenario, write_config

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
REAL_POLL = FIXTURES / "fragment_poll_multiple_ru_any2feed.html"

POLL_AT = T0 + timedelta(minutes=30)
BLOCKADE_POLL = ScenarioPoll(
    question="Will the US announce a new blockade of Iran this month?",
    options=[("Yes, within days", 46), ("Yes, but later", 31), ("No blockade", 23)], voters=1840)


def test_real_poll_gives_question_options_percentages_and_voters():
    _, posts = parse(REAL_POLL.read_bytes())
    post = posts[0]
    assert (post.channel, post.post_id, post.views) == ("it_begin", 488, 1100)
    poll = post.poll
    assert poll.question == "Как лучше?"
    assert [(o.text, o.percent) for o in poll.options] == [
        ("Несколько постов в день", 16), ("Один пост в несколько дней", 83), ("Свой вариант в комментарии", 3)]
    assert poll.voters == 222
    assert (poll.anonymous, poll.multiple_choice, poll.quiz) == (True, True, False)
    assert post.media_kinds == ["poll"]


def test_poll_text_is_the_question_and_the_options():
    _, posts = parse(REAL_POLL.read_bytes())
    item = posts[0].to_item("it_begin")
    assert item.text.splitlines() == ["Как лучше?", "Несколько постов в день", "Один пост в несколько дней",
                                      "Свой вариант в комментарии"]
    assert item.poll is posts[0].poll


def test_unreadable_percentage_names_the_channel_and_post():
    broken = REAL_POLL.read_text(encoding="utf-8").replace(">16%<", ">sixteen<")
    with pytest.raises(LayoutChanged, match=r"telegram:it_begin it_begin/488: poll option percentage 'sixteen'"):
        parse(broken)


def test_mirror_renders_a_poll_the_parser_reads_back_as_served():
    sc = load_scenario()
    post = next(p for p in sc.posts if p.seed_fact == "sepah-talks-poll")
    outlet = sc.outlet("sepah_news")
    early = render_channel_page(outlet, [post], before=None, base_url="http://mirror/telegram",
                                as_of=post.published_at + timedelta(minutes=30))
    late = render_channel_page(outlet, [post], before=None, base_url="http://mirror/telegram",
                               as_of=post.published_at + timedelta(hours=5))
    early_poll, late_poll = parse(early)[1][-1].poll, parse(late)[1][-1].poll
    assert early_poll.question == post.poll.question == late_poll.question
    assert [(o.text, o.percent) for o in late_poll.options] == post.poll.options
    assert post.poll.voters == 9870
    assert early_poll.voters < late_poll.voters == 9800      # votes keep arriving; the page shows "9.8K"


def test_demo_poll_is_on_the_talks_watch_list_question():
    sc = load_scenario()
    post = next(p for p in sc.posts if p.seed_fact == "sepah-talks-poll")
    assert (post.outlet, post.published_at.isoformat()) == ("sepah_news", "2026-06-28T21:58:31+00:00")
    assert "مذاکرات فنی" in post.poll.question        # a keyword of the us-iran-talks watch list


@pytest.fixture
def poll_env(tmp_path):
    sc = small_scenario(with_x=False, with_rss=False, with_market=False)
    sc.posts.append(Post(outlet="beta_news", kind="telegram", post_id=600, published_at=POLL_AT, text="",
                         views=2400, poll=BLOCKADE_POLL))
    with MirrorServer(sc, as_of=POLL_AT + timedelta(hours=1)) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url, with_market=False)
        yield mirror, str(cfg), str(tmp_path / "desk.duckdb"), sc


def run(cfg, db):
    return hourly(config_dir=cfg, db_path=db, politeness="test", with_markets=False,
                  source_ids=["alpha", "beta"])


def test_poll_lands_from_the_mirror_and_reruns_add_nothing(poll_env):
    mirror, cfg, db, sc = poll_env
    run(cfg, db)
    assert query(db, "select question, options, kind, multiple_choice, voters from polls") == [(
        BLOCKADE_POLL.question, [o for o, _ in BLOCKADE_POLL.options], "anonymous", False, 613)]
    first = query(db, "select option_index, option_text, percent, voters from poll_results order by 1")
    assert first == [(0, "Yes, within days", 46, 613), (1, "Yes, but later", 31, 613), (2, "No blockade", 23, 613)]

    run(cfg, db)                                  # the same hour again
    assert query(db, "select count(*) from polls") == [(1,)]
    assert query(db, "select count(*) from poll_results") == [(3,)]

    mirror.set_clock(POLL_AT + timedelta(hours=4))   # more votes: a new observation, not an edit
    run(cfg, db)
    assert query(db, "select voters from polls") == [(1800,)]     # the page shows "1.8K"
    assert query(db, "select count(distinct observed_at), count(*) from poll_results") == [(2, 6)]
    assert query(db, "select count(*) from item_history where item_id = '600'") == [(0,)]
    assert query(db, "select edited from items where item_id = '600'") == [(False,)]


def test_poll_text_reaches_annotation_and_grouping(poll_env):
    _, cfg, db, _ = poll_env
    run(cfg, db)
    text, kinds = query(db, "select text, media_kinds from items where source_id = 'beta' and item_id = '600'")[0]
    assert text.splitlines()[0] == BLOCKADE_POLL.question and "No blockade" in text
    assert kinds == ["poll"]
    keywords, watchlists = query(db, "select keywords, watchlist_ids from item_annotations "
                                     "where source_id = 'beta' and item_id = '600'")[0]
    assert "blockade" in [k.lower() for k in keywords] and watchlists == ["test-list"]
    assert query(db, "select count(*) from story_items where source_id = 'beta' and item_id = '600'") == [(1,)]


def test_poll_landing_keeps_the_last_copy_of_a_poll_seen_twice_in_one_batch(fresh_db):
    _, posts = parse(REAL_POLL.read_bytes())
    older = posts[0].to_item("it_begin")
    newer = replace(older, poll=replace(older.poll, voters=230))
    run_id = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, run_id, [("telegram", older), ("telegram", newer)])
    assert fresh_db.execute("select voters from polls").fetchall() == [(230,)]
    assert fresh_db.execute("select distinct voters from poll_results").fetchall() == [(230,)]
