"""A single-post page (t.me/<channel>/<id>) is one post of that channel, not "no such channel"; without a
time it is quarantined at ingest with its reason, never landed with a guessed date."""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signal_desk import landing
from signal_desk.config import load_config
from signal_desk.ingest import parse_fetches
from signal_desk.items import FetchRecord
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.telegram.exceptions import ChannelNotFound, LayoutChanged
from signal_desk.sources.telegram.parse import parse
from tests.pipeline_helpers import write_config

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
OG_ONLY = FIXTURES / "tme_post_page_og_only_telegram_built.html"
WITH_WIDGET = FIXTURES / "tme_post_page_widget_oper_goblin_built.html"


def test_post_page_with_its_widget_gives_the_post_with_time_and_views():
    cursor, posts = parse(WITH_WIDGET.read_bytes())
    assert cursor is None and len(posts) == 1
    post = posts[0]
    assert (post.channel, post.post_id, post.url) == ("oper_goblin", 22358, "https://t.me/oper_goblin/22358")
    assert post.text == "Британская разведка выяснила, почему Ким Чен Ын начал выводить дочку в свет"
    assert post.views == 214400
    assert post.published_at == datetime(2023, 2, 27, 7, 20, 50, tzinfo=timezone.utc)


def test_post_page_without_widget_gives_the_post_from_og_description():
    cursor, posts = parse(OG_ONLY.read_bytes())
    assert cursor is None and len(posts) == 1
    post = posts[0]
    assert (post.channel, post.post_id, post.url) == ("telegram", 83, "https://t.me/telegram/83")
    assert post.text.startswith("Bonus track. An embeddable HTML-widget is now available")
    assert post.text.endswith("Journalists quoting Telegram channel posts in their articles are going to love this.")
    assert post.views is None and post.published_at is None     # the page carries neither


def test_channel_landing_page_is_still_no_such_channel():
    with pytest.raises(ChannelNotFound):
        parse((FIXTURES / "tme_landing_durov_view_channel.html").read_bytes())


def test_post_page_naming_no_post_is_a_layout_change():
    page = OG_ONLY.read_text(encoding="utf-8")
    page = page.replace("&amp;post=83", "").replace('data-telegram-post="telegram/83"', "")
    with pytest.raises(LayoutChanged, match="single-post page naming no post"):
        parse(page, "telegram")


def test_post_page_without_a_time_is_quarantined_with_its_reason_not_landed(tmp_path, fresh_db):
    cfg = load_config(write_config(tmp_path / "config", "http://127.0.0.1:9"))
    page = FetchRecord("beta", "http://127.0.0.1:9/telegram/telegram/83", datetime.now(timezone.utc), 200,
                       OG_ONLY.read_bytes())
    parsed = parse_fetches(cfg, [SourceFetch(source_id="beta", kind="telegram", pages=[page])])[0]
    assert parsed.items == []
    run_id = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, run_id, [(parsed.kind, it) for it in parsed.items])
    landing.quarantine(fresh_db, run_id, "parse", parsed.rejects)
    assert fresh_db.execute("select count(*) from items").fetchone() == (0,)
    rows = fresh_db.execute("select source_id, record_key, check_name, reason, payload from quarantine").fetchall()
    assert len(rows) == 1
    source_id, record_key, check, reason, payload = rows[0]
    assert (source_id, record_key, check) == ("beta", "https://t.me/telegram/83", "telegram_post_time")
    assert "\n" not in reason and "post 83" in reason and "carries no time" in reason
    assert payload.startswith("Bonus track.")
