"""Archived Polymarket markets (a real negRisk event: an "arch"-prefixed duplicate and one with the live
market's very question, odds a week stale) are flagged and kept out of current odds, signals and charts."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from signal_desk import db, landing
from signal_desk.signals.models import create_views, load_models
from signal_desk.sources.polymarket import parse_gamma_markets
from tests.pipeline_helpers import query

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
OBSERVED = datetime(2026, 1, 23, 14, tzinfo=timezone.utc)
QUESTION = "Will Trump nominate Rick Rieder as the next Fed chair?"


def parsed():
    return parse_gamma_markets((FIXTURES / "gamma_markets_fed_chair_39_peller.json").read_bytes(), OBSERVED)


def test_archived_markets_are_flagged_and_live_ones_are_not():
    markets = {m.market_id: m for m in parsed().markets}
    assert {mid for mid, m in markets.items() if m.archived} == {"572490", "572493"}
    assert markets["572490"].question.startswith("archWill")
    assert markets["572493"].question == markets["572485"].question == QUESTION
    assert not markets["572485"].archived


def test_the_archived_duplicate_stays_out_of_current_odds(tmp_path):
    result = parsed()
    path = str(tmp_path / "desk.duckdb")
    with db.writer(path) as con:
        landing.land_markets(con, "run-1", result.markets, result.odds, OBSERVED, ["snapshot"] * len(result.odds))
        con.execute("insert into watchlist_markets values ('fed', 'polymarket', ?), ('fed', 'polymarket', ?)",
                    ["will-trump-nominate-rick-rieder-as-the-next-fed-chair",
                     "will-trump-nominate-rick-rieder-as-the-next-fed-chair-917"])
        create_views(con, load_models())
    # both are landed, with their own prices: 0.3375 live, 0.075 archived (updated a week earlier)
    assert query(path, "select market_id, archived, price_prob, venue_ts::date from markets join odds_snapshots "
                       "using (venue, market_id) where question = ? and outcome = 'Yes' order by market_id",
                 QUESTION) == [("572485", False, 0.3375, datetime(2026, 1, 23).date()),
                               ("572493", True, 0.075, datetime(2026, 1, 15).date())]
    # what the marts, alerts and the report's odds lines read: only the live market
    assert query(path, "select market_id from stg_watchlist_markets") == [("572485",)]
