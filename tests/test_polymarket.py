"""Polymarket Gamma/CLOB parsing, checked against real captured payloads (tests/fixtures/polymarket)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from signal_desk.items import PayloadError
from signal_desk.sources.polymarket import (
    GAMMA_BASE,
    CLOB_BASE,
    gamma_markets_url,
    parse_gamma_events,
    parse_gamma_markets,
    parse_prices_history,
    parse_public_search,
    prices_history_url,
    public_search_url,
)

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
OBSERVED = datetime(2026, 8, 10, 12, 0, tzinfo=timezone.utc)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def by_id(result, market_id):
    return next(m for m in result.markets if m.market_id == market_id)


def odds_of(result, market_id):
    return {o.outcome: o for o in result.odds if o.market_id == market_id}


def test_markets_by_slug_list_of_one_geopolitical_market():
    result = parse_gamma_markets(fixture("gamma_markets_by_slug_hormuz_pmvlab.json"), OBSERVED)
    assert result.rejects == []
    [market] = result.markets
    assert market.venue == "polymarket"
    assert market.market_id == "2774056"
    assert market.question == "Strait of Hormuz traffic returns to normal by August 31?"
    assert market.outcomes == ["Yes", "No"]
    assert market.slug == "strait-of-hormuz-traffic-returns-to-normal-by-august-31-20260702154212320"
    assert market.end_date == utc(2026, 8, 31)
    assert market.status == "open"
    assert market.resolution is None
    assert market.group_item_title == "August 31"
    assert market.event_id is None
    assert market.token_ids == [
        "105426373826369935595603860663411604941599130211176020843036778867927711117332",
        "90869494087977018607792751230236923002303032923064138180950209430688758061828",
    ]
    assert market.url == ("https://polymarket.com/market/"
                          "strait-of-hormuz-traffic-returns-to-normal-by-august-31-20260702154212320")
    odds = odds_of(result, "2774056")
    assert odds["Yes"].price_prob == pytest.approx(0.065)
    assert odds["No"].price_prob == pytest.approx(0.935)
    # stamped with the market's updatedAt, not the fetch time
    assert odds["Yes"].venue_ts == datetime(2026, 8, 9, 11, 31, 38, 918166, tzinfo=timezone.utc)
    assert odds["Yes"].volume == pytest.approx(10590001.951022005)
    assert odds["Yes"].liquidity == pytest.approx(1194422.9263)


def test_single_market_object_with_up_down_outcomes_and_nested_event():
    result = parse_gamma_markets(fixture("gamma_market_single_btc_updown_5m_pmcli.json"), OBSERVED)
    [market] = result.markets
    assert market.market_id == "1669969"
    assert market.question == "Bitcoin Up or Down - March 22, 3:50AM-3:55AM ET"
    assert market.outcomes == ["Up", "Down"]
    assert market.event_id == "292275"
    assert market.url == "https://polymarket.com/event/btc-updown-5m-1774165800"
    assert market.end_date == utc(2026, 3, 22, 7, 55)
    assert market.status == "open"
    odds = odds_of(result, "1669969")
    assert (odds["Up"].price_prob, odds["Down"].price_prob) == (pytest.approx(0.005), pytest.approx(0.995))
    assert odds["Up"].venue_ts == datetime(2026, 3, 22, 7, 55, 14, 901374, tzinfo=timezone.utc)
    assert odds["Up"].liquidity == pytest.approx(19748.9135)


def test_markets_list_with_events_and_trailing_space_group_titles():
    result = parse_gamma_markets(fixture("gamma_markets_list_5_drmanhattan.json"), OBSERVED)
    assert [m.market_id for m in result.markets] == ["540817", "540818", "540819", "540820", "540843"]
    assert {m.event_id for m in result.markets} == {"23784"}
    assert by_id(result, "540818").group_item_title == "New Playboi Carti Album"
    assert by_id(result, "540819").question == "Will Jesus Christ return before GTA VI?"
    assert odds_of(result, "540817")["Yes"].price_prob == pytest.approx(0.51)
    assert odds_of(result, "540843")["No"].price_prob == pytest.approx(0.495)
    assert by_id(result, "540820").url == ("https://polymarket.com/event/what-will-happen-before-gta-vi/"
                                           "trump-out-as-president-before-gta-vi-846")


def test_markets_list_prices_near_the_bounds():
    result = parse_gamma_markets(fixture("gamma_markets_list_3_pmvlab.json"), OBSERVED)
    assert result.rejects == []
    assert by_id(result, "2063134").question == "Will Adanech Abiebie be the next Prime Minister of Ethiopia?"
    assert by_id(result, "2063134").event_id == "411239"
    assert odds_of(result, "2063134")["Yes"].price_prob == pytest.approx(0.0025)
    assert odds_of(result, "1654958")["Yes"].price_prob == pytest.approx(0.7355)
    assert odds_of(result, "1931121")["Yes"].price_prob == pytest.approx(0.9975)
    assert by_id(result, "1654958").end_date == utc(2026, 7, 29)
    assert all(0.0 <= o.price_prob <= 1.0 for o in result.odds)


def test_negrisk_list_with_placeholder_markets_that_have_no_prices():
    result = parse_gamma_markets(fixture("gamma_markets_fed_chair_39_peller.json"), OBSERVED)
    assert len(result.markets) == 39
    assert result.rejects == []
    warsh = by_id(result, "572469")
    assert warsh.question == "Will Trump nominate Kevin Warsh as the next Fed chair?"
    assert warsh.group_item_title == "Kevin Warsh"
    assert warsh.status == "open"
    assert odds_of(result, "572469")["Yes"].price_prob == pytest.approx(0.435)
    # "Individual P".."Z" and "Other" are placeholder slots: active false, no outcomePrices
    placeholders = {m.market_id for m in result.markets if not odds_of(result, m.market_id)}
    assert placeholders == {str(i) for i in range(572495, 572506)} | {"572507"}
    individual_t = by_id(result, "572499")
    assert individual_t.status == "closed"
    assert individual_t.token_ids[0] == "14529672346392934978434793816270714896995632576897709462608534464510335758583"
    assert len(result.odds) == 2 * (39 - 12)


def test_events_list_resolved_markets_and_closed_time_format():
    result = parse_gamma_events(fixture("gamma_events_list_2_pmvlab.json"), OBSERVED)
    assert result.rejects == []
    assert len(result.markets) == 8
    kraken_2025 = by_id(result, "516950")
    assert kraken_2025.question == "Kraken IPO in 2025?"
    assert kraken_2025.event_id == "16183"
    assert kraken_2025.status == "resolved"
    # priced ["0", "1"]: resolved No, although lastTradePrice says 1
    assert kraken_2025.resolution == "No"
    assert kraken_2025.resolved_at == utc(2026, 1, 1, 7, 30, 39)     # closedTime "2026-01-01 07:30:39+00"
    assert odds_of(result, "516950")["Yes"].price_prob == 0.0
    macron_june = by_id(result, "597964")
    assert (macron_june.status, macron_june.resolution) == ("resolved", "No")
    assert macron_june.resolved_at == utc(2026, 7, 1, 6, 2, 10)
    assert macron_june.event_id == "16263"
    open_market = by_id(result, "691547")
    assert (open_market.status, open_market.resolution, open_market.resolved_at) == ("open", None, None)
    assert odds_of(result, "691547")["Yes"].price_prob == pytest.approx(0.265)
    not_launched = by_id(result, "1642124")
    assert not_launched.status == "closed"
    assert not_launched.token_ids == []
    assert odds_of(result, "1642124") == {}
    assert by_id(result, "2694508").group_item_title == "July 31, 2026"


def test_single_negrisk_event_object_with_bucket_markets():
    result = parse_gamma_events(fixture("gamma_event_single_paris_temperature_rainmaker.json"), OBSERVED)
    assert len(result.markets) == 11
    assert {m.event_id for m in result.markets} == {"589460"}
    titles = [m.group_item_title for m in result.markets]
    assert titles[0] == "22°C or below" and titles[-1] == "32°C or higher"
    favourite = by_id(result, "2528132")
    assert favourite.question == "Will the highest temperature in Paris be 27°C on June 15?"
    assert odds_of(result, "2528132")["Yes"].price_prob == pytest.approx(0.9995)
    assert favourite.url == ("https://polymarket.com/event/highest-temperature-in-paris-on-june-15-2026/"
                             "highest-temperature-in-paris-on-june-15-2026-27c")
    other_yes = [o.price_prob for o in result.odds if o.outcome == "Yes" and o.market_id != "2528132"]
    assert other_yes == [pytest.approx(0.0005)] * 10


def test_single_event_with_one_up_down_market():
    result = parse_gamma_events(fixture("gamma_event_meta_up_down_pmskill.json"), OBSERVED)
    [market] = result.markets
    assert (market.market_id, market.event_id) == ("3695228", "870385")
    assert market.question == "Meta (META) Up or Down on August 19?"
    assert market.outcomes == ["Up", "Down"]
    odds = odds_of(result, "3695228")
    assert (odds["Up"].price_prob, odds["Down"].price_prob) == (pytest.approx(0.55), pytest.approx(0.45))


def test_the_markets_reader_also_takes_event_payloads():
    result = parse_gamma_markets(fixture("gamma_event_single_paris_temperature_rainmaker.json"), OBSERVED)
    assert len(result.markets) == 11
    assert {m.event_id for m in result.markets} == {"589460"}


def test_public_search_gives_candidate_markets():
    result = parse_public_search(fixture("gamma_public_search_pmcli.json"))
    [market] = result.markets
    assert market.market_id == "1669969"
    assert market.event_id == "292275"
    assert market.outcomes == ["Up", "Down"]
    assert len(market.token_ids) == 2
    assert result.odds == []        # no updatedAt in search results and no fetch time given

    with_time = parse_public_search(fixture("gamma_public_search_pmcli.json"), OBSERVED)
    assert {o.outcome: o.price_prob for o in with_time.odds} == {"Up": pytest.approx(0.005),
                                                                 "Down": pytest.approx(0.995)}
    assert {o.venue_ts for o in with_time.odds} == {OBSERVED}


def test_prices_history_points_are_unix_seconds():
    result = parse_prices_history(fixture("clob_prices_history_4pts_pmcli.json"),
                                  market_id="1669969", outcome="Up", token_id="9424")
    assert [(o.venue_ts, o.price_prob) for o in result.odds] == [
        (utc(2026, 3, 22, 7, 40), 0.42),
        (utc(2026, 3, 22, 7, 45), 0.5),
        (utc(2026, 3, 22, 8, 40), 0.65),
        (utc(2026, 3, 22, 8, 45), 0.6),
    ]
    assert {(o.venue, o.market_id, o.outcome) for o in result.odds} == {("polymarket", "1669969", "Up")}


def _hormuz_with(**changes) -> dict:
    market = json.loads(fixture("gamma_markets_by_slug_hormuz_pmvlab.json"))[0]
    for key, value in changes.items():
        if value is None:
            market.pop(key)
        else:
            market[key] = value
    return market


@pytest.mark.parametrize("changes, reason_part", [
    ({"outcomePrices": '["1.3", "-0.3"]'}, "outside [0, 1]"),
    ({"question": None}, "question"),
    ({"outcomePrices": '["0.5", "0.3", "0.2"]'}, "2 outcomes but 3 outcomePrices"),
    ({"outcomes": '["Yes", "No"'}, "not a JSON-encoded array"),
    ({"clobTokenIds": '["1"]'}, "clobTokenIds"),
    ({"endDate": "end of August"}, "endDate"),
    ({"outcomePrices": '["abc", "0.5"]'}, "not a number"),
])
def test_a_malformed_market_is_rejected_and_the_rest_parsed(changes, reason_part):
    good = json.loads(fixture("gamma_markets_list_3_pmvlab.json"))
    bad = _hormuz_with(**changes)
    payload = json.dumps([good[0], bad, good[1]])
    result = parse_gamma_markets(payload, OBSERVED)
    assert [m.market_id for m in result.markets] == ["2063134", "1654958"]
    [reject] = result.rejects
    assert reason_part in reject.reason
    assert "[1]" in reject.locator and "2774056" in reject.locator
    assert json.loads(reject.raw)["id"] == "2774056"


def test_a_bad_history_point_is_rejected_and_the_rest_kept():
    payload = json.dumps({"history": [{"t": 1774165200, "p": 0.42}, {"t": 1774165500, "p": 1.3},
                                      {"t": "soon", "p": 0.5}, {"t": 1774168800, "p": 0.65}]})
    result = parse_prices_history(payload, market_id="1", outcome="Yes", token_id="t")
    assert [o.price_prob for o in result.odds] == [0.42, 0.65]
    assert [r.locator.rsplit(" ", 1)[-1] for r in result.rejects] == ["history[1]", "history[2]"]


@pytest.mark.parametrize("parse, body", [
    (lambda b: parse_gamma_markets(b, OBSERVED), {"error": "market not found"}),
    (lambda b: parse_gamma_markets(b, OBSERVED), [{"foo": 1}, {"bar": 2}]),
    (lambda b: parse_gamma_markets(b, OBSERVED), "<html>502 Bad Gateway</html>"),
    (lambda b: parse_gamma_events(b, OBSERVED), [{"id": "1", "title": "event without markets"}]),
    (lambda b: parse_public_search(b), [{"id": "1"}]),
    (lambda b: parse_prices_history(b, market_id="1", outcome="Yes", token_id="t"), {"error": "invalid market"}),
])
def test_a_changed_payload_shape_raises_payload_error_naming_the_venue(parse, body):
    text = body if isinstance(body, str) else json.dumps(body)
    with pytest.raises(PayloadError) as caught:
        parse(text)
    assert "polymarket" in str(caught.value)


def test_the_error_text_of_the_venue_is_kept():
    with pytest.raises(PayloadError, match="market not found"):
        parse_gamma_markets(json.dumps({"error": "market not found"}), OBSERVED)


def test_url_builders():
    assert gamma_markets_url(GAMMA_BASE, slug="us-blockade-iran") == \
        "https://gamma-api.polymarket.com/markets?slug=us-blockade-iran"
    assert gamma_markets_url("http://127.0.0.1:8080/gamma/", id="2774056") == \
        "http://127.0.0.1:8080/gamma/markets?id=2774056"
    with pytest.raises(ValueError):
        gamma_markets_url(GAMMA_BASE)
    url = prices_history_url(CLOB_BASE, "9424", 1774165200, 1774169100, 5)
    parts = urlsplit(url)
    assert parts.path == "/prices-history"
    assert parse_qs(parts.query) == {"market": ["9424"], "startTs": ["1774165200"], "endTs": ["1774169100"],
                                     "fidelity": ["5"]}
    assert public_search_url(GAMMA_BASE, "Iran blockade") == \
        "https://gamma-api.polymarket.com/public-search?q=Iran+blockade"
