"""Manifold API v0 parsing, checked against real captured payloads (tests/fixtures/manifold)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signal_desk.items import PayloadError
from signal_desk.sources.manifold import (
    API_BASE,
    answer_labels,
    bets_url,
    market_url,
    markets_url,
    parse_bets,
    parse_market,
    parse_markets,
)

FIXTURES = Path(__file__).parent / "fixtures" / "manifold"
OBSERVED = datetime(2026, 2, 1, 0, 0, tzinfo=timezone.utc)


def utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def lite_markets() -> list[dict]:
    return json.loads(fixture("manifold_v0_markets_500_predictngin.json"))


def test_full_binary_market_resolved_yes():
    result = parse_market(fixture("manifold_v0_market_full_binary_resolved_yes_pmgrowth.json"),
                          datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert result.rejects == []
    [market] = result.markets
    assert market.venue == "manifold"
    assert market.market_id == "gx18r8g6AM5sXGJ0lpSQ"
    assert market.question == ("Will Tesla provide (or be included in) an autonomous ride-hailing service "
                               "before the end of 2026")
    assert market.slug == "will-tesla-provide-an-autonomous-dr"
    assert market.outcomes == ["Yes", "No"]
    assert (market.status, market.resolution) == ("resolved", "Yes")
    assert market.resolved_at == datetime(2026, 10, 4, 21, 30, 27, 991000, tzinfo=timezone.utc)
    assert market.end_date == datetime(2026, 10, 4, 21, 30, 27, 991000, tzinfo=timezone.utc)
    assert market.url is None       # this capture carries neither url nor creatorUsername
    [point] = result.odds
    assert (point.outcome, point.price_prob) == ("Yes", pytest.approx(0.7622505137354175))
    assert point.venue_ts == datetime(2026, 10, 3, 7, 3, 29, 351000, tzinfo=timezone.utc)   # lastBetTime
    assert point.volume == pytest.approx(43943.25883332165)
    assert point.liquidity == pytest.approx(1000)


def test_bets_only_filled_bets_are_prices():
    result = parse_bets(fixture("manifold_v0_bets_2_limit_and_fill_pmgrowth.json"))
    assert result.rejects == []
    # the first bet is a resting limit order (limitProb 0.7, fills []): not a price
    [point] = result.odds
    assert point.market_id == "gx18r8g6AM5sXGJ0lpSQ"
    assert point.outcome == "Yes"
    assert point.price_prob == pytest.approx(0.7622505137354175)
    assert point.venue_ts == datetime(2026, 10, 3, 7, 3, 29, 351000, tzinfo=timezone.utc)


def test_lite_market_list_binary_parsed_others_rejected_with_reason():
    result = parse_markets(fixture("manifold_v0_markets_500_predictngin.json"), OBSERVED)
    assert len(result.markets) == 309
    assert len(result.odds) == 309
    reasons = Counter(r.reason.split(" (")[0] for r in result.rejects)
    assert reasons == {
        "MULTIPLE_CHOICE without 'answers'": 134,
        "outcomeType POLL has no outcome probabilities to read": 30,
        "outcomeType MULTI_NUMERIC has no outcome probabilities to read": 14,
        "outcomeType DATE has no outcome probabilities to read": 12,
        "outcomeType STONK has no outcome probabilities to read": 1,
    }
    by_id = {m.market_id: m for m in result.markets}
    first = by_id["qy222g0Nhq"]
    assert first.question == "[Polymarket] Moltbook AI agent sues a human by Feb 28?"
    assert first.url == "https://manifold.markets/realDonaldTrump/polymarket-moltbook-ai-agent-sues-a"
    assert first.status == "open"
    assert first.end_date == datetime(2026, 2, 27, 23, 59, tzinfo=timezone.utc)
    first_point = next(o for o in result.odds if o.market_id == "qy222g0Nhq")
    assert first_point.price_prob == 0.5
    assert first_point.venue_ts == utc_ms(1769882755693)   # no bets yet: the creation time

    # resolutionProbability is the price at resolution, not the outcome
    assert (by_id["ygtnI8ZQ5n"].status, by_id["ygtnI8ZQ5n"].resolution) == ("resolved", "Yes")
    assert (by_id["QlQRu9SQSh"].status, by_id["QlQRu9SQSh"].resolution) == ("resolved", "No")
    assert by_id["QlQRu9SQSh"].resolved_at == utc_ms(1769875552736)
    assert (by_id["Qsys20dP9n"].status, by_id["Qsys20dP9n"].resolution) == ("resolved", None)   # CANCEL
    assert (by_id["CdOdtZl9UI"].status, by_id["CdOdtZl9UI"].resolution) == ("resolved", None)   # MKT
    resolutions = Counter(m.resolution for m in result.markets if m.status == "resolved")
    assert resolutions == {"Yes": 21, "No": 25, None: 29 + 8}
    assert all(0.0 <= o.price_prob <= 1.0 for o in result.odds)


def test_status_closed_after_close_time_while_unresolved():
    market = next(m for m in lite_markets() if m["id"] == "l6pOZSLngN")     # "Fairly Odd or Even"
    before = parse_markets(json.dumps([market]), OBSERVED).markets[0]
    after = parse_markets(json.dumps([market]), datetime(2026, 2, 3, tzinfo=timezone.utc)).markets[0]
    assert before.status == "open"
    assert after.status == "closed"
    assert after.end_date == datetime(2026, 2, 2, 7, 59, tzinfo=timezone.utc)


def _full_multiple_choice(sum_to_one: bool) -> dict:
    """A real lite MULTIPLE_CHOICE object completed with answers in the v0 full-market shape."""
    market = next(m for m in lite_markets() if m["id"] == "pQy680tq8U")
    texts_probs = [("3-0", 0.5), ("3-1", 0.3), ("3-2", 0.2)]
    market["answers"] = [
        {"id": f"ans{i}", "index": i, "contractId": market["id"], "text": text, "createdTime": market["createdTime"],
         "pool": {"YES": 100.0, "NO": 100.0}, "probability": prob}
        for i, (text, prob) in enumerate(texts_probs)
    ]
    market["shouldAnswersSumToOne"] = sum_to_one
    market["addAnswersMode"] = "DISABLED"
    return market


def test_multiple_choice_with_answer_probabilities():
    market = _full_multiple_choice(sum_to_one=True)
    result = parse_market(json.dumps(market), OBSERVED)
    [parsed] = result.markets
    assert parsed.question == "Australian Open Men's Final: Exact Set Score"
    assert parsed.outcomes == ["3-0", "3-1", "3-2"]
    assert parsed.outcomes_sum_to_one is True
    assert {o.outcome: o.price_prob for o in result.odds} == {"3-0": 0.5, "3-1": 0.3, "3-2": 0.2}
    assert {o.venue_ts for o in result.odds} == {utc_ms(1769875129677)}

    independent = parse_market(json.dumps(_full_multiple_choice(sum_to_one=False)), OBSERVED).markets[0]
    assert independent.outcomes_sum_to_one is False

    resolved = dict(market, isResolved=True, resolution="ans1", resolutionTime=1770076740000)
    parsed = parse_market(json.dumps(resolved), OBSERVED).markets[0]
    assert (parsed.status, parsed.resolution) == ("resolved", "3-1")

    labels = answer_labels(json.dumps(market))
    bet = {"id": "b1", "contractId": market["id"], "answerId": "ans2", "createdTime": 1769875129677,
           "probAfter": 0.25, "probBefore": 0.2, "outcome": "YES", "isFilled": True, "fills": [{"amount": 5}]}
    [point] = parse_bets(json.dumps([bet]), answer_labels=labels).odds
    assert (point.outcome, point.price_prob) == ("3-2", 0.25)
    unknown = parse_bets(json.dumps([bet]))
    assert unknown.odds == [] and "ans2" in unknown.rejects[0].reason


@pytest.mark.parametrize("changes, reason_part", [
    ({"probability": "1.3"}, "outside [0, 1]"),
    ({"question": None}, "question"),
    ({"probability": None}, "probability"),
    ({"closeTime": "next week"}, "closeTime"),
])
def test_a_malformed_market_is_rejected_and_the_rest_parsed(changes, reason_part):
    markets = lite_markets()[:3]        # BINARY, POLL, BINARY
    bad = dict(markets[2])
    for key, value in changes.items():
        if value is None:
            bad.pop(key)
        else:
            bad[key] = value
    payload = json.dumps([markets[0], bad])
    result = parse_markets(payload, OBSERVED)
    assert [m.market_id for m in result.markets] == ["qy222g0Nhq"]
    [reject] = result.rejects
    assert reason_part in reject.reason
    assert "[1]" in reject.locator and "l6pOZSLngN" in reject.locator


def test_a_malformed_bet_is_rejected_and_the_rest_kept():
    bets = json.loads(fixture("manifold_v0_bets_2_limit_and_fill_pmgrowth.json"))
    broken = dict(bets[1], id="broken", probAfter=1.3)
    result = parse_bets(json.dumps([broken] + bets))
    assert len(result.odds) == 1
    [reject] = result.rejects
    assert "outside [0, 1]" in reject.reason and "broken" in reject.locator


@pytest.mark.parametrize("parse, body", [
    (lambda b: parse_market(b, OBSERVED), {"message": "Contract not found"}),
    (lambda b: parse_markets(b, OBSERVED), {"message": "Too many requests"}),
    (lambda b: parse_markets(b, OBSERVED), [{"name": "a user, not a market"}]),
    (lambda b: parse_bets(b), {"bets": []}),
    (lambda b: parse_bets(b), [{"id": "x", "amount": 5}]),
])
def test_a_changed_payload_shape_raises_payload_error_naming_the_venue(parse, body):
    with pytest.raises(PayloadError) as caught:
        parse(json.dumps(body))
    assert "manifold" in str(caught.value)


def test_the_error_text_of_the_venue_is_kept():
    with pytest.raises(PayloadError, match="Contract not found"):
        parse_market(json.dumps({"message": "Contract not found"}), OBSERVED)
    with pytest.raises(PayloadError, match="not JSON"):
        parse_bets(b"<html><body>Service Unavailable</body></html>")


def test_url_builders():
    assert market_url(API_BASE, "gx18r8g6AM5sXGJ0lpSQ") == "https://api.manifold.markets/v0/market/gx18r8g6AM5sXGJ0lpSQ"
    assert markets_url(API_BASE, limit=500) == "https://api.manifold.markets/v0/markets?limit=500"
    assert bets_url("http://127.0.0.1:9/manifold/v0", "gx18r8g6AM5sXGJ0lpSQ", limit=1000) == \
        "http://127.0.0.1:9/manifold/v0/bets?contractId=gx18r8g6AM5sXGJ0lpSQ&limit=1000"
