"""The mirror's market renderers: real wire shapes, and render -> parse gives back the scenario market."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from mirror.markets import (
    NotListed,
    clob_prices_history_json,
    gamma_market_json,
    gamma_markets_list_json,
    gamma_public_search_json,
    gamma_token_ids,
    kalshi_candlesticks_json,
    kalshi_market_json,
    kalshi_markets_list_json,
    manifold_bets_json,
    manifold_market_json,
    manifold_markets_list_json,
)
from mirror.scenario_types import PricePoint, ScenarioMarket
from signal_desk.sources import kalshi, manifold, polymarket


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


HISTORY = [
    PricePoint(utc(2026, 6, 27, 12), 0.14),
    PricePoint(utc(2026, 6, 28, 19, 0), 0.17),
    PricePoint(utc(2026, 6, 28, 20, 30), 0.20),     # the price the desk quoted
    PricePoint(utc(2026, 6, 29, 1, 15), 0.26),
]
EVENING = utc(2026, 6, 28, 22, 0)       # after the 20:30 point, before the 01:15 one


def scenario_market(venue: str, market_id: str, **overrides) -> ScenarioMarket:
    fields = dict(
        venue=venue,
        market_id=market_id,
        question="US announces a new blockade of Iran by 31 July?",
        slug="us-announces-new-blockade-of-iran-by-july-31",
        outcomes=["Yes", "No"],
        end_date=utc(2026, 7, 31, 23, 59),
        created_at=utc(2026, 6, 20, 9),
        history=list(HISTORY),
        event_id=None,
        volume=1250000.5,
        liquidity=84000.25,
    )
    fields.update(overrides)
    return ScenarioMarket(**fields)


BLOCKADE = scenario_market("polymarket", "912001", event_id="77001")
LATER = scenario_market("polymarket", "912002", question="Iran closes the Strait of Hormuz by 31 August?",
                        slug="iran-closes-hormuz-by-august-31", created_at=utc(2026, 6, 30), history=[])


# ---------------------------------------------------------------- Polymarket

def test_gamma_market_has_the_real_field_shapes():
    body = json.loads(gamma_market_json(BLOCKADE, EVENING))
    assert isinstance(body["outcomes"], str) and json.loads(body["outcomes"]) == ["Yes", "No"]
    assert json.loads(body["outcomePrices"]) == ["0.2", "0.8"]
    assert isinstance(body["volume"], str) and float(body["volume"]) == 1250000.5
    assert isinstance(body["liquidity"], str)
    assert len(json.loads(body["clobTokenIds"])) == 2
    assert body["umaResolutionStatuses"] == "[]"
    assert body["endDate"] == "2026-07-31T23:59:00Z"
    assert body["closed"] is False


def test_gamma_round_trip_at_the_evening_of_28_june():
    result = polymarket.parse_gamma_markets(gamma_market_json(BLOCKADE, EVENING), EVENING)
    assert result.rejects == []
    [market] = result.markets
    assert (market.market_id, market.question, market.slug) == (BLOCKADE.market_id, BLOCKADE.question, BLOCKADE.slug)
    assert market.outcomes == ["Yes", "No"]
    assert market.end_date == BLOCKADE.end_date
    assert market.event_id == "77001"
    assert market.status == "open"
    assert market.token_ids == gamma_token_ids(BLOCKADE)
    prices = {o.outcome: (o.price_prob, o.venue_ts) for o in result.odds}
    assert prices == {"Yes": (pytest.approx(0.20), utc(2026, 6, 28, 20, 30)),
                      "No": (pytest.approx(0.80), utc(2026, 6, 28, 20, 30))}


def test_gamma_list_shows_only_markets_that_exist_at_as_of():
    listed = polymarket.parse_gamma_markets(gamma_markets_list_json([BLOCKADE, LATER], EVENING), EVENING)
    assert [m.market_id for m in listed.markets] == ["912001"]
    with pytest.raises(NotListed):
        gamma_market_json(LATER, EVENING)
    after = utc(2026, 7, 1)
    listed = polymarket.parse_gamma_markets(gamma_markets_list_json([BLOCKADE, LATER], after), after)
    assert [m.market_id for m in listed.markets] == ["912001", "912002"]
    assert [o.market_id for o in listed.odds if o.market_id == "912002"] == []    # no price yet


def test_gamma_resolution_after_the_end_date():
    resolved = scenario_market("polymarket", "912001", resolved="No")
    later = utc(2026, 8, 2)
    body = json.loads(gamma_market_json(resolved, later))
    assert body["closedTime"] == "2026-07-31 23:59:00+00"
    [market] = polymarket.parse_gamma_markets(json.dumps(body), later).markets
    assert (market.status, market.resolution, market.resolved_at) == ("resolved", "No", utc(2026, 7, 31, 23, 59))
    unresolved = polymarket.parse_gamma_markets(gamma_market_json(BLOCKADE, later), later).markets[0]
    assert (unresolved.status, unresolved.resolution) == ("closed", None)


def test_public_search_matches_words_of_the_query():
    found = polymarket.parse_public_search(gamma_public_search_json([BLOCKADE, LATER], "Iran blockade", EVENING),
                                           EVENING)
    assert [m.market_id for m in found.markets] == ["912001"]
    assert {o.outcome: o.price_prob for o in found.odds} == {"Yes": pytest.approx(0.2), "No": pytest.approx(0.8)}
    nothing = polymarket.parse_public_search(gamma_public_search_json([BLOCKADE], "ceasefire", EVENING), EVENING)
    assert nothing.markets == []


def test_clob_history_round_trip_for_both_outcomes():
    yes_token, no_token = gamma_token_ids(BLOCKADE)
    start, end = int(utc(2026, 6, 28).timestamp()), int(utc(2026, 6, 30).timestamp())
    yes = polymarket.parse_prices_history(clob_prices_history_json(BLOCKADE, yes_token, start, end, EVENING),
                                          market_id="912001", outcome="Yes", token_id=yes_token)
    assert [(o.venue_ts, o.price_prob) for o in yes.odds] == [(utc(2026, 6, 28, 19), pytest.approx(0.17)),
                                                              (utc(2026, 6, 28, 20, 30), pytest.approx(0.20))]
    no = polymarket.parse_prices_history(clob_prices_history_json(BLOCKADE, no_token, None, None, EVENING),
                                         market_id="912001", outcome="No", token_id=no_token)
    assert [o.price_prob for o in no.odds] == [pytest.approx(0.86), pytest.approx(0.83), pytest.approx(0.80)]
    with pytest.raises(NotListed):
        clob_prices_history_json(BLOCKADE, "123", None, None, EVENING)


# ---------------------------------------------------------------- Kalshi

KALSHI = scenario_market("kalshi", "KXIRANBLOCK-26JUL31", event_id="KXIRANBLOCK-26JUL31", slug="")


def test_kalshi_market_round_trip():
    body = json.loads(kalshi_market_json(KALSHI, EVENING))
    assert body["market"]["last_price_dollars"] == "0.2000"
    assert body["market"]["volume_fp"] == "1250000.50"
    result = kalshi.parse_market(json.dumps(body), EVENING)
    [market] = result.markets
    assert (market.market_id, market.question, market.event_id) == (KALSHI.market_id, KALSHI.question,
                                                                     "KXIRANBLOCK-26JUL31")
    assert market.end_date == KALSHI.end_date
    assert (market.status, market.resolution) == ("open", None)
    [point] = result.odds
    assert (point.outcome, point.price_prob) == ("Yes", pytest.approx(0.20))


def test_kalshi_list_and_settlement():
    unopened = scenario_market("kalshi", "KXHORMUZ-26AUG31", created_at=utc(2026, 6, 30), history=[])
    page = kalshi.parse_markets(kalshi_markets_list_json([KALSHI, unopened], EVENING), EVENING)
    assert [m.market_id for m in page.markets] == ["KXIRANBLOCK-26JUL31"]
    settled_market = scenario_market("kalshi", "KXIRANBLOCK-26JUL31", resolved="Yes")
    later = utc(2026, 8, 2)
    [market] = kalshi.parse_market(kalshi_market_json(settled_market, later), later).markets
    assert (market.status, market.resolution) == ("resolved", "Yes")


def test_kalshi_candles_round_trip_skip_hours_without_trades():
    start, end = int(utc(2026, 6, 27).timestamp()), int(utc(2026, 6, 29, 6).timestamp())
    body = json.loads(kalshi_candlesticks_json(KALSHI, start, end, 60, EVENING))
    assert any(c["price"] == {"previous_dollars": "0.1400"} for c in body["candlesticks"])
    result = kalshi.parse_candlesticks(json.dumps(body), market_id=KALSHI.market_id)
    assert result.rejects == []
    # each price lands on the end of its hour
    assert [(o.venue_ts, o.price_prob) for o in result.odds] == [
        (utc(2026, 6, 27, 12), pytest.approx(0.14)),
        (utc(2026, 6, 28, 19), pytest.approx(0.17)),
        (utc(2026, 6, 28, 21), pytest.approx(0.20)),
    ]
    assert max(c["end_period_ts"] for c in body["candlesticks"]) <= int((EVENING + timedelta(hours=1)).timestamp())


# ---------------------------------------------------------------- Manifold

MANIFOLD = scenario_market("manifold", "mfIranBlock0731", slug="will-the-us-announce-a-new-blockade-of-iran")


def test_manifold_market_round_trip():
    result = manifold.parse_market(manifold_market_json(MANIFOLD, EVENING), EVENING)
    [market] = result.markets
    assert (market.market_id, market.question, market.slug) == (MANIFOLD.market_id, MANIFOLD.question, MANIFOLD.slug)
    assert market.end_date == MANIFOLD.end_date
    assert market.status == "open"
    assert market.url.endswith("/will-the-us-announce-a-new-blockade-of-iran")
    [point] = result.odds
    assert (point.outcome, point.price_prob, point.venue_ts) == ("Yes", pytest.approx(0.20), utc(2026, 6, 28, 20, 30))


def test_manifold_bets_round_trip_and_list():
    bets = json.loads(manifold_bets_json(MANIFOLD, EVENING))
    assert [b["createdTime"] for b in bets] == sorted((b["createdTime"] for b in bets), reverse=True)
    result = manifold.parse_bets(json.dumps(bets))
    assert sorted((o.venue_ts, o.price_prob) for o in result.odds) == [
        (p.t, pytest.approx(p.p)) for p in HISTORY[:3]]
    listed = manifold.parse_markets(manifold_markets_list_json([MANIFOLD], EVENING), EVENING)
    assert [m.market_id for m in listed.markets] == [MANIFOLD.market_id]


def test_manifold_resolution_after_the_end_date():
    resolved = scenario_market("manifold", "mfIranBlock0731", resolved="No")
    later = utc(2026, 8, 2)
    [market] = manifold.parse_market(manifold_market_json(resolved, later), later).markets
    assert (market.status, market.resolution, market.resolved_at) == ("resolved", "No", utc(2026, 7, 31, 23, 59))


def test_renderers_refuse_other_venues_and_naive_times():
    with pytest.raises(NotListed):
        kalshi_market_json(BLOCKADE, EVENING)
    with pytest.raises(ValueError):
        gamma_market_json(BLOCKADE, datetime(2026, 6, 28, 22))
