"""Deeply nested markup: one post with hundreds of nested elements must not cost the posts around it.

libxml2 (under lxml) stops building a tree at 256 levels and drops the rest of the document without an
error, so a Telegram post wrapped in 300 `<b>` used to take every newer post on its page with it, and an
RSS or X item so wrapped lost its text, with the source reported `ok`. The mirror's `deep-nesting` fault
wraps the middle post of every Telegram page (and the middle item of a feed) in `depth` nested elements.

End to end through the hourly flow: every post lands with its whole text. Nesting of structural
elements beyond what any parser builds (3000 `<div>`) still loses the posts it is in, but they are named
in the source's error, quarantined with their markup, and kept as gaps that a later run fills.
At parse level: the same, for each parser.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from flows.hourly import hourly
from mirror.feeds import render_nitter_rss, render_rss
from mirror.server import MirrorServer, nest_middle_post
from mirror.telegram_page import render_channel_page
from tests.pipeline_helpers import T0, small_scenario, write_config, query
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

AS_OF = T0 + timedelta(hours=2)
SOURCES = {"alpha": ("telegram", "alpha_news"), "wirebird": ("x", "wirebird"), "worldfeed": ("rss", "worldfeed")}
FAULT_PATHS = {"alpha": ["/telegram/s/alpha_news"], "wirebird": ["/nitter-a/wirebird/", "/nitter-b/wirebird/"],
               "worldfeed": ["/rss/worldfeed.xml"]}


def expected_texts(scenario, source_id: str) -> dict[str, str]:
    """item_id -> the post's own text, for every post the source has published by AS_OF."""
    kind, handle = SOURCES[source_id]
    return {(f"{handle}-{p.post_id}" if kind == "rss" else str(p.post_id)): p.text
            for p in scenario.posts_of(handle, AS_OF)}


def own_text(kind: str, text: str) -> str:
    """An RSS item's text is its title, a blank line, then the body."""
    return text.partition("\n\n")[2] if kind == "rss" else text


def landed(db: str, source_id: str) -> list[tuple[str, str]]:
    return query(db, "select item_id, text from items where source_id = ?", source_id)


def count_outcome(db: str, scenario, source_id: str) -> tuple[int, int, list[str]]:
    """(lost, duplicates, item ids whose text is not the post's whole text)"""
    kind = SOURCES[source_id][0]
    due = expected_texts(scenario, source_id)
    rows = landed(db, source_id)
    ids = [item_id for item_id, _ in rows]
    lost = len(set(due) - set(ids))
    duplicates = len(ids) - len(set(ids) & set(due))
    cut = sorted(item_id for item_id, text in rows if item_id in due and own_text(kind, text) != due[item_id])
    return lost, duplicates, cut


@pytest.fixture
def mirror():
    with MirrorServer(small_scenario(channel_posts=45, with_market=False), as_of=AS_OF) as m:
        yield m


def run(mirror, tmp_path) -> tuple[str, str, dict]:
    cfg = write_config(tmp_path / "config", mirror.base_url, with_market=False)
    db = str(tmp_path / "desk.duckdb")
    summary = hourly(config_dir=str(cfg), db_path=db, as_of=AS_OF, politeness="test", with_markets=False)
    return str(cfg), db, summary


def test_300_nested_b_in_a_post_loses_nothing_end_to_end(mirror, tmp_path):
    """Every Telegram page (three, for 45 posts) and both feeds carry one post in 300 nested <b>."""
    for sid, paths in FAULT_PATHS.items():
        for path in paths:
            mirror.add_fault(path, "deep-nesting", depth=300)
    cfg, db, first = run(mirror, tmp_path)
    again = hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test", with_markets=False)
    quarantined = query(db, "select count(*) from quarantine")[0][0]
    scenario = mirror.state.scenario
    failures = []
    for sid, (kind, _) in SOURCES.items():
        lost, duplicates, cut = count_outcome(db, scenario, sid)
        status, error = query(db, "select status, error from run_sources where run_id = ? and source_id = ?",
                              first["run_id"], sid)[0]
        record_outcome("nesting", f"one post in 300 nested `<b>` on every page — {kind}", lost=lost,
                       duplicates=duplicates,
                       outcome=f"status {status}, error {error!r}; {len(expected_texts(scenario, sid)) - lost} of "
                               f"{len(expected_texts(scenario, sid))} posts landed, {len(cut)} with text cut short; "
                               f"{quarantined} quarantine rows")
        if lost or duplicates or cut or status != "ok":
            failures.append((sid, lost, duplicates, cut, status, error))
    assert failures == []
    assert quarantined == 0
    assert again["status"] == "completed" and all(r["items_new"] == 0 for r in again["sources"])


def test_3000_nested_div_names_the_post_keeps_a_gap_and_loses_nothing_once_readable(mirror, tmp_path):
    """Nesting no parser builds: the posts around it land, the post itself is named, quarantined and
    kept as a gap; once the page is readable again the next run lands it."""
    mirror.add_fault("/telegram/s/alpha_news", "deep-nesting", depth=3000, tag="div")
    cfg, db, first = run(mirror, tmp_path)
    status, error = query(db, "select status, error from run_sources where run_id = ? and source_id = 'alpha'",
                          first["run_id"])[0]
    quarantined = [key for (key,) in query(db, "select record_key from quarantine where source_id = 'alpha'")]
    gaps = query(db, "select before_id, until_id from source_gaps where source_id = 'alpha' order by until_id")
    landed_during = {int(item_id) for item_id, _ in landed(db, "alpha")}
    due = {int(i) for i in expected_texts(mirror.state.scenario, "alpha")}
    unreadable = sorted(due - landed_during)

    mirror.clear_faults()
    hourly(config_dir=cfg, db_path=db, as_of=AS_OF, politeness="test", with_markets=False)
    lost, duplicates, cut = count_outcome(db, mirror.state.scenario, "alpha")
    gaps_after = query(db, "select count(*) from source_gaps where source_id = 'alpha'")[0][0]
    record_outcome("nesting", "one post in 3000 nested `<div>` on every page — telegram", lost=lost,
                   duplicates=duplicates,
                   outcome=f"status {status}, error {error!r}; {len(due) - len(unreadable)} of {len(due)} posts "
                           f"landed, the {len(unreadable)} unreadable kept as gaps {gaps} and quarantined; "
                           f"next readable run: {lost} lost, {gaps_after} gaps left")
    assert status == "error" and unreadable, (status, error)
    assert len(unreadable) == 3                                  # one per page, not the page's newer posts
    assert all(str(i) in error for i in unreadable), error
    assert len(quarantined) == len(unreadable)
    assert sorted(gaps) == [(i + 1, i - 1) for i in unreadable]
    assert lost == 0 and duplicates == 0 and cut == [] and gaps_after == 0


# ---- parse level ------------------------------------------------------------------------------------

def _posts(kind: str):
    scenario = small_scenario(channel_posts=20, with_market=False)
    handle = {"telegram": "alpha_news", "x": "wirebird", "rss": "worldfeed"}[kind]
    return scenario.outlet(handle), scenario.posts_of(handle, AS_OF)


def _parse(kind: str, depth: int, tag: str):
    """(posts served, {post id: text parsed}) for a page or feed whose middle post is nested."""
    outlet, posts = _posts(kind)
    if kind == "telegram":
        from signal_desk.sources.telegram.parse import parse
        body = render_channel_page(outlet, posts, before=None, base_url="http://127.0.0.1:9/telegram",
                                   as_of=AS_OF).encode()
        _, parsed = parse(nest_middle_post(body, depth, tag), outlet.handle)
        return posts, {p.post_id: p.text for p in parsed}
    if kind == "x":
        from signal_desk.sources.xmirror.parse import parse_nitter_rss
        body = render_nitter_rss(outlet, list(reversed(posts)), instance_base="http://127.0.0.1:9/nitter-a",
                                 as_of=AS_OF)
        items, _ = parse_nitter_rss(nest_middle_post(body, depth, tag), source_id="wirebird", account="wirebird",
                                    instance_url="http://127.0.0.1:9/nitter-a")
        return posts, {int(it.item_id): it.text for it in items}
    from signal_desk.sources.rss.parse import parse_feed
    body = render_rss(outlet, list(reversed(posts)), base_url="http://127.0.0.1:9", as_of=AS_OF)
    items, _ = parse_feed(nest_middle_post(body, depth, tag), source_id="worldfeed",
                          feed_url="http://127.0.0.1:9/rss/worldfeed.xml")
    return posts, {int(it.item_id.rsplit("-", 1)[1]): own_text("rss", it.text) for it in items}


@pytest.mark.parametrize("kind", ["telegram", "x", "rss"])
@pytest.mark.parametrize("depth,tag", [(300, "b"), (5000, "b"), (1500, "div"), (3000, "div")])
def test_nested_post_parses_whole(kind, depth, tag):
    if kind == "telegram" and (depth, tag) == (3000, "div"):
        pytest.skip("beyond what libxml2 builds: named instead, see the next test")
    posts, parsed = _parse(kind, depth, tag)
    lost = [p.post_id for p in posts if p.post_id not in parsed]
    cut = [p.post_id for p in posts if p.post_id in parsed and parsed[p.post_id] != p.text]
    record_outcome("nesting", f"parse: middle post in {depth} nested `<{tag}>` — {kind}", lost=len(lost),
                   duplicates=0, outcome=f"{len(posts) - len(lost)} of {len(posts)} posts parsed, "
                                         f"{len(cut)} with text cut short")
    assert lost == [] and cut == []


def test_a_telegram_post_no_parser_can_build_is_named_and_its_neighbours_parse():
    from signal_desk.sources.telegram.parse import parse_page
    outlet, posts = _posts("telegram")
    body = render_channel_page(outlet, posts, before=None, base_url="http://127.0.0.1:9/telegram",
                               as_of=AS_OF).encode()
    page = parse_page(nest_middle_post(body, 3000, "div"), outlet.handle)
    parsed = {p.post_id for p in page.posts}
    named = [u.post_id for u in page.unreadable]
    record_outcome("nesting", "parse: middle Telegram post in 3000 nested `<div>`", lost=len(posts) - len(parsed),
                   duplicates=0, outcome=f"{len(parsed)} of {len(posts)} posts parsed; named unreadable: {named}")
    middle = posts[len(posts) // 2].post_id
    assert named == [middle]
    assert parsed == {p.post_id for p in posts} - {middle}
    assert "<div>" * 10 in page.unreadable[0].raw
