"""Hostile and malformed content, end to end through the hourly flow: what lands is text, never markup a
later HTML output would render; long, mixed-direction and broken-byte posts land intact; a source URL
that is not http(s) is refused before anything runs.

Text-borne hostility (a post that *says* `<script>`) goes through the mirror as each source really escapes
it. Markup-borne hostility (a page or feed that *contains* a script element, a `javascript:` link, a
tracking pixel, or bytes that are not UTF-8) is the mirror's own rendering with the markup or bytes
spliced in, served by a small raw server on 127.0.0.1 that hands every other request to the mirror.
Size caps, gzip bombs and off-host redirects are in tests/test_reliability_faults.py, per source kind.
"""
from __future__ import annotations

import re
import textwrap
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from flows.hourly import hourly
from mirror.feeds import render_nitter_rss, render_rss
from mirror.scenario_types import Outlet, Post, Scenario
from mirror.server import MirrorServer
from mirror.telegram_page import render_channel_page
from signal_desk.config import ConfigError
from tests.pipeline_helpers import T0
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

AS_OF = T0 + timedelta(hours=6)
SAYS_MARKUP = ('blockade talk <script>alert("said")</script> <b>bold</b> '
               '<img src="https://track.example/said.gif" width="1" height="1"> '
               '<a href="javascript:alert(1)">click</a> javascript:alert(2)')
MIXED = ("قال الوزير \u201ctalks are on track\u201d \u200fثم غادر \u202bעברית בתוך ערבית\u202c "
         "and \u2067isolate\u2069 end \u200e123\u200e")
LONG = " ".join(f"word{i:06d}" for i in range(20_000))          # 220 000 characters, one paragraph
ARABIC = "الحصار البحري مستمر حسب المصادر"

MARKUP_SLOT, BAD_BYTES_SLOT = "MARKUPSLOT", "BADBYTESSLOT"
MARKUP = (b'Hello <script>alert("markup")</script><img src="https://track.example/pixel.gif?u=42" width="1" '
          b'height="1" alt=""><a href="javascript:alert(3)">click</a> and '
          b'<a href="https://news.example.org/real">a real link</a>')
BAD_BYTES = b"\xff\xfe broken \xc3\x28 bytes \xed\xa0\x80"       # not UTF-8: stray, truncated, surrogate


def _tg(handle: str, texts: list[str], first_id: int = 100) -> list[Post]:
    return [Post(handle, "telegram", first_id + i, T0 + timedelta(minutes=10 * i), t) for i, t in enumerate(texts)]


def _x(handle: str, texts: list[str], first_id: int) -> list[Post]:
    return [Post(handle, "x", first_id + i, T0 + timedelta(minutes=10 * i), t) for i, t in enumerate(texts)]


def _rss(handle: str, texts: list[str]) -> list[Post]:
    return [Post(handle, "rss", i + 1, T0 + timedelta(minutes=10 * i), t, title=f"Headline {i + 1}")
            for i, t in enumerate(texts)]


SX = 2_000_000_000_000_000_000
POSTS = {
    # source_id: (kind, handle, posts)
    "tg_text": ("telegram", "tg_text", _tg("tg_text", [SAYS_MARKUP, MIXED, LONG, ARABIC])),
    "tg_markup": ("telegram", "tg_markup", _tg("tg_markup", [MARKUP_SLOT, ARABIC])),
    "tg_bytes": ("telegram", "tg_bytes", _tg("tg_bytes", [f"before {BAD_BYTES_SLOT} after", ARABIC])),
    "x_text": ("x", "x_text", _x("x_text", [SAYS_MARKUP, MIXED, ARABIC], SX)),
    "x_markup": ("x", "x_markup", _x("x_markup", [MARKUP_SLOT, ARABIC], SX + 100)),
    "x_bytes": ("x", "x_bytes", _x("x_bytes", [f"before {BAD_BYTES_SLOT} after", ARABIC], SX + 200)),
    "rss_text": ("rss", "rss_text", _rss("rss_text", [SAYS_MARKUP, MIXED, LONG, ARABIC])),
    "rss_markup": ("rss", "rss_markup", _rss("rss_markup", [MARKUP_SLOT, ARABIC])),
    "rss_bytes": ("rss", "rss_bytes", _rss("rss_bytes", [f"before {BAD_BYTES_SLOT} after", ARABIC])),
}
RAW_SOURCES = {"tg_markup", "tg_bytes", "x_markup", "x_bytes", "rss_markup", "rss_bytes"}


def hostile_scenario(source_ids) -> Scenario:
    chosen = [POSTS[sid] for sid in source_ids]
    outlets = [Outlet(kind, handle, handle.replace("_", " ").title(), "en", "independent")
               for kind, handle, _ in chosen]
    posts = [p for _, _, ps in chosen for p in ps]
    return Scenario("hostile", T0 - timedelta(days=1), T0 + timedelta(days=1), [], outlets, posts, [])


def _splice(body: bytes) -> bytes:
    return body.replace(MARKUP_SLOT.encode(), MARKUP).replace(BAD_BYTES_SLOT.encode(), BAD_BYTES)


def raw_bodies(sc: Scenario, raw_base: str) -> dict[str, tuple[str, bytes]]:
    """The mirror's rendering of the raw sources, with real markup / non-UTF-8 bytes spliced in."""
    routes = {}
    for sid in RAW_SOURCES:
        kind, handle, _ = POSTS[sid]
        outlet, posts = sc.outlet(handle), sc.posts_of(handle, AS_OF)
        if kind == "telegram":
            html = render_channel_page(outlet, posts, before=None, base_url=f"{raw_base}/telegram", as_of=AS_OF)
            routes[f"/telegram/s/{handle}"] = ("text/html; charset=utf-8", _splice(html.encode()))
        elif kind == "x":
            body = render_nitter_rss(outlet, list(reversed(posts)), instance_base=f"{raw_base}/nitter-raw",
                                     as_of=AS_OF)
            routes[f"/nitter-raw/{handle}/rss"] = ("application/rss+xml; charset=utf-8", _splice(body))
        else:
            body = render_rss(outlet, list(reversed(posts)), base_url=raw_base, as_of=AS_OF)
            routes[f"/rss/{handle}.xml"] = ("application/rss+xml; charset=utf-8", _splice(body))
    return routes


class RawServer:
    """Serves fixed bytes for some paths and relays every other GET to the mirror, on 127.0.0.1."""

    def __init__(self, upstream: str):
        self.routes: dict[str, tuple[str, bytes]] = {}
        routes, upstream_base = self.routes, upstream

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in routes:
                    ctype, body, status = *routes[path], 200
                else:
                    try:
                        with urllib.request.urlopen(upstream_base + self.path, timeout=10) as r:
                            ctype, body, status = r.headers.get("Content-Type", "text/plain"), r.read(), r.status
                    except urllib.error.HTTPError as e:
                        ctype, body, status = "text/plain", e.read(), e.code
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "RawServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_hostile_config(folder: Path, mirror: str, raw: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"  - {{id: {sid}, kind: {kind}, "
             + (f'url: "{raw if sid in RAW_SOURCES else mirror}/rss/{handle}.xml"' if kind == "rss"
                else f"handle: {handle}")
             + f", name: {handle}, register: independent, language: en}}"
             for sid, (kind, handle, _) in POSTS.items()]
    (folder / "sources.yaml").write_text(textwrap.dedent(f"""\
        endpoints:
          telegram: {raw}/telegram
          x_mirrors: ["{mirror}/nitter-a", "{raw}/nitter-raw"]
        sources:
        """) + "\n".join(lines) + "\n", encoding="utf-8")
    (folder / "watchlists.yaml").write_text(textwrap.dedent("""\
        watchlists:
          - id: hostile
            title: Hostile content
            keywords: {en: [blockade, Hello, before], ar: [الحصار]}
            report:
              recipients: [desk@example.org]
        """), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """One hourly run over every hostile source; yields (db path, run summary, config dir)."""
    served_by_mirror = hostile_scenario([sid for sid in POSTS if sid not in RAW_SOURCES])
    folder = tmp_path_factory.mktemp("hostile")
    with MirrorServer(served_by_mirror, as_of=AS_OF) as mirror, RawServer(mirror.base_url) as raw:
        raw.routes.update(raw_bodies(hostile_scenario(RAW_SOURCES), raw.base_url))
        cfg = write_hostile_config(folder / "config", mirror.base_url, raw.base_url)
        db = folder / "desk.duckdb"
        summary = hourly(config_dir=str(cfg), db_path=str(db), as_of=AS_OF, politeness="test", with_markets=False)
    return str(db), summary, str(cfg)


def items_of(db: str, source_id: str) -> dict[str, dict]:
    con = duckdb.connect(db, read_only=True)
    try:
        cur = con.execute("select * from items where source_id = ? order by published_at", [source_id])
        cols = [d[0] for d in cur.description]
        return {r[cols.index("item_id")]: dict(zip(cols, r)) for r in cur.fetchall()}
    finally:
        con.close()


def item_for(db: str, source_id: str, post: Post) -> dict:
    kind, handle, _ = POSTS[source_id]
    key = f"{handle}-{post.post_id}" if kind == "rss" else str(post.post_id)
    items = items_of(db, source_id)
    assert key in items, f"{source_id}: post {post.post_id} did not land (landed: {sorted(items)})"
    return items[key]


def body_text(source_id: str, item: dict) -> str:
    """The post's own text: an RSS item's text starts with its title."""
    text = item["text"]
    if POSTS[source_id][0] == "rss":
        title, _, rest = text.partition("\n\n")
        assert title.startswith("Headline "), text[:80]
        return rest
    return text


def test_every_hostile_source_lands(landed):
    db, summary, _ = landed
    rows = {r["source_id"]: r for r in summary["sources"]}
    for sid, (_, _, posts) in POSTS.items():
        assert rows[sid]["status"] == "ok", (sid, rows[sid])
        assert len(items_of(db, sid)) == len(posts), sid


@pytest.mark.parametrize("source_id", ["tg_text", "x_text", "rss_text"])
def test_a_post_that_says_markup_is_stored_as_that_text(landed, source_id):
    db, _, _ = landed
    item = item_for(db, source_id, POSTS[source_id][2][0])
    record_outcome("hostile content", f"post text quoting <script>, <img> pixel, javascript: — {source_id}",
                   lost=0, duplicates=0, outcome="stored verbatim as text" if body_text(source_id, item)
                   == SAYS_MARKUP else f"stored as {body_text(source_id, item)[:80]!r}")
    assert body_text(source_id, item) == SAYS_MARKUP
    assert all(re.match(r"https?://", link) for link in item["outlinks"] or []), item["outlinks"]




@pytest.mark.parametrize("source_id", ["tg_markup", "x_markup", "rss_markup"])
def test_markup_in_a_page_lands_as_text_without_tags_pixels_or_javascript_links(landed, source_id):
    db, _, _ = landed
    item = item_for(db, source_id, POSTS[source_id][2][0])
    text, links = body_text(source_id, item), list(item["outlinks"] or [])
    unsafe_links = [link for link in links if not re.match(r"https?://", link)]
    record_outcome("hostile content", f"page markup: <script>, 1x1 pixel, javascript: link — {source_id}",
                   lost=0, duplicates=0,
                   outcome=f"text {text!r}; outlinks {links}")
    assert "Hello" in text and "click" in text and "a real link" in text
    assert "<" not in text and "track.example" not in text
    assert "track.example" not in " ".join(links)
    assert unsafe_links == []




@pytest.mark.parametrize("source_id", ["tg_markup", "x_markup", "rss_markup"])
def test_a_script_element_in_a_page_is_not_post_text(landed, source_id):
    db, _, _ = landed
    text = body_text(source_id, item_for(db, source_id, POSTS[source_id][2][0]))
    assert "alert" not in text


@pytest.mark.parametrize("source_id", ["tg_text", "rss_text"])
def test_a_200_kb_post_lands_intact(landed, source_id):
    db, _, _ = landed
    item = item_for(db, source_id, POSTS[source_id][2][2])
    text = body_text(source_id, item)
    record_outcome("hostile content", f"200 KB post — {source_id}", lost=0 if text == LONG else 1, duplicates=0,
                   outcome=f"{len(text)} of {len(LONG)} characters landed")
    assert text == LONG


@pytest.mark.parametrize("source_id", ["tg_text", "x_text", "rss_text"])
def test_mixed_direction_text_lands_intact(landed, source_id):
    db, _, _ = landed
    item = item_for(db, source_id, POSTS[source_id][2][1])
    text = body_text(source_id, item)
    record_outcome("hostile content", f"mixed-direction text with bidi controls — {source_id}",
                   lost=0, duplicates=0, outcome="identical" if text == MIXED else f"changed to {text!r}")
    assert text == MIXED




@pytest.mark.parametrize("source_id", ["tg_bytes", "x_bytes", "rss_bytes"])
def test_bytes_that_are_not_utf8_are_replaced_and_the_rest_of_the_page_is_intact(landed, source_id):
    db, _, _ = landed
    broken_post, neighbour = POSTS[source_id][2]
    broken, intact = body_text(source_id, item_for(db, source_id, broken_post)), \
        body_text(source_id, item_for(db, source_id, neighbour))
    record_outcome("hostile content", f"invalid UTF-8 in a page — {source_id}", lost=0, duplicates=0,
                   outcome=f"broken post {broken!r}; neighbour {'intact' if intact == ARABIC else repr(intact)}")
    assert broken.startswith("before ") and broken.endswith(" after") and "broken" in broken
    assert "\ufffd" in broken or "\\x" not in broken
    assert intact == ARABIC


def test_the_report_shows_hostile_posts_as_escaped_text(landed):
    """The report built from these items: no element a mail client would run or load from the posts."""
    from html.parser import HTMLParser
    from signal_desk.report.schedule import load_watchlist
    from flows.signals import recompute_signals
    from signal_desk import db as desk_db
    from signal_desk.report.build import build_report
    from signal_desk.report.render import render_html, render_text
    db, _, cfg = landed
    recompute_signals(config_dir=cfg, db_path=db, as_of=AS_OF)
    con = desk_db.connect(db, read_only=True)
    try:
        report = build_report(con, load_watchlist(cfg, "hostile"), AS_OF)
    finally:
        con.close()
    html, text = render_html(report, {}), render_text(report)

    tags: list[tuple[str, dict]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, dict(attrs)))

    Collect(convert_charrefs=True).feed(html)
    scripts = [t for t, _ in tags if t == "script"]
    js_links = [a.get("href") for t, a in tags
                if t == "a" and not re.match(r"https?://|mailto:|#", a.get("href") or "")]
    pixels = [a.get("src") for t, a in tags if t == "img" and "track.example" in (a.get("src") or "")]
    quoted = '<script>alert("said")</script>'
    record_outcome("hostile content", "report HTML built from the hostile posts", lost=None, duplicates=None,
                   outcome=f"{len(scripts)} script elements, {len(js_links)} non-http links, "
                           f"{len(pixels)} tracking pixels; quoted markup shown as text: "
                           f"{'yes' if quoted in text else 'no'}")
    assert quoted in text, "the report should carry the post that quotes markup"
    assert scripts == [] and js_links == [] and pixels == []
    assert quoted not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("field,yaml_line,replacement", [
    ("endpoints.telegram", "telegram:", "  telegram: ftp://127.0.0.1/telegram"),
    ("endpoints.x_mirrors.0", "x_mirrors:", '  x_mirrors: ["gopher://127.0.0.1/nitter"]'),
    ("source rss_text: url", "id: rss_text", None),
])
def test_a_non_http_source_url_is_refused_before_anything_runs(tmp_path, field, yaml_line, replacement):
    hostile = tmp_path / "config"
    write_hostile_config(hostile, "http://127.0.0.1:9", "http://127.0.0.1:9")
    path = hostile / "sources.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if yaml_line in line)
    lines[index] = replacement or re.sub(r'url: "[^"]+"', 'url: "file:///etc/passwd"', lines[index])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "desk.duckdb"
    with pytest.raises(ConfigError) as e:
        hourly(config_dir=str(hostile), db_path=str(db), politeness="test")
    message = str(e.value)
    record_outcome("hostile content", f"non-http URL in {field}", lost=None, duplicates=None,
                   outcome=f"refused before the run: {message.splitlines()[0]}")
    assert str(path) in message and f"line {index + 1}" in message and field in message
    assert not db.exists()                                    # nothing ran: no database, no run row
