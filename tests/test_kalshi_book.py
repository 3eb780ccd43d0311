"""Kalshi's book beside each snapshot price: bid, ask, spread and open interest kept; the deprecated
liquidity field, sent as zero while the book has size, stored as null. Real captured market objects."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from signal_desk import db, landing
from signal_desk.sources.kalshi import parse_market, parse_markets
from tests.pipeline_helpers import query

FIXTURES = Path(__file__).parent / "fixtures" / "kalshi"
OBSERVED = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)


def test_bid_ask_spread_and_open_interest_are_kept_and_liquidity_is_null_not_zero(tmp_path):
    result = parse_market((FIXTURES / "kalshi_market_single_ucl_football.json").read_bytes(), OBSERVED)
    [point] = result.odds
    # the capture: yes_bid 0.70 (61957 contracts), yes_ask 0.72 (212771), liquidity_dollars "0.0000"
    assert (point.best_bid_prob, point.best_ask_prob, point.spread_prob) == (0.70, 0.72, 0.02)
    assert point.open_interest_contracts == 680281.0 and point.liquidity is None

    path = str(tmp_path / "desk.duckdb")
    with db.writer(path) as con:
        landing.land_markets(con, "run-1", result.markets, result.odds, OBSERVED, ["snapshot"])
    assert query(path, "select price_prob, best_bid_prob, best_ask_prob, spread_prob, open_interest_contracts, "
                       "liquidity from odds_snapshots") == [(0.72, 0.70, 0.72, 0.02, 680281.0, None)]


def test_an_empty_side_of_the_book_is_no_price():
    # a strike nobody bids on: yes_bid "0.0000", yes_ask "0.0100", never traded (no snapshot point)
    result = parse_markets((FIXTURES / "kalshi_markets_list_btc_strikes_pmvlab.json").read_bytes(), OBSERVED)
    assert not result.rejects
    for point in result.odds:
        assert point.best_bid_prob is None or point.best_bid_prob > 0
        assert point.best_ask_prob is None or point.best_ask_prob < 1
        assert point.liquidity is None or point.liquidity > 0
