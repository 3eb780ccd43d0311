"""Every fault the mirror can inject, against every source kind at once (Telegram, X mirror, RSS, a market):
the run finishes, the clean sources beside them land, each failing source is reported with its reason,
no cursor passes what was not landed, and once the fault clears the next run lands everything exactly once.

Each case starts from the same landed baseline (the hour before), so the faulted run has new posts and new
prices to miss. Faults hit one source of each kind; a clean twin of each kind must land regardless.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from flows.hourly import hourly
from mirror.scenario_types import Outlet, Post, PricePoint, Scenario, ScenarioMarket
from mirror.server import MirrorServer
from tests.pipeline_helpers import T0, telegram_posts, write_config, query
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

BASELINE_AT = T0 + timedelta(hours=3)
FAULT_AT = T0 + timedelta(hours=7, minutes=10)     # between two price points, as a real clock is
MARKET_REF = "polymarket:blockade-test"
MARKET_ID = "604417"

# source_id -> (kind, mirror handle)
SOURCES = {
    "alpha": ("telegram", "alpha_news"), "beta": ("telegram", "beta_news"),
    "wirebird": ("x", "wirebird"), "calmbird": ("x", "calmbird"),
    "worldfeed": ("rss", "worldfeed"), "calmfeed": ("rss", "calmfeed"),
}
FAULTED = {"telegram": "alpha", "x": "wirebird", "rss": "worldfeed"}
CLEAN = ["beta", "calmbird", "calmfeed"]
FAULT_PATHS = {
    "telegram": ["/telegram/s/alpha_news"],
    "x": ["/nitter-a/wirebird/", "/nitter-b/wirebird/"],      # both instances, or it just fails over
    "rss": ["/rss/worldfeed.xml"],
    "markets": ["/polymarket-"],                                 # Gamma and the CLOB price history
}
EXTRA_SOURCES = """\
  - {id: calmbird, kind: x, handle: calmbird, name: Calm Bird, register: western-wire, language: en}
  - {id: calmfeed, kind: rss, url: "%s/rss/calmfeed.xml", name: Calm Feed, register: western-wire, language: en}
"""


def _x_posts(handle: str, first_id: int) -> list[Post]:
    return [Post(handle, "x", first_id + i, T0 + timedelta(minutes=20 * i), f"{handle} line {i}")
            for i in range(24)]


def _rss_posts(handle: str) -> list[Post]:
    return [Post(handle, "rss", i + 1, T0 + timedelta(minutes=25 * i), f"{handle} body {i}",
                 title=f"{handle} title {i}", links=[f"https://news.example.org/{handle}/{i + 1}"])
            for i in range(20)]


def reliability_scenario() -> Scenario:
    outlets = [Outlet("telegram", "alpha_news", "Alpha News", "ar", "state-aligned"),
               Outlet("telegram", "beta_news", "Beta News", "en", "independent"),
               Outlet("x", "wirebird", "Wire Bird", "en", "western-wire"),
               Outlet("x", "calmbird", "Calm Bird", "en", "western-wire"),
               Outlet("rss", "worldfeed", "World Feed", "en", "western-wire"),
               Outlet("rss", "calmfeed", "Calm Feed", "en", "western-wire")]
    posts = (telegram_posts("alpha_news", 90, step_min=5)
             + telegram_posts("beta_news", 30, first_id=500, step_min=15, lang_text="beta item")
             + _x_posts("wirebird", 2_000_000_000_000_000_000) + _x_posts("calmbird", 2_000_000_000_000_100_000)
             + _rss_posts("worldfeed") + _rss_posts("calmfeed"))
    history = [PricePoint(T0 - timedelta(hours=48) + timedelta(minutes=30 * i), round(0.1 + i / 1000, 4))
               for i in range(120)]
    market = ScenarioMarket(venue="polymarket", market_id=MARKET_ID, question="US announces new blockade of Iran?",
                            slug="blockade-test", outcomes=["Yes", "No"], end_date=T0 + timedelta(days=30),
                            created_at=T0 - timedelta(days=10), token_ids=["111", "222"], history=history)
    return Scenario("reliability", T0 - timedelta(days=1), T0 + timedelta(days=2), [], outlets, posts, [market])


# ---- what should be there, and what is ----------------------------------------------------------

def expected_items(sc: Scenario, as_of: datetime) -> dict[str, set[str]]:
    out = {}
    for sid, (kind, handle) in SOURCES.items():
        posts = sc.posts_of(handle, as_of)
        out[sid] = {f"{handle}-{p.post_id}" if kind == "rss" else str(p.post_id) for p in posts}
    return out


def expected_odds(sc: Scenario, as_of: datetime) -> set[tuple[str, datetime]]:
    points = [p.t for p in sc.markets[0].history if p.t <= as_of]
    return {(o, t) for t in points for o in ("Yes", "No")}


def landed_items(db: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {sid: [] for sid in SOURCES}
    for sid, item_id in query(db, "select source_id, item_id from items"):
        out.setdefault(sid, []).append(item_id)
    return out


def landed_odds(db: str) -> list[tuple[str, datetime]]:
    return query(db, "select outcome, venue_ts from odds_snapshots where venue = 'polymarket' and market_id = ?",
                 MARKET_ID)


def loss_and_duplicates(landed: list, expected: set) -> tuple[int, int]:
    matched = len(set(landed) & expected)
    return len(expected) - matched, len(landed) - matched


def skipped_below_telegram_cursor(db: str, expected: set[str], source_id: str = "alpha") -> list[int]:
    """Posts at or below the newest landed id that are neither landed nor inside a recorded gap:
    an incremental run would never fetch them again."""
    landed = {int(i) for i in landed_items(db)[source_id]}
    if not landed:
        return []
    gaps = query(db, "select before_id, until_id from source_gaps where source_id = ?", source_id)
    cursor = max(landed)
    return sorted(i for i in map(int, expected) if i <= cursor and i not in landed
                  and not any(until < i < before for before, until in gaps))


def skipped_below_market_cursor(db: str, expected: set[tuple[str, datetime]]) -> list:
    """Price points at or before an outcome's history cursor (its newest landed history point) that are
    not landed: the next run asks the venue for that outcome's history from the cursor on only."""
    landed = set(landed_odds(db))
    cursors = dict(query(db, "select outcome, max(venue_ts) from odds_snapshots where point_kind = 'history' "
                             "group by outcome"))
    return sorted(p for p in expected - landed if p[0] in cursors and p[1] <= cursors[p[0]])


def source_report(db: str, run_id: str, source_id: str) -> tuple[str, str | None]:
    return query(db, "select status, error from run_sources where run_id = ? and source_id = ?", run_id, source_id)[0]


def market_errors(db: str, run_id: str) -> dict[str, str]:
    summary = json.loads(query(db, "select summary from runs where run_id = ?", run_id)[0][0])
    return (summary.get("markets") or {}).get("errors") or {}


# ---- the cases ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaultCase:
    name: str
    mode: str
    kinds: tuple[str, ...]
    reason: str                        # what the report must say (a regular expression)
    politeness: str = "test"
    options: dict = field(default_factory=dict)
    partial: bool = False              # the posts before the fault may land; the source must still say why


ALL = ("telegram", "x", "rss", "markets")
CASES = [
    FaultCase("429 with Retry-After", "http-429", ALL, r"HTTP 429, Retry-After 3600s exceeds the time budget",
              "mirror", {"retry_after": "3600"}),
    FaultCase("429 without Retry-After", "http-429", ALL, r"HTTP 429", "mirror"),
    FaultCase("500", "http-500", ALL, r"HTTP 500", "mirror"),
    FaultCase("502", "http-502", ALL, r"HTTP 502", "mirror"),
    FaultCase("503", "http-503", ALL, r"HTTP 503", "mirror"),
    FaultCase("404", "http-404", ALL, r"HTTP 404", "mirror"),
    FaultCase("connection reset", "reset", ALL, r"RemoteProtocolError|ReadError|ConnectError", "mirror"),
    FaultCase("timeout", "slow", ALL, r"ReadTimeout", "test", {"delay_s": 6}),
    FaultCase("slow drip", "drip", ALL, r"response not complete within 10 s", "test", {"delay_s": 12}),
    FaultCase("truncated body", "truncate", ("markets",), r"not valid JSON|JSON"),
    FaultCase("truncated feed", "truncate", ("x", "rss"), r"not well-formed|truncated", partial=True),
    FaultCase("multi-megabyte body", "huge", ALL, r"response exceeds the 8388608 byte cap"),
    FaultCase("gzip bomb", "gzip-bomb", ALL, r"response exceeds the 8388608 byte cap"),
    FaultCase("redirect to another host", "redirect-offhost", ALL,
              r"redirect to another host not followed: http://example.invalid/elsewhere"),
    FaultCase("changed layout", "layout", ("telegram",), r"probable layout change"),
    FaultCase("channel gone private", "private", ("telegram",), r"no public preview"),
    FaultCase("market API in a new shape", "shape", ("markets",), r"this endpoint moved"),
]


@pytest.fixture(scope="module")
def mirror():
    with MirrorServer(reliability_scenario(), as_of=BASELINE_AT) as m:
        yield m


@pytest.fixture(scope="module")
def baseline(mirror, tmp_path_factory):
    """The hour before: everything up to BASELINE_AT landed cleanly."""
    folder = tmp_path_factory.mktemp("baseline")
    cfg = write_config(folder / "config", mirror.base_url, extra_sources=EXTRA_SOURCES % mirror.base_url)
    db = folder / "desk.duckdb"
    mirror.clear_faults()
    mirror.set_clock(BASELINE_AT)
    s = hourly(config_dir=str(cfg), db_path=str(db), as_of=BASELINE_AT, politeness="test")
    assert s["status"] == "completed" and all(r["status"] == "ok" for r in s["sources"])
    return cfg, db


@pytest.fixture
def desk(mirror, baseline, tmp_path):
    cfg, db = baseline
    copy = tmp_path / "desk.duckdb"
    shutil.copyfile(db, copy)
    mirror.clear_faults()
    mirror.set_clock(FAULT_AT)
    yield mirror, str(cfg), str(copy)
    mirror.clear_faults()


def inject(mirror: MirrorServer, case: FaultCase) -> None:
    for kind in case.kinds:
        for path in FAULT_PATHS[kind]:
            mirror.add_fault(path, case.mode, **case.options)


@pytest.mark.parametrize("case", CASES, ids=[getattr(c, "values", [c])[0].name for c in CASES])
def test_fault_is_reported_and_the_next_run_fills_the_gap(desk, case):
    mirror, cfg, db = desk
    sc = mirror.state.scenario
    items_due, odds_due = expected_items(sc, FAULT_AT), expected_odds(sc, FAULT_AT)
    inject(mirror, case)

    faulted = hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness=case.politeness)
    reports = {sid: source_report(db, faulted["run_id"], sid) for sid in SOURCES}
    errors = market_errors(db, faulted["run_id"])
    landed_during = landed_items(db)
    skipped_posts = skipped_below_telegram_cursor(db, items_due["alpha"])
    skipped_odds = skipped_below_market_cursor(db, odds_due)

    mirror.clear_faults()
    recovered = hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    landed_after = landed_items(db)
    for kind in case.kinds:
        if kind == "markets":
            lost, dups = loss_and_duplicates(landed_odds(db), odds_due)
            what = "price points"
        else:
            sid = FAULTED[kind]
            lost, dups = loss_and_duplicates(landed_after[sid], items_due[sid])
            what = "posts"
        reason = errors.get(MARKET_REF) if kind == "markets" else reports[FAULTED[kind]][1]
        record_outcome("source fault", f"{case.name} — {kind}", lost=lost, duplicates=dups,
                       outcome=f"reported: {reason}; next run lands all {what}" if not lost
                       else f"reported: {reason}; {lost} {what} never landed")

    assert faulted["status"] == "completed"
    for sid in CLEAN:                                       # the other sources land regardless
        assert set(landed_during[sid]) == items_due[sid], sid
        assert reports[sid][0] == "ok", sid
    for kind in case.kinds:
        if kind == "markets":
            assert re.search(case.reason, errors.get(MARKET_REF, "")), errors
        else:
            status, error = reports[FAULTED[kind]]
            assert status in (("ok", "error") if case.partial else ("error",)), (kind, status, error)
            assert re.search(case.reason, error or ""), (kind, status, error)
    assert skipped_posts == [] and skipped_odds == []      # no cursor passed what was not landed

    assert recovered["status"] == "completed"
    assert all(r["status"] == "ok" for r in recovered["sources"])
    for sid, due in items_due.items():
        assert sorted(landed_after[sid]) == sorted(due), sid      # every post, exactly once
    assert sorted(landed_odds(db)) == sorted(odds_due)


def test_truncated_telegram_pages_are_reported_and_lose_no_posts(desk):
    """A page cut short (complete HTTP response, HTML missing its newer half) on every page of a channel."""
    mirror, cfg, db = desk
    due = expected_items(mirror.state.scenario, FAULT_AT)["alpha"]
    mirror.add_fault("/telegram/s/alpha_news", "truncate")
    faulted = hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    status, error = source_report(db, faulted["run_id"], "alpha")
    skipped = skipped_below_telegram_cursor(db, due)
    mirror.clear_faults()
    hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    lost, dups = loss_and_duplicates(landed_items(db)["alpha"], due)
    record_outcome("source fault", "truncated page — telegram (every page of a 3-page catch-up)",
                   lost=lost, duplicates=dups,
                   outcome=f"status {status}, error {error!r}; {len(skipped)} posts fell below the cursor, "
                           f"{lost} never landed")
    assert status == "error" and error, "a truncated page must be reported"
    assert skipped == [] and lost == 0 and dups == 0


def test_price_history_down_while_the_market_answers_keeps_the_cursor(desk):
    """Gamma answers (with the current price) but the CLOB price history fails: the history not landed
    must still be fetched by the next run."""
    mirror, cfg, db = desk
    due = expected_odds(mirror.state.scenario, FAULT_AT)
    mirror.add_fault("/polymarket-clob/", "http-503")
    faulted = hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    errors = market_errors(db, faulted["run_id"])
    skipped = skipped_below_market_cursor(db, due)
    mirror.clear_faults()
    hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    lost, dups = loss_and_duplicates(landed_odds(db), due)
    record_outcome("source fault", "503 on price history only — markets", lost=lost, duplicates=dups,
                   outcome=f"reported: {errors.get(MARKET_REF)}; {lost} price points never landed")
    assert "HTTP 503" in errors.get(MARKET_REF, "")
    assert skipped == [] and lost == 0


def test_one_outcomes_history_failing_keeps_that_outcomes_cursor(desk):
    """The 'No' token's history fails, the 'Yes' token's lands: 'No' must not be skipped next run."""
    mirror, cfg, db = desk
    due = expected_odds(mirror.state.scenario, FAULT_AT)
    mirror.add_fault("/polymarket-clob/prices-history?market=222", "http-503")
    faulted = hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    errors = market_errors(db, faulted["run_id"])
    mirror.clear_faults()
    hourly(config_dir=cfg, db_path=db, as_of=FAULT_AT, politeness="test")
    lost, dups = loss_and_duplicates(landed_odds(db), due)
    record_outcome("source fault", "503 on one outcome's price history — markets", lost=lost, duplicates=dups,
                   outcome=f"reported: {errors.get(MARKET_REF)}; {lost} price points never landed")
    assert "HTTP 503" in errors.get(MARKET_REF, "")
    assert lost == 0 and dups == 0
