"""The mirror's RSS 2.0 and Nitter renderers, read back by the real parsers."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree

from mirror.feeds import render_nitter_rss, render_rss
from mirror.scenario_types import Outlet, Post
from signal_desk.sources.rss import parse_feed
from signal_desk.sources.xmirror import parse_nitter_rss


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


SCRIPT_TEXT = 'Breaking <script>alert(1)</script> & "quotes" ]]> end'

WIRE = Outlet(kind="rss", handle="reuters-world", title="Reuters World News", language="en",
              register="western-wire", description="Top world news")
WIRE_POSTS = [
    Post(outlet="reuters-world", kind="rss", post_id=101, published_at=utc(2026, 6, 29, 0, 20),
         title="Iran will not attend technical talks with US, official says",
         text="DUBAI (Reuters) - Iran will not take part in the planned round of technical talks with the "
              "United States, an Iranian official told state TV, citing recent attacks.\n\n"
              "The official did not say whether Tehran would attend later sessions.",
         author="Reuters Staff", media=["photo"]),
    Post(outlet="reuters-world", kind="rss", post_id=102, published_at=utc(2026, 6, 29, 0, 35),
         text=SCRIPT_TEXT),
    Post(outlet="reuters-world", kind="rss", post_id=103, published_at=utc(2026, 6, 29, 0, 40),
         text="عراقجي: الولايات المتحدة وإسرائيل انتهكتا مذكرة التفاهم، \"خاصة البند الأول\""),
    Post(outlet="reuters-world", kind="rss", post_id=104, published_at=utc(2026, 6, 29, 0, 41),
         text="بقائی: مسیر مذاکره با آمریکا در حال بررسی است؛ «کار دیپلماتیک در خلأ انجام نمی‌شود». " * 6),
]

X_OUTLET = Outlet(kind="x", handle="sprinterpress", title="Sprinter Press", language="en", register="osint")
REUTERS_STATUS = "https://x.com/Reuters/status/2071325272568758289"
X_POSTS = [
    Post(outlet="sprinterpress", kind="x", post_id=2071334361625526289, published_at=utc(2026, 6, 28, 20, 46),
         text="An Iranian official, via state TV: Tehran did not attend the scheduled technical talks, "
              f"citing recent attacks. {REUTERS_STATUS} #Iran @Reuters\nSource: https://www.example.org/iran/talks-2026-06-28",
         media=["photo", "photo"]),
    Post(outlet="sprinterpress", kind="x", post_id=2071334361625526300, published_at=utc(2026, 6, 28, 20, 47),
         text="Iran cancels participation in technical talks with the US over recent attacks",
         forwarded_from=f"Reuters|{REUTERS_STATUS}"),
    Post(outlet="sprinterpress", kind="x", post_id=2071334361625526400, published_at=utc(2026, 6, 28, 20, 48),
         text="عراقچی: آمریکا و اسرائیل یادداشت تفاهم را نقض کردند #ایران", reply_to=2071334361625526289,
         media=["video"]),
    Post(outlet="sprinterpress", kind="x", post_id=2071334361625526500, published_at=utc(2026, 6, 28, 20, 49),
         text=SCRIPT_TEXT),
    Post(outlet="sprinterpress", kind="x", post_id=1785964948485046289, published_at=utc(2024, 5, 2, 9, 30),
         text="Older post, before Nitter's guid change"),
]


def read_rss(document: bytes):
    return parse_feed(document, source_id="reuters-world", feed_url="http://127.0.0.1:8000/rss/reuters-world.xml")


def read_nitter(document: bytes, instance: str):
    return parse_nitter_rss(document, source_id="sprinterpress", account="sprinterpress", instance_url=instance)


def test_rss_round_trip_keeps_ids_times_and_text():
    document = render_rss(WIRE, WIRE_POSTS, base_url="http://127.0.0.1:8000")
    items, rejects = read_rss(document)

    assert rejects == []
    by_id = {item.item_id: item for item in items}
    assert list(by_id) == ["reuters-world-104", "reuters-world-103", "reuters-world-102", "reuters-world-101"]
    for post in WIRE_POSTS:
        item = by_id[f"reuters-world-{post.post_id}"]
        assert item.published_at == post.published_at
        expected = f"{post.title}\n\n{post.text}" if post.title else post.text.strip()
        assert item.text == expected
        assert item.url == (post.links[0] if post.links else
                            f"https://reuters-world.example.org/news/{post.post_id}")   # the article, not the mirror
        assert item.lang == "en"
    assert by_id["reuters-world-101"].author == "Reuters Staff"
    assert by_id["reuters-world-101"].media_kinds == ["photo"]


def test_rss_ids_do_not_depend_on_the_mirror_address():
    one, _ = read_rss(render_rss(WIRE, WIRE_POSTS, base_url="http://127.0.0.1:8000"))
    other, _ = read_rss(render_rss(WIRE, WIRE_POSTS, base_url="http://127.0.0.1:9999/mirror/"))
    assert [i.item_id for i in one] == [i.item_id for i in other]


def test_rss_document_shape_follows_the_real_feeds():
    document = render_rss(WIRE, WIRE_POSTS, base_url="http://127.0.0.1:8000")
    root = etree.fromstring(document)
    ns = {"content": "http://purl.org/rss/1.0/modules/content/", "dc": "http://purl.org/dc/elements/1.1/"}
    channel = root.find("channel")

    assert root.get("version") == "2.0"
    assert channel.findtext("title") == "Reuters World News"
    assert channel.findtext("language") == "en"
    assert channel.findtext("lastBuildDate") == "Mon, 29 Jun 2026 00:41:00 GMT"
    items = channel.findall("item")
    long_item = items[-1]  # post 101: two paragraphs -> content:encoded
    assert long_item.findtext("pubDate") == "Mon, 29 Jun 2026 00:20:00 GMT"
    assert long_item.find("guid").get("isPermaLink") == "false"
    assert long_item.findtext("dc:creator", namespaces=ns) == "Reuters Staff"
    assert long_item.findtext("content:encoded", namespaces=ns).startswith("<p>DUBAI (Reuters) - Iran")
    short_item = items[-2]  # post 102: one short line -> no content:encoded
    assert short_item.find("content:encoded", namespaces=ns) is None
    assert short_item.findtext("title") == SCRIPT_TEXT  # a plain-text field, in CDATA like the BBC's
    # description is HTML: markup in the text arrives escaped, never as a live element
    assert short_item.findtext("description") == (
        'Breaking &lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes" ]]&gt; end')


def test_nitter_round_trip_keeps_ids_times_and_text():
    instance = "http://127.0.0.1:8080/nitter-a"
    document = render_nitter_rss(X_OUTLET, X_POSTS, instance_base=instance)
    items, rejects = read_nitter(document, instance)

    assert rejects == []
    by_id = {item.item_id: item for item in items}
    own = by_id["2071334361625526289"]
    assert own.url == "https://x.com/sprinterpress/status/2071334361625526289"
    assert own.text == X_POSTS[0].text
    assert own.published_at == utc(2026, 6, 28, 20, 46)
    assert own.media_kinds == ["photo", "photo"]
    assert own.outlinks == [REUTERS_STATUS, "https://www.example.org/iran/talks-2026-06-28"]

    retweet = by_id["2071325272568758289"]  # keyed by the original status, not the repost
    assert retweet.url == REUTERS_STATUS
    assert (retweet.forwarded_from_name, retweet.forwarded_from_url) == ("@Reuters", REUTERS_STATUS)
    assert retweet.text == X_POSTS[1].text
    assert retweet.published_at == utc(2026, 6, 28, 20, 47)

    reply = by_id["2071334361625526400"]
    assert reply.text == X_POSTS[2].text
    assert reply.reply_to_url == "https://x.com/sprinterpress"
    assert reply.media_kinds == ["video"]

    assert by_id["2071334361625526500"].text == SCRIPT_TEXT
    assert by_id["1785964948485046289"].published_at == utc(2024, 5, 2, 9, 30)


def test_nitter_links_live_on_the_instance_with_m_and_guids_follow_the_cutoff():
    instance = "https://nitter.mirror.test"
    root = etree.fromstring(render_nitter_rss(X_OUTLET, X_POSTS, instance_base=instance))
    items = {item.findtext("link"): item for item in root.find("channel").findall("item")}

    new_link = "https://nitter.mirror.test/sprinterpress/status/2071334361625526289#m"
    assert items[new_link].findtext("guid") == "2071334361625526289"
    assert items[new_link].find("guid").get("isPermaLink") == "false"
    old_link = "https://nitter.mirror.test/sprinterpress/status/1785964948485046289#m"
    assert items[old_link].findtext("guid") == old_link
    retweet = items["https://nitter.mirror.test/Reuters/status/2071325272568758289#m"]
    assert retweet.findtext("title").startswith("RT by @sprinterpress: Iran cancels")
    assert retweet.findtext("{http://purl.org/dc/elements/1.1/}creator") == "@Reuters"
    assert root.find("channel").findtext("title") == "Sprinter Press / @sprinterpress"


def test_one_post_through_two_instances_lands_as_one_item():
    first, _ = read_nitter(render_nitter_rss(X_OUTLET, X_POSTS, instance_base="http://127.0.0.1:8081"),
                           "http://127.0.0.1:8081")
    second, _ = read_nitter(render_nitter_rss(X_OUTLET, X_POSTS, instance_base="http://127.0.0.1:8082/x2"),
                            "http://127.0.0.1:8082/x2")
    assert [(i.item_id, i.url) for i in first] == [(i.item_id, i.url) for i in second]
    assert [i.as_row() for i in first] == [i.as_row() for i in second]


@pytest.mark.parametrize("render, read", [
    (lambda posts, as_of: render_rss(WIRE, posts, base_url="http://m", as_of=as_of), read_rss),
    (lambda posts, as_of: render_nitter_rss(X_OUTLET, posts, instance_base="http://m", as_of=as_of),
     lambda doc: read_nitter(doc, "http://m")),
], ids=["rss", "nitter"])
def test_edits_show_from_their_time_on(render, read):
    post = Post(outlet="x", kind="x", post_id=2071334361625529999, published_at=utc(2026, 6, 28, 21, 0),
                text="Talks cancelled", edited_at=utc(2026, 6, 28, 21, 30), edited_text="Talks postponed")
    (before,), _ = read(render([post], utc(2026, 6, 28, 21, 10)))
    (after,), _ = read(render([post], utc(2026, 6, 28, 22, 0)))
    assert (before.text, after.text) == ("Talks cancelled", "Talks postponed")
    assert before.item_id == after.item_id
