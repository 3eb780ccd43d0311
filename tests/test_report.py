"""The watch-list report built from the real demo pipeline (conftest's demo_db): what it says, how it
escapes, its chart.

Expected values are the demo day's facts (28 June 2026, times UTC): Reuters at 20:10, Sprinter Press
relaying it at 20:46, Al-Alam Arabic carrying Araqchi at 21:46 and 21:47, Reuters' wire at 00:20 on
29 June, the US official's "on track" against Tehran's "did not attend", Polymarket's 20%.
"""
from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tasks import db

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo"
REPORT_END = datetime(2026, 7, 1, 18, 5, tzinfo=timezone.utc)   # the demo's last hourly run


@pytest.fixture(scope="module")
def report(demo_db):
    from flows.report import load_watchlist
    from tasks.report.build import build_report
    wl = load_watchlist(DEMO_CONFIG, "us-iran-talks")
    con = db.connect(demo_db, read_only=True)
    try:
        return build_report(con, wl, REPORT_END)
    finally:
        con.close()


class _Html(HTMLParser):
    """The text a mail client shows, and the elements it would build."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
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


def test_the_demo_story_timeline_has_the_seed_statements_with_their_times(report):
    from tasks.report.render import render_text
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
        assert any(when in line and outlet in line for line in text.splitlines()), (outlet, when)


def test_what_changed_comes_first_and_the_first_report_counts_everything_as_new(report):
    from tasks.report.render import render_text
    text = render_text(report)
    assert report.changes.first_report
    assert text.index("WHAT CHANGED") < text.index("SIGNALS TO WATCH") < text.index("SOURCES USED")
    assert report.changes.new_stories
    assert report.changes.new_statements_total >= 8


def test_the_contradiction_pairs_tehrans_claim_with_the_us_officials(report):
    pairs = [c for st in report.stories for c in st.contradictions]
    assert {("talks-suspended", "talks-on-track")} <= {(c.claim_a, c.claim_b) for c in pairs}
    on_track = [c for c in pairs if c.claim_b == "talks-on-track"]
    assert any("on track" in c.post_b.text for c in on_track)
    assert report.changes.contradictions


def test_the_blockade_market_shows_twenty_percent_around_the_statements(report):
    from tasks.report.render import render_html, render_text
    story = next(st for st in report.stories if any(m.venue == "polymarket" for m in st.markets))
    prices = [o.at for o in story.statement_odds if o.venue == "polymarket"] + \
             [o.after for o in story.statement_odds if o.venue == "polymarket"]
    assert 0.2 in [round(p, 3) for p in prices if p is not None]
    assert "20%" in render_text(report)
    assert "20%" in "".join(parse_html(render_html(report)).text)


def test_signals_to_watch_each_have_a_status(report):
    status = {s.signal_id: s for s in report.signals}
    assert set(status) == {"iran-attends-next-session", "memorandum-scope", "next-incident-response",
                           "talks-military-linkage", "blockade-odds-move"}
    assert status["iran-attends-next-session"].status == "not seen"
    assert status["memorandum-scope"].status == "seen"
    assert status["talks-military-linkage"].status == "seen"
    for s in status.values():
        if s.status == "seen":
            assert s.evidence, s.signal_id


def test_rtl_quotes_and_texts_carry_dir_and_lang(report):
    from tasks.report.render import render_html
    tags = parse_html(render_html(report)).tags
    rtl = [a for _, a in tags if a.get("dir") == "rtl"]
    assert {a.get("lang") for a in rtl} >= {"ar", "fa"}
    assert all(a.get("lang") for a in rtl)


def test_every_link_shows_its_host_and_every_post_is_in_the_provenance(report):
    from tasks.report.render import render_html, render_text
    html = render_html(report)
    p = _Links()
    p.feed(html)
    assert p.links
    for href, label in p.links:
        host = href.split("/")[2].removeprefix("www.")
        assert host in label, (href, label)
    text = render_text(report)
    urls = {s.post.url for s in all_statements(report)}
    sources_part = text[text.index("SOURCES USED"):]
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
    from tasks.report.build import Post
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
    story = report.stories[0]
    first = story.statements[0]
    injected = dataclasses.replace(first, number=len(story.statements) + 1, post=post, is_first_report=False,
                                   relay_of=None, quotes=("<b>quoted</b> <script>alert(2)</script>",))
    story = dataclasses.replace(story, statements=story.statements + (injected,))
    return dataclasses.replace(report, stories=(story,) + report.stories[1:])


def test_a_post_with_html_and_script_tags_is_shown_as_text(report, demo_db):
    from tasks.report.render import render_html, render_text
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
    from tasks.report.render import link
    assert "href" not in link("javascript:alert(1)")
    assert "href" not in link("data:text/html,<script>alert(1)</script>")
    assert link("https://t.me/alalamarabic/61915").count('href="https://t.me/alalamarabic/61915"') == 1
    assert ">t.me/alalamarabic/61915<" in link("https://t.me/alalamarabic/61915")
    assert "&lt;" in link("https://example.org/<b>")


def test_the_chart_is_a_png_sized_for_a_600px_column(report):
    import matplotlib.image as mpimg
    import io
    from tasks.report.chart import story_chart_png
    story = next(st for st in report.stories if st.series)
    png = story_chart_png(story, report.window_start, report.window_end)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = mpimg.imread(io.BytesIO(png)).shape[:2]
    assert 1000 <= width <= 1300 and 600 <= height <= 1500    # about 2x a 600 px column, legend below
    poly = next(s for s in story.series if s.venue == "polymarket")
    assert any(round(p, 3) == 0.2 for _, p in poly.points)
    assert poly.points[0][0] == report.window_start and poly.points[-1][0] <= report.window_end


def test_window_end_defaults_to_the_watch_lists_last_scheduled_time():
    from flows.report import load_watchlist, scheduled_window_end
    wl = load_watchlist(DEMO_CONFIG, "us-iran-talks")        # 07:00 daily, Europe/London (UTC+1 in summer)
    at = lambda *a: datetime(*a, tzinfo=timezone.utc)    # noqa: E731
    assert scheduled_window_end(wl, at(2026, 7, 1, 18, 5)) == at(2026, 7, 1, 6, 0)
    assert scheduled_window_end(wl, at(2026, 7, 1, 6, 0, 30)) == at(2026, 7, 1, 6, 0)
    assert scheduled_window_end(wl, at(2026, 7, 1, 5, 59)) == at(2026, 6, 30, 6, 0)
    gulf = load_watchlist(DEMO_CONFIG, "gulf-shipping")      # 08:00 Monday-Friday, Asia/Dubai (UTC+4)
    assert scheduled_window_end(gulf, at(2026, 6, 28, 12, 0)) == at(2026, 6, 26, 4, 0)   # Sunday -> Friday


def test_smtp_settings_come_from_the_environment_and_hide_the_password():
    from tasks.report.mail import SmtpSettingsError, smtp_settings
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
    from flows.report import load_watchlist
    from tasks.report.build import ReportDataError, build_report
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
