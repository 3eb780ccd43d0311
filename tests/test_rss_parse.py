"""RSS/Atom parsing against real captured feeds (tests/fixtures/rss, see PROVENANCE.md there).
Expected values are read off the XML."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signal_desk.items import PayloadError
from signal_desk.sources.rss import NotAFeed, parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "rss"
BBC_FRONT = "rss2_bbc_news_front_page_photojournalism.xml"
BBC_URDU = "rss2_bbc_urdu_rtl_miniflux.xml"
TAGESSCHAU = "rss2_tagesschau_ard_de_fastnews.xml"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def parse_fixture(name: str, feed_url: str = "https://feeds.example.org/feed.xml"):
    return parse_feed((FIXTURES / name).read_bytes(), source_id="test-feed", feed_url=feed_url)


def test_bbc_front_page_items_titles_guids_and_times():
    items, rejects = parse_fixture(BBC_FRONT)

    assert (len(items), rejects) == (16, [])
    first = items[0]
    assert first.source_id == "test-feed"
    assert first.item_id == "https://www.bbc.co.uk/news/uk-politics-43532916"
    assert first.url == "https://www.bbc.co.uk/news/uk-politics-43532916?at_medium=RSS&at_campaign=KARANGA"
    assert first.published_at == utc(2018, 3, 25, 11, 52, 46)
    assert first.text == (
        "Firm in data scandal 'made election boasts'\n\n"
        "The company that became Cambridge Analytica boasted about interfering in foreign elections, "
        "according to documents seen by the Sunday Politics.")
    assert first.outlinks == [first.url]
    assert first.lang == "en-gb"
    assert first.author is None and first.media_kinds == []

    last = items[-1]
    assert last.item_id == "https://www.bbc.co.uk/news/uk-35911549"
    assert last.published_at == utc(2016, 3, 28, 11, 31, 8)
    assert last.text.startswith("Pants for fishing nets: How stranded WW2 crew survived\n\n")


def test_bbc_urdu_right_to_left_text_is_intact():
    items, rejects = parse_fixture(BBC_URDU)

    assert (len(items), rejects) == (26, [])
    first = items[0]
    assert first.item_id == "http://www.bbc.com/urdu/pakistan-42575603"
    assert first.published_at == utc(2018, 1, 5, 16, 51, 0)
    assert first.text.split("\n\n") == [
        "امریکی عسکری امداد کی بندش کی وجوہات: انڈیا سے جنگ، جوہری پروگرام اور اب دہشت گردوں کی پشت پناہی",
        "امریکہ اور پاکستان کے 70 سالہ تعلقات میں جب بھی زیادہ کشیدگی آتی ہے تو اس میں پہلی تلوار"
        " پاکستان کو ملنے والی عسکری امداد پر چلتی ہے۔",
    ]
    assert first.lang == "ur"
    assert first.media_kinds == ["photo"]  # media:thumbnail

    last = items[-1]
    assert last.text.startswith("پاکستان امریکہ تعلقات میں ’ڈو مور‘ کا نیا ایڈیشن جو آج تک چل رہا\n\n")
    assert last.published_at == utc(2017, 12, 20, 12, 23, 23)


def test_tagesschau_offsets_become_utc_and_content_encoded_is_preferred():
    items, rejects = parse_fixture(TAGESSCHAU)

    assert (len(items), rejects) == (40, [])
    first = items[0]
    assert first.item_id == "f3deca3e-bffe-495e-86b2-6d2517293a5f"
    assert first.url == "https://www.tagesschau.de/ausland/europa/schweden-atomkraft-100.html"
    # pubDate "Sat, 25 Apr 2026 20:43:28 +0200"
    assert first.published_at == utc(2026, 4, 25, 18, 43, 28)
    # "[mehr]" exists only in content:encoded, not in <description>; the image's alt text is not text.
    assert first.text == (
        "Schweden: Atomkraft - ja, bitte\n\n"
        "Schwedens Regierung hält Atomkraft für unverzichtbar, um den Energiebedarf des Landes "
        "klimaschonend zu decken. In den nächsten Jahren sollen neue Reaktoren entstehen. Doch gegen die "
        "Pläne gibt es auch Widerstand. Von Jana Sinram.[mehr]")
    assert first.media_kinds == ["photo"]
    assert first.lang == "de"

    by_id = {item.item_id: item for item in items}
    mobbing = by_id["tagesschau_fm-story-WDR-a2401318-e286-41e9-abb0-1caadbcdbf95"]
    assert mobbing.published_at == utc(2026, 4, 25, 11, 22, 0)  # 13:22:00 +0200
    assert mobbing.text.startswith("Mobbing-Vorwürfe: Drei Polizei-Führungskräfte in NRW suspendiert\n\n")
    ryanair = items[-1]
    assert ryanair.item_id == "tagesschau_fm-story-rbb_flughafen-ber-ryanair-rueckzug-weniger-fluege-schliessung-basis"
    assert ryanair.published_at == utc(2026, 4, 25, 14, 55, 12)  # 16:55:12 +0200


def test_entries_without_date_or_identity_are_rejected_and_the_rest_parsed():
    document = (FIXTURES / BBC_FRONT).read_bytes()
    document = document.replace(b"<pubDate>Sun, 14 Jan 2018 02:40:43 GMT</pubDate>", b"", 1)
    document = document.replace(
        b"<link>https://www.bbc.co.uk/news/uk-england-42664110?at_medium=RSS&amp;at_campaign=KARANGA</link>\n"
        b"            <guid isPermaLink=\"false\">https://www.bbc.co.uk/news/uk-england-42664110</guid>", b"", 1)
    document = document.replace(b"<pubDate>Sun, 25 Mar 2018 11:52:46 GMT</pubDate>",
                                b"<pubDate>the day before yesterday</pubDate>", 1)

    items, rejects = parse_feed(document, source_id="bbc", feed_url="https://feeds.bbci.co.uk/news/rss.xml")

    assert len(items) == 13
    assert [(r.locator, r.reason) for r in rejects] == [
        ("https://feeds.bbci.co.uk/news/rss.xml entry[0]", "unparseable date 'the day before yesterday'"),
        ("https://feeds.bbci.co.uk/news/rss.xml entry[1]", "entry has no pubDate/published/updated date"),
        ("https://feeds.bbci.co.uk/news/rss.xml entry[2]", "entry has neither guid/id nor link"),
    ]
    assert "Hawaii missile alert" in rejects[1].raw and rejects[1].raw.startswith("<item")
    assert "Dealing with debt" in rejects[2].raw
    assert items[0].item_id == "https://www.bbc.co.uk/news/world-middle-east-35917663"  # EgyptAir hijack
    assert items[0].published_at == utc(2016, 3, 29, 11, 46, 23)


@pytest.mark.parametrize("content, shown", [
    (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>checking</body></html>",
     "HTML page titled 'Just a moment...'"),
    (b"\x00\x01 binary garbage", "no rss/feed root element"),
    (b"", "empty document"),
])
def test_a_document_that_is_not_a_feed_names_the_feed_url(content, shown):
    with pytest.raises(NotAFeed) as raised:
        parse_feed(content, source_id="irna-en", feed_url="https://en.irna.ir/rss")
    assert isinstance(raised.value, PayloadError)
    assert raised.value.locator == "https://en.irna.ir/rss"
    assert "https://en.irna.ir/rss" in str(raised.value) and shown in str(raised.value)


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fa">
  <title>نمونه</title>
  <id>urn:example:feed</id>
  <updated>2026-06-28T23:50:00+03:30</updated>
  <entry>
    <title>عراقچی در کربلا</title>
    <id>tag:example.org,2026:entry-1</id>
    <link rel="alternate" href="https://example.org/fa/news/1"/>
    <published>2026-06-29T01:16:00+03:30</published>
    <updated>2026-06-29T02:00:00+03:30</updated>
    <author><name>خبرنگار</name></author>
    <summary>خلاصه</summary>
    <content type="html">&lt;p&gt;بند اول&lt;/p&gt;&lt;p&gt;سطر یک&lt;br/&gt;سطر دو&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>only updated</title>
    <id>{long_id}</id>
    <updated>2026-06-28T20:10:00Z</updated>
  </entry>
  <entry>
    <title>no id, link only</title>
    <link href="https://example.org/fa/news/3"/>
    <updated>2026-06-28T20:11:00Z</updated>
  </entry>
  <entry>
    <title>duplicate</title>
    <id>tag:example.org,2026:entry-1</id>
    <updated>2026-06-28T20:12:00Z</updated>
  </entry>
</feed>
"""  # constructed: no real Atom capture was available


def test_atom_iso_times_content_author_and_identity_rules():
    long_id = "urn:example:" + "x" * 300
    items, rejects = parse_feed(ATOM.format(long_id=long_id).encode(), source_id="atom",
                                feed_url="https://example.org/fa/atom.xml")

    first, only_updated, link_only = items
    assert first.item_id == "tag:example.org,2026:entry-1"
    assert first.url == "https://example.org/fa/news/1"
    assert first.published_at == utc(2026, 6, 28, 21, 46, 0)  # 01:16 +03:30
    assert first.text == "عراقچی در کربلا\n\nبند اول\n\nسطر یک\nسطر دو"
    assert first.author == "خبرنگار"
    assert first.lang == "fa"

    assert only_updated.item_id == hashlib.sha1(long_id.encode()).hexdigest()
    assert only_updated.published_at == utc(2026, 6, 28, 20, 10, 0)
    assert only_updated.url == "https://example.org/fa/atom.xml"  # nothing better to point at

    assert link_only.item_id == "https://example.org/fa/news/3"
    assert [r.reason for r in rejects] == ["duplicate guid 'tag:example.org,2026:entry-1' within the feed"]


def test_parsing_is_repeatable():
    content = (FIXTURES / TAGESSCHAU).read_bytes()
    first_run, _ = parse_feed(content, source_id="ts", feed_url="https://www.tagesschau.de/xml/rss2")
    second_run, _ = parse_feed(content, source_id="ts", feed_url="https://www.tagesschau.de/xml/rss2")
    assert [i.as_row() for i in first_run] == [i.as_row() for i in second_run]
