"""The mirror's t.me/s pages: rendered from scenario posts, read back by the real parser."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mirror.scenario_types import Outlet, Post
from mirror.telegram_page import format_counter, format_views, render_channel_page, render_not_found
from signal_desk.sources.telegram import ChannelNotFound, LayoutChanged
from signal_desk.sources.telegram.parse import parse, parse_count, scan

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
BASE = "http://127.0.0.1:8765/telegram"
HANDLE = "alalamarabic"
HOSTILE = 'عاجل <script>alert(1)</script> <img src=x onerror="alert(2)"> & "quotes"'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


OUTLET = Outlet(kind="telegram", handle=HANDLE, title="قناة العالم الإخبارية", language="ar",
                register="state-aligned", description="القناة الرسمية\nhttps://www.alalam.ir",
                subscribers=412_345, created_at=utc(2016, 3, 14, 9, 0))


def post(post_id: int, minute: int, text: str, **fields) -> Post:
    return Post(outlet=HANDLE, kind="telegram", post_id=post_id, published_at=utc(2026, 6, 28, 21, minute),
                text=text, **fields)


POSTS = [
    post(48210, 46, "عراقجي: الولايات المتحدة و«إسرائيل» انتهكتا المذكرة\n«لا سيما البند الأول»\n\nالتفاصيل لاحقاً",
         views=37200),
    post(48211, 47, "«الالتزام مقابل الالتزام»", views=18400, author="محرر الأخبار",
         forwarded_from="وزارة الخارجية الإيرانية|https://t.me/iranmfa/9120"),
    post(48212, 50, "بيان أولي", views=999, edited_at=utc(2026, 6, 28, 22, 30), edited_text="بيان معدّل\nسطر ثان"),
    post(48213, 52, HOSTILE, views=1_250_000, reply_to=48210),
    post(48214, 55, "", views=5120, media=["photo"]),
    post(48215, 58, "صور من كربلاء https://www.alalam.ir/news/123 #كربلاء", views=746,
         media=["photo", "video", "photo"],
         links=["https://www.alalam.ir/news/123", "https://x.com/Reuters/status/1939000000000000000"]),
    post(48219, 59, "رسالة صوتية", media=["voice"], forwarded_from="Hidden user|"),
]


def render(posts=POSTS, *, before=None, as_of=None, outlet=OUTLET) -> str:
    return render_channel_page(outlet, posts, before=before, base_url=BASE, as_of=as_of)


def parsed(html: str) -> dict[int, object]:
    return {p.post_id: p for p in parse(html, HANDLE)[1]}


# ---------------------------------------------------------------- round trip through the real parser

def test_round_trip_gives_the_posts_back():
    html = render(before=48100, as_of=utc(2026, 6, 29, 0, 0))
    cursor, posts = parse(html, HANDLE)
    assert cursor == 48100
    assert [p.post_id for p in posts] == [48210, 48211, 48212, 48213, 48214, 48215, 48219]
    back = {p.post_id: p for p in posts}
    for original in POSTS:
        got = back[original.post_id]
        assert got.url == f"https://t.me/{HANDLE}/{original.post_id}"
        assert got.published_at == original.published_at
        # Views come back at the precision Telegram shows them ("5.1K" for 5120).
        assert got.views == (None if original.views is None else parse_count(format_views(original.views)))
        assert got.author == original.author
        assert got.reply_to_url == (f"https://t.me/{HANDLE}/{original.reply_to}" if original.reply_to else None)
        assert sorted(got.media_kinds) == sorted(original.media)
        assert got.is_service is False

    assert back[48210].text == POSTS[0].text                       # Arabic, single and double line breaks
    assert back[48210].views == 37200                               # shown as "37.2K"
    assert (back[48211].forwarded_from_name, back[48211].forwarded_from_url) == (
        "وزارة الخارجية الإيرانية", "https://t.me/iranmfa/9120")
    assert (back[48219].forwarded_from_name, back[48219].forwarded_from_url) == ("Hidden user", None)
    assert back[48213].text == HOSTILE                              # hostile text comes back as plain text
    assert back[48213].views == 1_200_000                           # "1.2M": Telegram's own rounding
    assert (back[48214].text, back[48214].views) == ("", 5100)


def test_edits_show_from_edited_at_on():
    before_edit = parsed(render(as_of=utc(2026, 6, 28, 22, 0)))[48212]
    after_edit = parsed(render(as_of=utc(2026, 6, 28, 22, 30)))[48212]
    no_clock = parsed(render())[48212]
    assert (before_edit.text, before_edit.edited) == ("بيان أولي", False)
    assert (after_edit.text, after_edit.edited) == ("بيان معدّل\nسطر ثان", True)
    assert (no_clock.text, no_clock.edited) == ("بيان أولي", False)


def test_links_hashtags_and_albums():
    got = parsed(render())[48215]
    # The URL in the text is a link; the post's other link is shown as its own line, as Telegram would.
    assert got.text == ("صور من كربلاء https://www.alalam.ir/news/123 #كربلاء\n"
                        "https://x.com/Reuters/status/1939000000000000000")
    assert got.outlinks == ["https://www.alalam.ir/news/123", "https://x.com/Reuters/status/1939000000000000000"]
    # Several photos/videos make an album; it consumes the following ids as Telegram's do.
    assert (got.media_kinds, got.album_id, got.album_post_ids) == (["photo", "video", "photo"], "48215",
                                                                    [48215, 48216, 48217])


def test_hostile_text_is_escaped_in_the_markup():
    html = render()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'onerror=&quot;alert(2)&quot;' in html


def test_hostile_outlet_fields_are_escaped():
    outlet = Outlet(kind="telegram", handle="evil_ch", title='<b onmouseover="x">T</b>', language="en",
                    register="partisan", description="<script>d()</script>")
    html = render([], outlet=outlet)
    assert "<script>d()" not in html and '<b onmouseover' not in html
    assert parse(html, "evil_ch") == (None, [])


# ---------------------------------------------------------------- paging and the channel's start

def test_older_page_link_and_canonical():
    html = render(POSTS[3:], before=48213)
    assert '<link rel="prev" href="/s/alalamarabic?before=48213">' in html
    assert 'data-before="48213"' in html
    assert '<link rel="canonical" href="/s/alalamarabic?before=48220">' in html
    cursor, posts = parse(html)
    page = scan(html.encode())
    assert cursor == page.before == 48213
    assert page.post_ids == [p.post_id for p in posts] == [48213, 48214, 48215, 48219]
    assert not any(p.is_service for p in posts)


def test_first_page_shows_channel_created():
    cursor, posts = parse(render(POSTS[:2]))
    assert cursor is None
    assert (posts[0].post_id, posts[0].is_service, posts[0].text) == (1, True, "Channel created")
    assert posts[0].published_at == utc(2016, 3, 14, 9, 0)
    assert posts[0].views is None
    assert scan(render(POSTS[:2])).post_ids == [1, 48210, 48211]


def test_channel_with_nothing_yet():
    outlet = Outlet(kind="telegram", handle="new_channel", title="New", language="en", register="osint")
    assert parse(render([], outlet=outlet)) == (None, [])


def test_posts_are_shown_oldest_first_whatever_order_given():
    _, posts = parse(render(list(reversed(POSTS)), before=48200))
    assert [p.post_id for p in posts] == sorted(p.post_id for p in POSTS)


def test_view_and_counter_formats():
    assert [format_views(n) for n in (1, 746, 999, 1000, 29_000, 37_249, 214_400, 999_999, 1_234_567)] == [
        "1", "746", "999", "1.0K", "29.0K", "37.2K", "214.4K", "999.9K", "1.2M"]
    assert [format_counter(n) for n in (1, 8, 19_600, 109_000, 412_345, 2_500_000)] == [
        "1", "8", "19.6K", "109K", "412K", "2.5M"]
    assert "412K subscribers" in render()


# ---------------------------------------------------------------- failure pages

def test_not_found_page_is_channel_not_found():
    html = render_not_found("gone_private")
    assert "Telegram: Contact @gone_private" in html
    assert scan(html).is_preview_page is False
    with pytest.raises(ChannelNotFound) as raised:
        parse(html)
    assert raised.value.channel == "gone_private"


def test_renamed_markup_reads_as_layout_change():
    html = render().replace("tgme_widget_message", "tgme_post_v2").replace("tgme_channel_info", "tgme_ch_v2")
    with pytest.raises(LayoutChanged, match="alalamarabic"):
        parse(html, HANDLE)
    assert scan(html).post_ids == []


@pytest.mark.parametrize("bad", [
    dict(posts=[Post(outlet="other", kind="telegram", post_id=1, published_at=utc(2026, 6, 28), text="x")]),
    dict(posts=[Post(outlet=HANDLE, kind="telegram", post_id=1, published_at=datetime(2026, 6, 28), text="x")]),
    dict(posts=POSTS, before=48300),
    dict(posts=[post(48300, 1, "x", media=["hologram"])]),
])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        render(**bad)


def test_bad_handle_is_refused():
    with pytest.raises(ValueError, match="not a Telegram channel name"):
        render_not_found('x"><script>')


# ---------------------------------------------------------------- markup follows the real pages

def _class_tokens(html: str) -> set[str]:
    return {token for value in re.findall(r'class="([^"]*)"', html) for token in value.split()}


def test_message_markup_uses_the_real_class_names():
    real = set().union(*(_class_tokens(p.read_text(encoding="utf-8")) for p in FIXTURES.glob("tme_s_*.html")),
                       *(_class_tokens(p.read_text(encoding="utf-8")) for p in FIXTURES.glob("fragment_*.html")))
    rendered = render([*POSTS, post(48220, 59, "", media=["document", "round_video", "sticker"], author="A")],
                      before=48000, as_of=utc(2026, 6, 29))
    # Replies are the one part no real sample shows; their class names come from other captures.
    reply_only = {"tgme_widget_message_reply", "tgme_widget_message_author_name",
                  "tgme_widget_message_metatext", "js-message_reply_text",
                  "tgme_widget_message_sticker", "js-sticker_image"}
    assert _class_tokens(rendered) - real - reply_only == set()
