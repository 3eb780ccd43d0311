"""The watch-list report built from the real demo pipeline (conftest's demo_db): what it says, how it
folds repetition, how it marks the direction of text, how it escapes, its chart.

Expected values are the demo day's facts (28 June 2026, times UTC): Reuters at 20:10, Sprinter Press
relaying it at 20:46, Al-Alam Arabic carrying Araqchi at 21:46 and 21:47, Reuters' wire at 00:20 on
29 June, the US official's "on track" against Tehran's "did not attend", Polymarket's 20%, Kalshi's fall
from 65% to 51% in the hour after Reuters' report.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from signal_desk import db

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo"
REPORT_END = datetime(2026, 7, 1, 18, 5, tzinfo=timezone.utc)   # the demo's last hourly run


def build(demo_db, watchlist_id: str = "us-iran-talks", end: datetime = REPORT_END, since=None):
    from signal_desk.report.schedule import load_watchlist
    from signal_desk.report.build import build_report
    wl = load_watchlist(DEMO_CONFIG, watchlist_id)
    con = db.connect(demo_db, read_only=True)
    try:
        return build_report(con, wl, end, since)
    finally:
        con.close()


@pytest.fixture(scope="module")
def report(demo_db):
    return build(demo_db)


@pytest.fixture(scope="module")
def gulf(demo_db):
    return build(demo_db, "gulf-shipping")


class _Html(HTMLParser):
    """The text a mail client shows, and the elements it would build."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._skip += tag in ("title", "style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("title", "style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse_html(html: str) -> _Html:
    p = _Html()
    p.feed(html)
    return p


def all_statements(report):
    return [s for st in report.stories for s in st.statements]


def find(report, outlet: str, hhmm: str, day: int = 28):
    hits = [s for s in all_statements(report) if s.post.outlet == outlet
            and s.post.published_at.strftime("%H:%M") == hhmm and s.post.published_at.day == day]
    assert hits, f"no statement by {outlet} at {day} Jun {hhmm} UTC in the report"
    return hits[0]


def demo_ids(demo_db) -> set[str]:
    """Every id a reader must not see: watch lists, claims, signals, speakers, sources, stories, markets."""
    con = db.connect(demo_db, read_only=True)
    try:
        ids: set[str] = set()
        for sql in ("select watchlist_id from watchlists", "select claim_id from watchlist_claims",
                    "select signal_id from watchlist_signals", "select speaker_id from watchlist_speakers",
                    "select source_id from sources", "select story_id from mart_stories",
                    "select market_id from markets"):
            ids |= {r[0] for r in con.execute(sql).fetchall() if r[0]}
        return ids
    finally:
        con.close()


def id_tokens(text: str, ids: set[str]) -> set[str]:
    """The ids (and id-shaped tokens: story ids, report ids) found as words of a text; a word inside a
    host name (reuters.com) is not one."""
    words = set(re.findall(r"(?<![\w.\-/])[\w\-]+(?![\w\-]|\.\w)", text))
    found = {w for w in words if w in ids}
    found |= set(re.findall(r"\bs-\d{4,}\b|\b\d{8}T\d{4}Z\b", text))
    return found


def test_the_demo_story_timeline_has_the_seed_statements_with_their_times(report):
    from signal_desk.report.render import render_text
    reuters = find(report, "Reuters", "20:10")
    assert "technical talks" in reuters.post.text
    sprinter = find(report, "Sprinter Press", "20:46")
    assert sprinter.relay_of is not None and sprinter.relay_of.outlet == "Reuters"
    assert sprinter.relay_lag_minutes == 36
    araqchi = find(report, "Al-Alam Arabic", "21:46")
    assert "مذكرة التفاهم" in araqchi.post.text
    find(report, "Al-Alam Arabic", "21:47")
    find(report, "Reuters World News", "00:20", day=29)
    text = render_text(report)
    for outlet, when in [("Reuters", "28 Jun 20:10 UTC"), ("Sprinter Press", "28 Jun 20:46 UTC"),
                         ("Al-Alam Arabic", "28 Jun 21:46 UTC"), ("Reuters World News", "29 Jun 00:20 UTC")]:
        assert any(f"{outlet} {when}" in line for line in text.splitlines()), (outlet, when)


def test_the_short_top_comes_first_and_the_first_report_counts_everything_as_new(report):
    from signal_desk.report.render import render_html, render_text
    text = render_text(report)
    assert report.changes.first_report
    assert text.index("IN SHORT") < text.index("SIGNALS TO WATCH") < text.index("STORY 1") < text.index("SOURCES")
    assert report.changes.new_stories
    assert report.changes.new_statements_total >= 8
    assert 3 <= len(report.top) <= 6
    html = render_html(report)
    assert html.index('id="top"') < html.index('id="signals"') < html.index('id="story-1"')


def test_the_top_ties_the_largest_odds_moves_to_the_statement_before_them(report):
    """Reuters' 20:10 "Iran cancels" came right before Kalshi's 65% -> 51% and Manifold's 50.4% -> 41.2%."""
    lines = [line.moves for line in report.top if line.kind == "moves"]
    assert lines, "no odds line in the top section"
    first = lines[0]
    assert first.statement is not None and first.statement.post.outlet == "Reuters"
    assert first.statement.post.published_at.strftime("%d %H:%M") == "28 20:10"
    kalshi = next(m for m in first.moves if m.venue == "kalshi")
    assert (round(kalshi.before, 2), round(kalshi.after, 2)) == (0.65, 0.51)
    for line in lines:
        for m in line.moves:
            assert m.statement is None or m.start - timedelta(hours=3) <= m.statement.post.published_at <= m.start
            assert report.since < m.start <= report.window_end


def test_the_contradiction_pairs_tehrans_claim_with_the_us_officials(report):
    pairs = [c for st in report.stories for c in st.contradictions]
    assert {("talks-suspended", "talks-on-track")} <= {(c.claim_a, c.claim_b) for c in pairs}
    on_track = [c for c in pairs if c.claim_b == "talks-on-track"]
    assert any("on track" in c.post_b.text for c in on_track)
    assert report.changes.contradictions


def test_one_card_per_pair_of_opposed_claims_with_its_counts_and_earliest_posts(report):
    """The 20 pairs of posts of the demo's story are one contradiction: Reuters' 20:10 and the posts
    relaying it against Axios' 20:16 and the posts relaying that."""
    from signal_desk.report.render import render_text
    pairs = [c for st in report.stories for c in st.contradictions]
    assert len(pairs) > len(report.cards)
    keys = [(c.story_id, frozenset((c.a.claim, c.b.claim))) for c in report.cards]
    assert len(keys) == len(set(keys))
    card = next(c for c in report.cards if {c.a.claim, c.b.claim} == {"talks-suspended", "talks-on-track"})
    assert (card.a.claim, card.a.first.outlet, f"{card.a.first.published_at:%H:%M}") == \
        ("talks-suspended", "Reuters", "20:10")
    assert (card.b.claim, card.b.first.outlet, f"{card.b.first.published_at:%H:%M}") == \
        ("talks-on-track", "Axios", "20:16")
    posts_a = {(c.post_a.source_id, c.post_a.item_id) for c in pairs if c.claim_a == "talks-suspended"}
    assert len(card.a.posts) == len(posts_a) >= 3
    assert card.pairs == sum(1 for c in pairs if {c.claim_a, c.claim_b} == {"talks-suspended", "talks-on-track"})
    assert "contradiction" in report.subject and f"{len(report.changes.contradictions)} contradiction" in report.subject
    assert render_text(report).count("CONTRADICTED BY") == len(report.cards)


def test_repetition_is_folded_under_the_statement_it_repeats(report):
    story = next(st for st in report.stories
                 if any((s.post.outlet, f"{s.post.published_at:%H:%M}") == ("Reuters", "20:10") for s in st.statements))
    keys = {(k.statement.post.outlet, f"{k.statement.post.published_at:%H:%M}"): k for k in story.key_statements}
    reuters = keys[("Reuters", "20:10")]
    assert {(a.post.outlet, f"{a.post.published_at:%H:%M}") for a in reuters.also} >= \
        {("Sprinter Press", "20:46"), ("Reuters World News", "00:20")}
    listed = [k.statement for k in story.key_statements + story.key_omitted] + \
        [a for k in story.key_statements + story.key_omitted for a in k.also]
    assert sorted(s.number for s in listed) == sorted(s.number for s in story.statements)   # nothing lost
    assert len(story.key_statements) < len(story.statements)


def test_first_report_per_story_and_per_claim(report, demo_db):
    """Each claim's first report is the earliest post of the watch list making it (any story) in the
    window_hours before; a story's first report is its earliest post."""
    con = db.connect(demo_db, read_only=True)
    try:
        rows = con.execute("""
            select story_id, source_id, item_id, published_at, claims, is_first_report, first_report_claims,
                   claim_first_reports
            from mart_story_timeline where watchlist_id = 'us-iran-talks' order by published_at""").fetchall()
    finally:
        con.close()
    assert rows
    made: dict[str, list] = {}
    for story_id, source_id, item_id, at, claims, _, _, _ in rows:
        for c in claims:
            made.setdefault(c, []).append((at, source_id, item_id, story_id))
    cross_story = 0
    for story_id, source_id, item_id, at, claims, is_first, firsts_here, firsts in rows:
        assert sorted(f["claim"] for f in firsts) == sorted(claims)
        for f in firsts:
            earlier = [m for m in made[f["claim"]] if at - timedelta(hours=72) <= m[0] <= at]
            assert (f["published_at"], f["source_id"], f["item_id"]) == min(earlier)[:3]
            cross_story += f["story_id"] != story_id
        assert sorted(firsts_here) == sorted(f["claim"] for f in firsts
                                             if (f["source_id"], f["item_id"]) == (source_id, item_id))
        story_rows = [r for r in rows if r[0] == story_id]
        assert is_first == ((at, source_id, item_id) == min((r[3], r[1], r[2]) for r in story_rows))
    assert cross_story, "no claim first reported in another story: the lookup does not cross stories"
    # and the report says so: the story's first report, and each claim's
    s = find(report, "Reuters", "20:10")
    assert s.is_first_report and "talks-suspended" in s.first_report_claims
    relay = find(report, "Sprinter Press", "20:46")
    [first] = [f for f in relay.claim_firsts if f.claim == "talks-suspended"]
    assert (first.post.outlet, first.same_story, first.is_this_post) == ("Reuters", True, False)


def test_the_blockade_market_shows_twenty_percent_around_the_statements(report):
    from signal_desk.report.render import render_html, render_text
    story = next(st for st in report.stories if any(m.venue == "polymarket" for m in st.markets))
    prices = [o.at for o in story.statement_odds if o.venue == "polymarket"] + \
             [o.after for o in story.statement_odds if o.venue == "polymarket"]
    assert 0.2 in [round(p, 3) for p in prices if p is not None]
    assert "20%" in render_text(report)
    assert "20%" in "".join(parse_html(render_html(report)).text)


def test_signals_to_watch_each_have_a_status(report):
    status = {s.signal_id: s for s in report.signals}
    assert set(status) == {"iran-attends-next-session", "memorandum-scope", "next-incident-response",
                           "talks-military-linkage", "talks-suspended", "blockade-odds-move"}
    assert status["iran-attends-next-session"].status == "not seen"
    assert status["memorandum-scope"].status == "seen"
    assert status["talks-military-linkage"].status == "seen"
    assert status["talks-suspended"].status == "seen"
    for s in status.values():
        if s.status == "seen":
            assert s.evidence, s.signal_id


def test_signal_evidence_is_inside_the_window_or_marked_as_earlier_context(report, gulf):
    """The Gulf-shipping list's signal was seen on 28 June, before its 48-hour window: no evidence of it
    is shown as if it were in the window, and the earlier posts are counted as context."""
    from signal_desk.report.render import render_html, render_text
    for r in (report, gulf):
        for s in r.signals:
            for e in s.evidence:
                assert e.published_at is None or r.window_start < e.published_at <= r.window_end, (s.signal_id, e)
    [shipping] = [s for s in gulf.signals if s.status == "seen"]
    assert shipping.evidence == () and shipping.evidence_count == 0 and not shipping.seen_in_window
    n = shipping.earlier_count
    assert n >= 1 and shipping.earlier_last_at <= gulf.window_start          # 7 posts on 28 June in the demo
    html, text = "".join(parse_html(render_html(gulf)).text), render_text(gulf)
    assert "SEEN BEFORE" in html and f"earlier context: {n} post{'s' * (n != 1)} before this window" in html
    assert "[seen before]" in text and f"earlier context: {n} post{'s' * (n != 1)} before" in text
    # statements before the window are marked too
    early = [k.statement for st in report.stories for k in st.key_statements if not k.statement.in_window]
    assert early and all(s.post.published_at <= report.window_start for s in early)
    assert "EARLIER CONTEXT" in "".join(parse_html(render_html(report)).text)


def test_readers_see_names_never_ids(report, gulf, demo_db):
    from signal_desk.report.render import render_html, render_text
    ids = demo_ids(demo_db)
    assert {"memorandum-scope", "talks-on-track", "alalamarabic", "us-iran-talks"} <= ids
    for r in (report, gulf):
        shown = " ".join(parse_html(render_html(r)).text)
        assert id_tokens(shown, ids) == set(), r.watchlist_id
        body = render_text(r).split("\nSOURCES\n")[0]          # the sources list prints URLs, which may hold ids
        assert id_tokens(body, ids) == set(), r.watchlist_id
    shown = " ".join(parse_html(render_html(report)).text)
    assert "claim memorandum-scope" not in shown
    assert "A side narrows or expands the scope of the memorandum" in shown          # its description instead


def test_rtl_quotes_and_texts_carry_dir_and_lang(report):
    from signal_desk.report.render import render_html
    tags = parse_html(render_html(report)).tags
    rtl = [a for _, a in tags if a.get("dir") == "rtl"]
    assert {a.get("lang") for a in rtl} >= {"ar", "fa"}
    assert all(a.get("lang") for a in rtl)


def test_each_piece_of_text_is_marked_with_its_own_direction():
    """The issue's cases: a headline led by an emoji, a closing » after Arabic, Persian quoted words,
    an Arabic run inside an English line."""
    from signal_desk.report.render import bidi_block, bidi_span, quoted, quoted_plain, text_plain, RLI, PDI
    headline = "🔴 عراقجي: «الفيتو على بعض البنود» من جانب واشنطن «يعيق استعادة الأمن الإقليمي»"
    assert bidi_block(headline, tag="h3").startswith('<h3 dir="rtl" lang="ar"')
    assert bidi_span(headline).startswith('<span dir="rtl" lang="ar"')
    mixed = "Iran's FM Araqchi: «عراقجي» said so"
    html = bidi_block(mixed)
    assert html.startswith('<div dir="ltr"') and '<span dir="rtl" lang="ar">عراقجي</span>' in html
    assert "«<span" in html and "</span>»" in html                 # the marks stay outside the isolate
    persian = "کار دیپلماتیک در خلأ اتفاق نمی‌افتد"
    assert quoted(persian, "fa") == f'<span dir="rtl" lang="fa">«{persian}»</span>'   # no “ ” to turn round
    assert quoted("on track") == '<span dir="auto">“on track”</span>'
    assert quoted_plain(persian, "fa") == f"{RLI}«{persian}»{PDI}"
    assert text_plain(mixed) == f"Iran's FM Araqchi: «{RLI}عراقجي{PDI}» said so"


def test_every_link_shows_its_outlet_time_and_host_and_every_post_is_in_the_provenance(report):
    from signal_desk.report.render import render_html, render_text
    html = render_html(report)
    p = _Links()
    p.feed(html)
    links = [(h, label) for h, label in p.links if not h.startswith("#")]
    assert links
    for href, label in links:
        host = href.split("/")[2].removeprefix("www.")
        assert host in label, (href, label)
        assert "%" not in label and "/" not in label.replace(host, ""), label   # no raw URL as link text
    assert any(re.search(r"Al-Alam Arabic 28 Jun 21:46 UTC", label) for _, label in links)
    text = render_text(report)
    urls = {s.post.url for s in all_statements(report)}
    sources_part = text[text.index("\nSOURCES\n"):]
    assert all(u in sources_part for u in urls)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._label = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._label.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._label)))
            self._href = None


def script_post(demo_db):
    """The demo's post that quotes HTML and script tags (Levant Dispatch, 29 June)."""
    from signal_desk.report.build import Post
    con = db.connect(demo_db, read_only=True)
    try:
        row = con.execute("""select source_id, item_id, url, published_at, text, lang from items
                             where text like '%<script>%' order by published_at limit 1""").fetchone()
    finally:
        con.close()
    assert row, "the demo has no post quoting a <script> tag"
    return Post(source_id=row[0], item_id=row[1], url=row[2], outlet="Levant Dispatch", published_at=row[3],
                text=row[4], register="independent", lang=row[5])


def with_post_in_timeline(report, post):
    """The report with `post` added to the first story's timeline as a statement of its own."""
    from signal_desk.report.build import KeyStatement
    story = report.stories[0]
    first = story.statements[0]
    injected = dataclasses.replace(first, number=len(story.statements) + 1, post=post, is_first_report=False,
                                   relay_of=None, claims=(), claim_firsts=(), first_report_claims=(),
                                   quotes=("<b>quoted</b> <script>alert(2)</script>",))
    story = dataclasses.replace(story, statements=story.statements + (injected,),
                                key_statements=story.key_statements + (KeyStatement(injected, ()),))
    return dataclasses.replace(report, stories=(story,) + report.stories[1:])


def test_a_post_with_html_and_script_tags_is_shown_as_text(report, demo_db):
    from signal_desk.report.render import render_html, render_text
    post = script_post(demo_db)
    r = with_post_in_timeline(report, post)
    html = render_html(r)
    parsed = parse_html(html)
    assert not [t for t, _ in parsed.tags if t == "script"]
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]
    assert [t for t, _ in parsed.tags if t == "img"] == []          # no charts passed, and none from the post
    shown = "".join(parsed.text)
    assert "<script>alert(1)</script>" in shown
    assert "<img src=x onerror=alert(document.cookie)>" in shown
    assert "<b>quoted</b> <script>alert(2)</script>" in shown
    assert "<script>alert(1)</script>" in render_text(r)


def test_links_other_than_http_are_not_linked():
    from signal_desk.report.render import link
    assert "href" not in link("javascript:alert(1)")
    assert "href" not in link("data:text/html,<script>alert(1)</script>")
    assert link("https://t.me/alalamarabic/61915").count('href="https://t.me/alalamarabic/61915"') == 1
    assert "t.me" in link("https://t.me/alalamarabic/61915", "Al-Alam Arabic 28 Jun 21:46 UTC")
    assert "&lt;" in link("https://example.org/<b>")
    assert "&lt;b&gt;" in link("https://example.org/", "<b>outlet</b>")


def test_moves_are_runs_of_same_direction_changes_and_ticks_are_not_moves():
    from signal_desk.report.build import find_moves
    t0 = datetime(2026, 6, 28, 20, 0, tzinfo=timezone.utc)
    at = lambda minutes: t0 + timedelta(minutes=minutes)   # noqa: E731
    points = [(at(0), 0.135), (at(5), 0.134), (at(10), 0.135), (at(15), 0.163), (at(20), 0.171), (at(30), 0.18),
              (at(60), 0.20), (at(120), 0.20), (at(180), 0.15)]
    moves = find_moves(points, "polymarket", "1", "q", "Yes")
    assert [(m.quiet_at, m.start, m.end, m.before, m.after) for m in moves] == [
        (at(10), at(15), at(60), 0.135, 0.20), (at(120), at(180), at(180), 0.20, 0.15)]


def test_the_chart_zooms_to_the_statements_and_names_those_before_the_largest_moves(report):
    story = next(st for st in report.stories if st.chart)
    plan = story.chart
    assert plan.end - plan.start <= timedelta(hours=8)               # not the three-day window
    assert plan.labelled and len(plan.labelled) <= 3
    named = {s.short_name for s in plan.labelled}
    assert "Iranian official 20:10" in named
    for s in plan.labelled + plan.ticks:
        assert plan.start <= s.post.published_at <= plan.end
    biggest = max(plan.moves, key=lambda m: abs(m.delta))
    assert biggest.statement in plan.labelled
    # stories without a move right after one of their statements get no chart (and no PNG)
    assert all(st.series == () for st in report.stories if st.chart is None)


def test_the_chart_is_a_small_png_with_labels_of_at_least_12_px_on_a_phone(report):
    import io
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from signal_desk.report import chart
    from signal_desk.report.render import CHART_WIDTH
    story = next(st for st in report.stories if st.chart)
    png = chart.story_chart_png(story, report.window_start, report.window_end)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) < 60_000
    height, width = mpimg.imread(io.BytesIO(png)).shape[:2]
    assert width == chart.CSS_WIDTH * chart.SCALE and 0.5 < height / width < 0.9
    assert CHART_WIDTH >= chart.CSS_WIDTH          # shown at most 480 px wide, 366 px on a 390 px phone
    fig = chart.draw(story.chart, list(story.series))
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        sizes = [t.get_fontsize() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
        labels = [t for t in ax.texts if t.get_text() in {s.short_name for s in story.chart.labelled}]
    finally:
        plt.close(fig)
    assert sizes and min(sizes) >= chart.TICK_PT
    assert len(labels) == len(story.chart.labelled)
    phone_column = 390 - 24
    assert chart.TICK_PT * phone_column / chart.CSS_WIDTH >= 12      # points are CSS px at CSS_WIDTH


def test_window_end_defaults_to_the_watch_lists_last_scheduled_time():
    from signal_desk.report.schedule import load_watchlist, scheduled_window_end
    wl = load_watchlist(DEMO_CONFIG, "us-iran-talks")        # 07:00 daily, Europe/London (UTC+1 in summer)
    at = lambda *a: datetime(*a, tzinfo=timezone.utc)    # noqa: E731
    assert scheduled_window_end(wl, at(2026, 7, 1, 18, 5)) == at(2026, 7, 1, 6, 0)
    assert scheduled_window_end(wl, at(2026, 7, 1, 6, 0, 30)) == at(2026, 7, 1, 6, 0)
    assert scheduled_window_end(wl, at(2026, 7, 1, 5, 59)) == at(2026, 6, 30, 6, 0)
    gulf = load_watchlist(DEMO_CONFIG, "gulf-shipping")      # 08:00 Monday-Friday, Asia/Dubai (UTC+4)
    assert scheduled_window_end(gulf, at(2026, 6, 28, 12, 0)) == at(2026, 6, 26, 4, 0)   # Sunday -> Friday


def test_smtp_settings_come_from_the_environment_and_hide_the_password():
    from signal_desk.report.mail import SmtpSettingsError, smtp_settings
    env = {"DESK_SMTP_HOST": "mail.example.org", "DESK_SMTP_PORT": "587", "DESK_SMTP_USER": "desk",
           "DESK_SMTP_PASSWORD": "hunter2", "DESK_SMTP_STARTTLS": "true", "DESK_MAIL_FROM": "Desk <d@example.org>"}
    s = smtp_settings(env)
    assert (s.host, s.port, s.user, s.password, s.starttls, s.ssl) == ("mail.example.org", 587, "desk", "hunter2",
                                                                        True, False)
    assert "hunter2" not in repr(s) and "hunter2" not in s.describe()
    with pytest.raises(SmtpSettingsError, match="DESK_SMTP_HOST"):
        smtp_settings({"DESK_MAIL_FROM": "d@example.org"})
    with pytest.raises(SmtpSettingsError, match="DESK_SMTP_STARTTLS"):
        smtp_settings({**env, "DESK_SMTP_STARTTLS": "maybe"})
    with pytest.raises(SmtpSettingsError, match="DESK_MAIL_FROM"):
        smtp_settings({"DESK_SMTP_HOST": "h"})


def test_a_database_without_the_marts_gives_a_clear_error(tmp_path):
    from signal_desk.report.schedule import load_watchlist
    from signal_desk.report.build import ReportDataError, build_report
    con = db.connect(tmp_path / "empty.duckdb")
    try:
        with pytest.raises(ReportDataError, match="mart_stories"):
            build_report(con, load_watchlist(DEMO_CONFIG, "us-iran-talks"), REPORT_END)
    finally:
        con.close()


def copy_db(demo_db: Path, folder: Path) -> Path:
    target = folder / "desk.duckdb"
    shutil.copyfile(demo_db, target)
    return target


def test_stories_making_the_lists_claims_come_before_busier_ones(report, demo_db):
    """Regression: a state channel's run of unrelated posts (one story of 99-166 posts in the demo)
    outranked the Reuters story by volume and pushed the list's stories down the phone screen."""
    con = db.connect(demo_db, read_only=True)
    try:
        claimed = dict(con.execute("""
            select story_id, count(*) filter (where len(claims) > 0) from mart_story_timeline
            where watchlist_id = 'us-iran-talks' and published_at > ? and published_at <= ?
            group by story_id""", [report.window_start, report.window_end]).fetchall())
    finally:
        con.close()
    counts = [claimed.get(st.story_id, 0) for st in report.stories]
    assert counts == sorted(counts, reverse=True)
    assert any(s.post.outlet == "Reuters" for s in report.stories[0].statements)
    assert all(claimed.get(st.story_id, 0) <= counts[-1] for st in report.other_stories)
