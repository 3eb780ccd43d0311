"""Kalshi trade API v2 payloads -> Market / OddsPoint.

Decisions, read off real payloads:
- Prices are the `*_dollars` strings ("0.5400"): the probability of Yes in [0, 1]. Older captures also
  carry integer cents (`last_price`: 54); those are read only when the dollar field is absent.
- The snapshot price is `last_price_dollars` for outcome "Yes" only (No is its complement, which the
  venue does not state). A market that has never traded (`volume_fp` "0.00") shows last price 0,
  which is not a price, so it yields no point. The market object has no timestamp for its last
  price (`updated_time` does not move with trades), so the point is stamped with `observed_at`.
- Candles: the close of `price` at `end_period_ts`. A candle with no trades has `price: {}` or only
  `previous_dollars`: it is skipped, never read as zero.
- Status: see constants.STATUS_*; settled markets resolve to "Yes"/"No" from `result`; a settled
  market with another result (void, scalar) has no single winner.
- Question is the market `title`; `yes_sub_title` (the candidate, team or strike that distinguishes
  markets of one event) becomes group_item_title when it adds something to the title.
- The book: `yes_bid_dollars` / `yes_ask_dollars` and `open_interest_fp` go on the snapshot point. A bid
  of 0 is no bid and an ask of 1 is no ask (the venue shows those when that side of the book is empty).
- Liquidity: `liquidity_dollars` is deprecated and sent as "0.0000" while the book has size, so a zero
  there is not a reading and stays null.
- Trades (GET /markets/trades): one row per `trade_id`, `count_fp` contracts at `yes_price_dollars` /
  `no_price_dollars`, `taker_side`, `created_time` to the microsecond; newest first, paged by `cursor`.
- A market object without its {"market": ...} envelope is what some clients store; the live parser
  rejects it (the API always wraps), `parse_market_file` (the backfill's import) takes both.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from signal_desk.items import Market, MarketTrade, OddsPoint, PayloadError
from signal_desk.sources.kalshi.constants import (
    CANDLES_READER,
    MARKET_READER,
    OUTCOMES,
    RESULT_KINDS,
    STATUS_NOT_TRADING,
    STATUS_OPEN,
    STATUS_SETTLED,
    TRADES_READER,
    VENUE,
)
from signal_desk.sources.markets_common import (
    ElementError,
    ParseResult,
    PayloadReader,
    Reject,
    require_utc,
    collect,
    element_locator,
    end_date_issue,
    envelope_reason,
    identifier,
    iso_datetime,
    load_json,
    number,
    optional_iso_datetime,
    optional_text,
    probability,
    raw_text,
    require_text,
    unix_seconds,
)


def parse_markets(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /markets: {"markets": [...], "cursor": "..."}; a bare list of market objects is read too."""
    source = f"{VENUE} /markets"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    cursor = None
    if isinstance(body, dict):
        if not isinstance(body.get("markets"), list):
            raise PayloadError(envelope_reason(body, "an object with a 'markets' list"), source=source)
        cursor = body.get("cursor") or None
        body = body["markets"]
    if not isinstance(body, list):
        raise PayloadError(f"expected a list of markets, got {type(body).__name__}", source=source)
    if body and not any(_is_market_shaped(m) for m in body):
        raise PayloadError("no element has a market's 'ticker' and 'title'", source=source)
    result = collect(((element_locator(source, i, m, "ticker"), m) for i, m in enumerate(body)),
                     lambda m: _parse_market(m, observed_at))
    result.next_cursor = cursor
    return result


def parse_market(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /markets/{ticker}: {"market": {...}}."""
    source = f"{VENUE} /markets/{{ticker}}"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if not isinstance(body, dict) or not _is_market_shaped(body.get("market")):
        raise PayloadError(envelope_reason(body, "an object with a 'market' object"), source=source)
    market = body["market"]
    return collect([(element_locator(source, 0, market, "ticker"), market)],
                   lambda m: _parse_market(m, observed_at))


def parse_market_file(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """A stored Kalshi market, as the backfill imports it: {"market": {...}}, the bare market object,
    {"markets": [...]} or a list of market objects."""
    source = f"{VENUE} market file"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if isinstance(body, dict) and isinstance(body.get("markets"), list):
        body = body["markets"]
    elif isinstance(body, dict) and _is_market_shaped(body.get("market")):
        body = [body["market"]]
    elif _is_market_shaped(body):
        body = [body]
    if not isinstance(body, list) or not body or not any(_is_market_shaped(m) for m in body):
        raise PayloadError(envelope_reason(body, "a market object, with or without its 'market' envelope, "
                                                 "or a list of them"), source=source)
    return collect(((element_locator(source, i, m, "ticker"), m) for i, m in enumerate(body)),
                   lambda m: _parse_market(m, observed_at))


def parse_trades(payload: bytes | str, *, market_id: str | None = None) -> ParseResult:
    """GET /markets/trades?ticker=: {"trades": [...], "cursor": "..."}, newest first; an empty cursor is the
    last page."""
    source = f"{VENUE} /markets/trades"
    body = load_json(payload, source=source)
    if not isinstance(body, dict) or not isinstance(body.get("trades"), list):
        raise PayloadError(envelope_reason(body, "an object with a 'trades' list"), source=source)
    result = collect(((element_locator(source, i, t, "trade_id"), t) for i, t in enumerate(body["trades"])),
                     lambda t: ParseResult(trades=[_trade(t, market_id)]))
    result.next_cursor = body.get("cursor") or None
    return result


# The source contract's parse: each payload the fetch step tags, read by its reader.
READERS: dict[str, PayloadReader] = {
    MARKET_READER: lambda body, context, observed_at: parse_market(body, observed_at),
    CANDLES_READER: lambda body, context, observed_at: parse_candlesticks(body, market_id=context["market_id"]),
    TRADES_READER: lambda body, context, observed_at: parse_trades(body, market_id=context["market_id"]),
}


def _trade(t: dict, market_id: str | None) -> MarketTrade:
    ticker = require_text(t, "ticker") if t.get("ticker") is not None else market_id
    if not ticker:
        raise ElementError("missing 'ticker' and no market_id given")
    if market_id and ticker != market_id:
        raise ElementError(f"trade of {ticker!r} in the trades of {market_id!r}")
    yes_price = _dollars(t, "yes_price_dollars", "yes_price")
    no_price = _dollars(t, "no_price_dollars", "no_price")
    if yes_price is None:
        raise ElementError("missing 'yes_price_dollars'")
    if no_price is None:
        no_price = round(1.0 - yes_price, 6)
    count = _first_number(t, "count_fp", "count")
    if count is None:
        raise ElementError("missing 'count_fp'")
    if count <= 0:
        raise ElementError(f"'count_fp' is not a positive contract count: {count!r}")
    side = require_text(t, "taker_side").lower()
    if side not in ("yes", "no"):
        raise ElementError(f"'taker_side' is neither yes nor no: {t['taker_side']!r}")
    return MarketTrade(venue=VENUE, market_id=ticker, trade_id=identifier(t, "trade_id"),
                       traded_at=iso_datetime(t.get("created_time"), what="'created_time'"),
                       yes_price_prob=yes_price, no_price_prob=no_price, count_contracts=count, taker_side=side)


def parse_events(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /events?with_nested_markets=true: {"events": [{..., "markets": [...]}], "cursor": "..."}."""
    source = f"{VENUE} /events"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise PayloadError(envelope_reason(body, "an object with an 'events' list"), source=source)
    events = body["events"]
    if events and not any(isinstance(e, dict) and isinstance(e.get("markets"), list) for e in events):
        raise PayloadError("events carry no nested markets (ask with with_nested_markets=true)", source=source)
    result = ParseResult(next_cursor=body.get("cursor") or None)
    for index, event in enumerate(events):
        locator = element_locator(source, index, event, "event_ticker")
        if not isinstance(event, dict) or not isinstance(event.get("markets"), list):
            result.rejects.append(Reject(locator=locator, reason="event without a 'markets' list",
                                         raw=raw_text(event)))
            continue
        result.extend(collect(
            ((element_locator(f"{locator} markets", i, m, "ticker"), m) for i, m in enumerate(event["markets"])),
            lambda m: _parse_market(m, observed_at),
        ))
    return result


def parse_candlesticks(payload: bytes | str, *, market_id: str | None = None) -> ParseResult:
    """GET /series/{s}/markets/{t}/candlesticks: {"ticker": t, "candlesticks": [...]}."""
    source = f"{VENUE} /candlesticks"
    body = load_json(payload, source=source)
    if not isinstance(body, dict) or not isinstance(body.get("candlesticks"), list):
        raise PayloadError(envelope_reason(body, "an object with a 'candlesticks' list"), source=source)
    ticker = body.get("ticker")
    if ticker and market_id and ticker != market_id:
        raise PayloadError(f"candles are for {ticker!r}, not {market_id!r}", source=source)
    ticker = ticker or market_id
    if not ticker:
        raise PayloadError("no 'ticker' in the payload and no market_id given", source=source)
    result = ParseResult()
    for index, candle in enumerate(body["candlesticks"]):
        locator = f"{source} {ticker} candlesticks[{index}]"
        try:
            point = _candle_point(candle, ticker)
        except ElementError as exc:
            result.rejects.append(Reject(locator=locator, reason=str(exc), raw=raw_text(candle)))
            continue
        if point is not None:
            result.odds.append(point)
    return result


def _candle_point(candle: Any, ticker: str) -> OddsPoint | None:
    if not isinstance(candle, dict):
        raise ElementError(f"expected an object, got {type(candle).__name__}")
    if "end_period_ts" not in candle:
        raise ElementError("missing 'end_period_ts'")
    ts = unix_seconds(candle["end_period_ts"], what="'end_period_ts'")
    price = candle.get("price")
    if not isinstance(price, dict):
        raise ElementError(f"'price' is not an object: {price!r}")
    if price.get("close_dollars") in (None, ""):
        return None         # no trade in this period
    close = probability(price["close_dollars"], what="'price.close_dollars'")
    volume = number(candle["volume_fp"], what="'volume_fp'") if candle.get("volume_fp") not in (None, "") else None
    return OddsPoint(venue=VENUE, market_id=ticker, outcome=OUTCOMES[0], price_prob=close, venue_ts=ts,
                     volume=volume)


def _parse_market(m: dict, observed_at: datetime) -> ParseResult:
    ticker = require_text(m, "ticker")
    title = require_text(m, "title")
    venue_status = require_text(m, "status")
    if venue_status in STATUS_OPEN:
        status = "open"
    elif venue_status in STATUS_NOT_TRADING:
        status = "closed"
    elif venue_status in STATUS_SETTLED:
        status = "resolved"
    else:
        raise ElementError(f"unknown status {venue_status!r}")
    resolution = resolution_kind = resolution_raw = None
    resolved_at = None
    if status == "resolved":
        resolution_raw = str(m.get("result") or "")
        resolution = {"yes": "Yes", "no": "No"}.get(resolution_raw.lower())
        resolution_kind = "outcome" if resolution else RESULT_KINDS.get(resolution_raw.lower(), "unknown")
        resolved_at = optional_iso_datetime(m, "settlement_ts")
    sub_title = optional_text(m, "yes_sub_title")
    end_date = optional_iso_datetime(m, "close_time")
    market = Market(
        venue=VENUE,
        market_id=ticker,
        question=title,
        outcomes=list(OUTCOMES),
        slug=None,
        url=None,
        event_id=optional_text(m, "event_ticker"),
        group_item_title=sub_title if sub_title and sub_title != title else None,
        end_date=end_date,
        status=status,
        resolution=resolution,
        resolved_at=resolved_at,
        outcomes_sum_to_one=True,
        resolution_kind=resolution_kind,
        resolution_raw=resolution_raw or None,
        end_date_issue=end_date_issue(end_date, title, optional_iso_datetime(m, "created_time"),
                                      settled=status == "resolved"),
    )
    result = ParseResult(markets=[market])
    last_price = _dollars(m, "last_price_dollars", "last_price")
    volume = _volume(m)
    if last_price is not None and volume is not None and volume > 0:
        liquidity = _dollars(m, "liquidity_dollars", "liquidity", bounded=False)
        bid = _dollars(m, "yes_bid_dollars", "yes_bid")
        ask = _dollars(m, "yes_ask_dollars", "yes_ask")
        bid = bid if bid else None
        ask = ask if ask is not None and ask < 1.0 else None
        result.odds.append(OddsPoint(
            venue=VENUE, market_id=ticker, outcome=OUTCOMES[0], price_prob=last_price, venue_ts=observed_at,
            volume=volume, liquidity=liquidity if liquidity else None,
            best_bid_prob=bid, best_ask_prob=ask,
            spread_prob=round(ask - bid, 6) if bid is not None and ask is not None else None,
            open_interest_contracts=_first_number(m, "open_interest_fp", "open_interest")))
    return result


def _dollars(m: dict, dollars_key: str, cents_key: str, *, bounded: bool = True) -> float | None:
    if m.get(dollars_key) not in (None, ""):
        read = probability if bounded else number
        return read(m[dollars_key], what=repr(dollars_key))
    if m.get(cents_key) is not None:
        cents = number(m[cents_key], what=repr(cents_key))
        return probability(cents / 100, what=repr(cents_key)) if bounded else cents / 100
    return None


def _volume(m: dict) -> float | None:
    return _first_number(m, "volume_fp", "volume")


def _first_number(m: dict, *keys: str) -> float | None:
    for key in keys:
        if m.get(key) not in (None, ""):
            return number(m[key], what=repr(key))
    return None


def _is_market_shaped(element: Any) -> bool:
    return isinstance(element, dict) and "ticker" in element and "title" in element

