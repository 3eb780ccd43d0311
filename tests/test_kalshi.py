"""Kalshi trade API v2 parsing, checked against real captured payloads (tests/fixtures/kalshi)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from signal_desk.items import PayloadError
from signal_desk.sources.kalshi import (
    API_BASE,
    candlesticks_url,
    market_url,
    markets_url,
    parse_candlesticks,
    parse_events,
    parse_market,
    parse_markets,
)

FIXTURES = Path(__file__).parent / "fixtures" / "kalshi"
OBSERVED = datetime(2026, 8, 8, 12, 0, tzinfo=timezone.utc)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_single_market_baseball_game():
    result = parse_market(fixture("kalshi_market_single_mlb_pmvlab.json"), OBSERVED)
    assert result.rejects == []
    [market] = result.markets
    assert market.venue == "kalshi"
    assert market.market_id == "KXMLBGAME-26AUG092020HOUSD-SD"
    assert market.question == "Houston vs San Diego Winner?"
    assert market.group_item_title == "San Diego"
    assert market.event_id == "KXMLBGAME-26AUG092020HOUSD"
    assert market.outcomes == ["Yes", "No"]
    assert market.end_date == utc(2026, 8, 13, 0, 20)
    assert (market.status, market.resolution) == ("open", None)
    [point] = result.odds
    assert (point.outcome, point.price_prob) == ("Yes", pytest.approx(0.54))
    assert point.venue_ts == OBSERVED      # the market object has no time for its last price
    assert point.volume == pytest.approx(10160.15)


def test_single_market_with_both_cents_and_dollars_reads_dollars():
    result = parse_market(fixture("kalshi_market_single_ucl_football.json"), OBSERVED)
    [market] = result.markets
    assert market.market_id == "KXUCLGAME-26MAR10PSGCFC-PSG"
    assert market.question == "PSG vs Chelsea Winner?"
    assert market.group_item_title == "PSG"
    assert market.end_date == utc(2026, 3, 24, 20)
    [point] = result.odds
    assert point.price_prob == pytest.approx(0.72)
    assert point.volume == pytest.approx(806080.0)


def test_events_with_nested_markets_and_cursor():
    result = parse_events(fixture("kalshi_events_with_nested_markets_pmvlab.json"), OBSERVED)
    assert result.rejects == []
    assert result.next_cursor == "CgYI8OG8lQ8SE0tYTkVYVE5BVE9TRUNHRU4tOTk"
    assert len(result.markets) == 9
    mars = next(m for m in result.markets if m.market_id == "KXELONMARS-99")
    assert mars.question == "Will Elon Musk visit Mars before Aug 1, 2099?"
    assert mars.end_date == utc(2099, 8, 1, 4, 59)
    nato = [m for m in result.markets if m.event_id == "KXNEXTNATOSECGEN-99"]
    assert len(nato) == 8
    assert {m.group_item_title for m in nato} >= {"Klaus Iohannis", "Kaja Kallas", "Alexander Stubb", "Keir Starmer"}
    prices = {o.market_id: o.price_prob for o in result.odds}
    assert prices["KXELONMARS-99"] == pytest.approx(0.12)
    assert prices["KXNEXTNATOSECGEN-99-ASTU"] == pytest.approx(0.18)
    assert prices["KXNEXTNATOSECGEN-99-KIOH"] == pytest.approx(0.07)


def test_markets_page_that_never_traded_gives_markets_but_no_prices():
    result = parse_markets(fixture("kalshi_markets_list_btc_strikes_pmvlab.json"), OBSERVED)
    assert result.next_cursor == "CgwIs9OM0wYQmJudpwESGktYQlRDRC0yNkpVTDI1MDItVDc0MDk5Ljk5"
    assert [m.market_id for m in result.markets] == [
        "KXBTCD-26JUL2502-T74299.99", "KXBTCD-26JUL2502-T74199.99", "KXBTCD-26JUL2502-T74099.99"]
    assert result.markets[0].question == "Bitcoin price on Jul 25, 2026?"
    assert result.markets[0].group_item_title == "$74,300 or above"
    assert result.markets[0].end_date == utc(2026, 7, 25, 6)
    # last_price_dollars "0.0000" with volume_fp "0.00" is no trade, not a zero probability
    assert result.odds == []


def test_bare_list_of_multivariate_markets():
    result = parse_markets(fixture("kalshi_markets_list_5_drmanhattan.json"), OBSERVED)
    assert len(result.markets) == 5
    assert result.next_cursor is None
    first = result.markets[0]
    assert first.market_id == "KXMVESPORTSMULTIGAMEEXTENDED-S202695384F34707-B07014EEB10"
    assert first.event_id == "KXMVESPORTSMULTIGAMEEXTENDED-S202695384F34707"
    assert first.question == "yes New York Y,yes San Francisco,yes Brewers wins by over 4.5 runs"
    assert first.group_item_title is None       # yes_sub_title repeats the title
    assert result.odds == []


def test_candles_without_trades_are_skipped_not_zero():
    result = parse_candlesticks(fixture("kalshi_candlesticks_kxfed_marketlens.json"))
    assert result.rejects == []
    [point] = result.odds
    assert point.market_id == "KXFED-26JUN-T5.25"
    assert point.outcome == "Yes"
    assert point.price_prob == pytest.approx(0.05)
    assert point.venue_ts == utc(2026, 1, 8, 5)
    assert point.volume == pytest.approx(10.0)


def _mlb_market(**changes) -> dict:
    market = json.loads(fixture("kalshi_market_single_mlb_pmvlab.json"))["market"]
    for key, value in changes.items():
        if value is None:
            market.pop(key)
        else:
            market[key] = value
    return market


def test_settled_market_resolves_from_result():
    settled = _mlb_market(status="finalized", result="no")
    result = parse_market(json.dumps({"market": settled}), OBSERVED)
    [market] = result.markets
    assert (market.status, market.resolution) == ("resolved", "No")
    closed = parse_market(json.dumps({"market": _mlb_market(status="closed")}), OBSERVED).markets[0]
    assert (closed.status, closed.resolution) == ("closed", None)


@pytest.mark.parametrize("changes, reason_part", [
    ({"last_price_dollars": "1.3"}, "outside [0, 1]"),
    ({"title": None}, "title"),
    ({"status": "halted_forever"}, "unknown status"),
    ({"close_time": "Aug 13"}, "close_time"),
    ({"volume_fp": "lots"}, "not a number"),
])
def test_a_malformed_market_is_rejected_and_the_rest_parsed(changes, reason_part):
    page = json.loads(fixture("kalshi_markets_list_btc_strikes_pmvlab.json"))
    page["markets"].insert(1, _mlb_market(**changes))
    result = parse_markets(json.dumps(page), OBSERVED)
    assert len(result.markets) == 3
    [reject] = result.rejects
    assert reason_part in reject.reason
    assert "[1]" in reject.locator and "KXMLBGAME-26AUG092020HOUSD-SD" in reject.locator


def test_a_malformed_candle_is_rejected_and_the_rest_kept():
    body = json.loads(fixture("kalshi_candlesticks_kxfed_marketlens.json"))
    body["candlesticks"].insert(0, {"end_period_ts": "yesterday", "price": {"close_dollars": "0.10"}})
    body["candlesticks"].append({"end_period_ts": 1768021200, "price": {"close_dollars": "1.5"}})
    result = parse_candlesticks(json.dumps(body))
    assert [o.price_prob for o in result.odds] == [pytest.approx(0.05)]
    assert [r.locator.rsplit(" ", 1)[-1] for r in result.rejects] == ["candlesticks[0]", "candlesticks[4]"]


@pytest.mark.parametrize("parse, body", [
    (lambda b: parse_markets(b, OBSERVED), {"error": {"code": "not_found", "message": "market not found"}}),
    (lambda b: parse_market(b, OBSERVED), {"markets": []}),
    (lambda b: parse_events(b, OBSERVED), {"events": [{"event_ticker": "X", "title": "no nested markets"}]}),
    (lambda b: parse_candlesticks(b), {"ticker": "KXFED-26JUN-T5.25"}),
    (lambda b: parse_markets(b, OBSERVED), [{"series_ticker": "KXBTCD"}]),
])
def test_a_changed_payload_shape_raises_payload_error_naming_the_venue(parse, body):
    with pytest.raises(PayloadError) as caught:
        parse(json.dumps(body))
    assert "kalshi" in str(caught.value)


def test_a_series_payload_is_not_a_markets_page():
    with pytest.raises(PayloadError, match="kalshi /markets.*series"):
        parse_markets(fixture("kalshi_series_btc_pmvlab.json"), OBSERVED)


def test_error_text_and_candle_ticker_mismatch():
    with pytest.raises(PayloadError, match="market not found"):
        parse_market(json.dumps({"error": {"code": "not_found", "message": "market not found"}}), OBSERVED)
    with pytest.raises(PayloadError, match="KXFED-26JUN-T5.25"):
        parse_candlesticks(fixture("kalshi_candlesticks_kxfed_marketlens.json"), market_id="KXOTHER-1")


def test_url_builders():
    assert market_url(API_BASE, "KXFED-26JUN-T5.25") == \
        "https://api.elections.kalshi.com/trade-api/v2/markets/KXFED-26JUN-T5.25"
    parts = urlsplit(markets_url(API_BASE, tickers=["A-1", "B-2"], cursor="abc"))
    assert parse_qs(parts.query) == {"tickers": ["A-1,B-2"], "cursor": ["abc"]}
    assert markets_url("http://127.0.0.1:9/kalshi", event_ticker="KXNEXTNATOSECGEN-99") == \
        "http://127.0.0.1:9/kalshi/markets?event_ticker=KXNEXTNATOSECGEN-99"
    url = candlesticks_url(API_BASE, "KXFED", "KXFED-26JUN-T5.25", 1767800000, 1767900000, 60)
    assert urlsplit(url).path == "/trade-api/v2/series/KXFED/markets/KXFED-26JUN-T5.25/candlesticks"
    assert parse_qs(urlsplit(url).query) == {"start_ts": ["1767800000"], "end_ts": ["1767900000"],
                                             "period_interval": ["60"]}
    with pytest.raises(ValueError):
        candlesticks_url(API_BASE, "KXFED", "KXFED-26JUN-T5.25", 1, 2, 15)
