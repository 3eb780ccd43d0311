"""Kalshi trades (GET /markets/trades): parsed from the documented format, fetched from the local mirror
with a cursor per market, landed once per trade id."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mirror.scenario import load_scenario
from mirror.server import MirrorServer
from signal_desk import db, landing
from signal_desk.config import load_config
from signal_desk.items import PayloadError
from signal_desk.markets_ingest import fetch_markets, parse_market_fetches, trade_cursors
from signal_desk.sources.kalshi import parse_trades, trades_url
from tests.pipeline_helpers import query, write_config

FIXTURE = Path(__file__).parent / "fixtures" / "kalshi" / "kalshi_trades_two_pages_from_docs.json"
TICKER = "KXUCLGAME-26MAR10PSGCFC-PSG"
TALKS = "KXUSIRANTALKS-26JUL"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def pages() -> list[bytes]:
    return [json.dumps(p).encode() for p in json.loads(FIXTURE.read_text())["pages"]]


def test_trades_are_read_with_prices_sizes_taker_sides_and_microsecond_times():
    first = parse_trades(pages()[0], market_id=TICKER)
    assert not first.rejects
    assert first.next_cursor == "CgwIuLnrwgYQwOvJ0gESDDY4YjFkYzNhLTJmNGUYAQ"
    newest = first.trades[0]
    assert (newest.trade_id, newest.market_id) == ("d91bc706-ee49-470d-82d8-11418bda6fed", TICKER)
    assert (newest.yes_price_prob, newest.no_price_prob, newest.count_contracts, newest.taker_side) == \
        (0.72, 0.28, 120.0, "yes")
    assert newest.traded_at == datetime(2026, 3, 10, 19, 58, 41, 203415, tzinfo=timezone.utc)
    assert first.trades[1].taker_side == "no" and first.trades[1].traded_at.microsecond == 817


def test_the_last_page_has_no_cursor():
    last = parse_trades(pages()[1], market_id=TICKER)
    assert last.next_cursor is None and [t.count_contracts for t in last.trades] == [4.0]


def test_a_trade_of_another_market_or_an_unknown_side_is_rejected_alone():
    body = json.loads(pages()[0])
    body["trades"][1]["taker_side"] = "maybe"
    result = parse_trades(json.dumps(body), market_id=TICKER)
    assert len(result.trades) == 1 and "taker_side" in result.rejects[0].reason
    with pytest.raises(PayloadError, match="kalshi /markets/trades"):
        parse_trades(b'{"error": {"code": "not_found", "message": "market not found"}}', market_id=TICKER)


def test_the_trades_url_repeats_the_filters_on_every_page():
    url = trades_url("https://api.elections.kalshi.com/trade-api/v2", TICKER, min_ts=1773172800, cursor="abc")
    assert url == ("https://api.elections.kalshi.com/trade-api/v2/markets/trades?ticker=" + TICKER +
                   "&min_ts=1773172800&limit=1000&cursor=abc")


@pytest.fixture
def talks_mirror(tmp_path):
    full = load_scenario("iran_talks")
    market = next(m for m in full.markets if m.market_id == TALKS)
    scenario = replace(full, outlets=[], posts=[], markets=[market])
    with MirrorServer(scenario, as_of=utc(2026, 6, 28, 12)) as mirror:
        folder = write_config(tmp_path / "config", mirror.base_url)
        text = (folder / "watchlists.yaml").read_text().replace("{venue: polymarket, slug: blockade-test}",
                                                                f"{{venue: kalshi, ticker: {TALKS}}}")
        (folder / "watchlists.yaml").write_text(text)
        yield mirror, load_config(folder), market, str(tmp_path / "desk.duckdb")


def fetch_and_land(cfg, db_path: str, as_of: datetime) -> int:
    with db.writer(db_path) as con:
        cursors = trade_cursors(con)
    fetches = asyncio.run(fetch_markets(cfg, {}, now=as_of, search=False, cursors=cursors))
    parsed = parse_market_fetches(cfg, fetches, as_of)
    assert not parsed.errors and not parsed.quarantined
    with db.writer(db_path) as con:
        return landing.land_trades(con, "run-" + as_of.strftime("%d%H"), parsed.result.trades, parsed.trade_windows)


def test_trades_land_once_and_the_cursor_moves_with_the_newest_trade(talks_mirror):
    mirror, cfg, market, db_path = talks_mirror
    first_clock = utc(2026, 6, 28, 12)
    expected_first = [p for p in market.history if p.t <= first_clock and p.t >= first_clock - timedelta(days=30)]
    assert fetch_and_land(cfg, db_path, first_clock) == len(expected_first) > 40

    # one trade per price point, a few seconds before it, at that point's price
    newest = query(db_path, "select traded_at, yes_price_prob, count_contracts, taker_side from market_trades "
                            "order by traded_at desc limit 1")[0]
    assert newest[0] <= expected_first[-1].t and expected_first[-1].t - newest[0] < timedelta(minutes=1)
    assert newest[1] == pytest.approx(round(expected_first[-1].p, 2)) and newest[2] >= 1
    cursor = query(db_path, "select newest_trade_at, resume_cursor, trades_landed from market_trade_cursors "
                            "where venue = 'kalshi' and market_id = ?", TALKS)
    assert cursor == [(newest[0], None, len(expected_first))]

    assert fetch_and_land(cfg, db_path, first_clock) == 0          # a rerun adds nothing
    later = utc(2026, 6, 29, 6)
    mirror.set_clock(later)
    added = [p for p in market.history if first_clock < p.t <= later]
    assert fetch_and_land(cfg, db_path, later) == len(added) > 0
    assert query(db_path, "select count(*), count(distinct trade_id) from market_trades")[0] == \
        (len(expected_first) + len(added),) * 2
    moved = query(db_path, "select newest_trade_at, trades_landed from market_trade_cursors")[0]
    assert moved[0] > cursor[0][0] and moved[1] == len(expected_first) + len(added)


def test_the_mirror_pages_trades_with_a_cursor_until_it_is_empty(talks_mirror):
    mirror, cfg, market, _ = talks_mirror
    import urllib.request
    seen, cursor = [], None
    while True:
        url = trades_url(cfg.endpoints.kalshi, TALKS, min_ts=0, cursor=cursor, limit=25)
        page = parse_trades(urllib.request.urlopen(url).read(), market_id=TALKS)
        seen += page.trades
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    upto = [p for p in market.history if p.t <= utc(2026, 6, 28, 12)]
    assert len(seen) == len({t.trade_id for t in seen}) == len(upto)
    assert [t.traded_at for t in seen] == sorted((t.traded_at for t in seen), reverse=True)


def test_a_window_longer_than_the_page_cap_resumes_next_run_where_it_stopped(talks_mirror, monkeypatch):
    import signal_desk.sources.kalshi.fetch as markets_ingest

    mirror, cfg, market, db_path = talks_mirror
    clock = utc(2026, 6, 28, 12)
    expected = [p for p in market.history if clock - timedelta(days=30) <= p.t <= clock]
    assert len(expected) > 40
    monkeypatch.setattr(markets_ingest, "TRADE_PAGE_CAP", 2)
    pages_of_ten = markets_ingest.kc.trades_url
    monkeypatch.setattr(markets_ingest.kc, "trades_url", lambda *a, **kw: pages_of_ten(*a, **{**kw, "limit": 10}))
    cursor_sql = ("select newest_trade_at, resume_cursor is not null, trades_landed from market_trade_cursors "
                  "where venue = 'kalshi' and market_id = ?")

    assert fetch_and_land(cfg, db_path, clock) == 20            # two pages of ten, newest first
    assert query(db_path, cursor_sql, TALKS) == [(None, True, 20)]   # unfinished: nothing to start after yet
    landed = 20
    for _ in range(len(expected) // 20 + 1):
        landed += fetch_and_land(cfg, db_path, clock)
    assert landed == len(expected)
    assert query(db_path, "select count(*), count(distinct trade_id) from market_trades")[0] == (len(expected),) * 2
    newest, unfinished, counted = query(db_path, cursor_sql, TALKS)[0]
    assert (unfinished, counted) == (False, len(expected))
    assert newest == query(db_path, "select max(traded_at) from market_trades")[0][0]
    assert fetch_and_land(cfg, db_path, clock) == 0             # finished: the next run finds nothing new
