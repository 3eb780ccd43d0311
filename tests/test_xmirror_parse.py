"""Nitter-style RSS parsing. The fixtures are built from Nitter's own templates (no real capture
exists; see tests/fixtures/xmirror/PROVENANCE.md); expected values are read off that XML."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from signal_desk.items import PayloadError
from signal_desk.sources.xmirror import MirrorUnavailable, instance_rss_url, parse_nitter_rss

FIXTURES = Path(__file__).parent / "fixtures" / "xmirror"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def parse(name_or_bytes: str | bytes, instance: str = "https://nitter.net", account: str = "DeskWire"):
    content = name_or_bytes if isinstance(name_or_bytes, bytes) else (FIXTURES / name_or_bytes).read_bytes()
    return parse_nitter_rss(content, source_id="deskwire", account=account, instance_url=instance)


@pytest.fixture(scope="module")
def deskwire():
    items, rejects = parse("nitter_rss_deskwire_nitter_net.xml")
    assert rejects == []
    return {item.item_id: item for item in items}


def test_every_item_is_keyed_by_its_x_status(deskwire):
    assert list(deskwire) == [
        "2071339151520694289", "2071337507353526289", "2071325272568758289",
        "2071334701364150289", "1785964948485046289", "1767229575525302289",
    ]
    own = deskwire["2071339151520694289"]
    assert own.url == "https://x.com/DeskWire/status/2071339151520694289"
    assert own.published_at == utc(2026, 6, 28, 21, 5, 12)
    assert own.author == "@DeskWire"
    assert own.forwarded_from_name is None and own.reply_to_url is None
    assert own.lang is None


def test_text_keeps_line_breaks_mentions_tags_and_writes_out_shortened_links(deskwire):
    own = deskwire["2071339151520694289"]
    assert own.text == (
        "Live: Iran says it will not attend the technical talks with the US.\n"
        "\n"
        "Thread with sources below 👇 via @Reuters #Iran\n"
        "Full timeline: https://desk.example.org/iran-talks-timeline-2026")
    assert own.outlinks == ["https://desk.example.org/iran-talks-timeline-2026"]
    assert own.media_kinds == ["photo", "photo"]


def test_retweet_keeps_the_original_status_and_names_its_author(deskwire):
    retweet = deskwire["2071325272568758289"]
    assert retweet.url == "https://x.com/Reuters/status/2071325272568758289"
    assert retweet.forwarded_from_name == "@Reuters"
    assert retweet.forwarded_from_url == "https://x.com/Reuters/status/2071325272568758289"
    assert retweet.author == "@Reuters"
    assert retweet.text == ("Iran cancels participation in technical talks with the US over recent attacks, "
                            "an Iranian official tells state TV")
    assert retweet.published_at == utc(2026, 6, 28, 20, 10, 3)


def test_reply_video_quote_pinned_and_media_only_items(deskwire):
    reply = deskwire["2071337507353526289"]
    assert reply.reply_to_url == "https://x.com/DeskWire"
    assert reply.text == '2/ A senior US official says the talks remain "on track" and no meetings were cancelled.'
    assert reply.media_kinds == ["video"]  # the "Video" label of Nitter's thumbnail link is not text

    quote = deskwire["2071334701364150289"]
    assert quote.text == (
        "Confirmed by a second outlet:\n\nSprinter Press (@sprinterpress)\n\n"
        "Iranian official via state TV: Tehran did not attend the scheduled technical talks, citing recent "
        "attacks.\n\n— https://x.com/sprinterpress/status/2071334361625526289")
    assert quote.outlinks == ["https://x.com/sprinterpress/status/2071334361625526289"]
    assert quote.media_kinds == []  # the photo belongs to the quoted tweet

    pinned = deskwire["1785964948485046289"]  # guid is the instance URL for pre-cut-off ids
    assert pinned.url == "https://x.com/DeskWire/status/1785964948485046289"
    assert pinned.published_at == utc(2024, 5, 2, 9, 30, 0)
    assert pinned.text == "Corrections policy: we fix errors in the open. Read it here: https://desk.example.org/corrections"

    gif = deskwire["1767229575525302289"]
    assert (gif.text, gif.media_kinds) == ("", ["video"])


def test_the_same_posts_through_two_instances_are_the_same_items():
    via_nitter, _ = parse("nitter_rss_deskwire_nitter_net.xml", instance="https://nitter.net")
    via_xcancel, _ = parse("nitter_rss_deskwire_xcancel_com.xml", instance="https://xcancel.com/")
    assert [i.as_row() for i in via_nitter] == [i.as_row() for i in via_xcancel]


def test_rate_limited_instance_is_unavailable_so_the_fetch_fails_over():
    with pytest.raises(MirrorUnavailable) as raised:
        parse("nitter_rate_limited_429.html")
    error = raised.value
    assert isinstance(error, PayloadError)
    assert error.locator == "https://nitter.net/DeskWire/rss"
    assert "Instance has been rate limited. Use another instance or try again later." in str(error)


def test_reader_refusal_placeholder_feed_is_unavailable():
    with pytest.raises(MirrorUnavailable, match="RSS reader not yet whitelisted!"):
        parse("xcancel_reader_not_whitelisted.xml", instance="https://xcancel.com")


@pytest.mark.parametrize("content", [b"", b"RSS feed is disabled", b"\x1f\x8b\x08 gzip garbage"])
def test_non_rss_answers_are_unavailable(content):
    with pytest.raises(MirrorUnavailable, match="https://nitter.example/DeskWire/rss"):
        parse(content, instance="https://nitter.example")


def test_a_feed_of_another_account_is_unavailable():
    content = (FIXTURES / "nitter_rss_deskwire_nitter_net.xml").read_bytes()
    with pytest.raises(MirrorUnavailable, match="@DeskWire, not @reuters"):
        parse(content, account="reuters")


def test_items_without_status_or_date_are_rejected_the_rest_parsed():
    content = (FIXTURES / "nitter_rss_deskwire_nitter_net.xml").read_bytes()
    content = content.replace(b"<pubDate>Sun, 28 Jun 2026 20:58:40 GMT</pubDate>", b"", 1)
    content = content.replace(
        b'<guid isPermaLink="false">2071334701364150289</guid>\n'
        b"        <link>https://nitter.net/DeskWire/status/2071334701364150289#m</link>",
        b"<link>https://nitter.net/DeskWire</link>", 1)

    items, rejects = parse(content)

    assert [i.item_id for i in items] == [
        "2071339151520694289", "2071325272568758289", "1785964948485046289", "1767229575525302289"]
    assert [(r.locator, r.reason) for r in rejects] == [
        ("https://nitter.net/DeskWire/rss entry[1]", "entry has no pubDate"),
        ("https://nitter.net/DeskWire/rss entry[3]",
         "no x status in link 'https://nitter.net/DeskWire' or guid None"),
    ]
    assert "Confirmed by a second outlet" in rejects[1].raw


OLDER_TEMPLATE_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>Desk Wire / @DeskWire</title>
    <link>https://nitter.net/DeskWire</link>
    <item>
      <title>RT: first line</title>
      <dc:creator>@sprinterpress</dc:creator>
      <description><![CDATA[<p>first line

second paragraph <a href="https://groups.google.com/g/example/c/AbCdEf">groups.google.com/g/example/c…</a></p>
<img src="https://nitter.net/pic/media%2FE6NAesDXsAAF1uK.png" width="250" />]]></description>
      <pubDate>Tue, 13 Jul 2021 20:29:39 GMT</pubDate>
      <guid>https://nitter.net/sprinterpress/status/1415045781233545218#m</guid>
      <link>https://nitter.net/sprinterpress/status/1415045781233545218#m</link>
    </item>
  </channel>
</rss>"""  # shape of rss.nimf before the "RT by @" titles and <br> line breaks


def test_older_template_raw_newlines_and_plain_rt_prefix():
    (item,), _ = parse(OLDER_TEMPLATE_ITEM.encode())
    assert item.text == "first line\n\nsecond paragraph https://groups.google.com/g/example/c/AbCdEf"
    assert item.forwarded_from_url == "https://x.com/sprinterpress/status/1415045781233545218"
    assert item.published_at == utc(2021, 7, 13, 20, 29, 39)
    assert item.media_kinds == ["photo"]


@pytest.mark.parametrize("base, account, expected", [
    ("https://nitter.net", "DeskWire", "https://nitter.net/DeskWire/rss"),
    ("https://xcancel.com/", "@reuters", "https://xcancel.com/reuters/rss"),
    ("http://127.0.0.1:8080/nitter-a/", "IRIran_Military", "http://127.0.0.1:8080/nitter-a/IRIran_Military/rss"),
])
def test_instance_rss_url(base, account, expected):
    assert instance_rss_url(base, account) == expected


@pytest.mark.parametrize("base, account", [("nitter.net", "x"), ("https://nitter.net", "bad/handle"),
                                           ("https://nitter.net", "")])
def test_instance_rss_url_rejects_bad_input(base, account):
    with pytest.raises(ValueError):
        instance_rss_url(base, account)
