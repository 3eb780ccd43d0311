"""Polymarket Gamma and CLOB payloads -> Market / OddsPoint.

Decisions, read off real Gamma payloads:
- `outcomes`, `outcomePrices`, `clobTokenIds` and `umaResolutionStatuses` are JSON text inside strings;
  `volume` and `liquidity` are numeric strings.
- The snapshot prices (`outcomePrices`) are stamped with the market's `updatedAt`, the venue's own time
  for the object (a re-fetch of an unchanged market then lands on the same key instead of adding a point
  per poll); when the object has no `updatedAt` (public-search results) the fetch time `observed_at` is used.
- A market without `outcomePrices` (negRisk placeholder slots, markets not yet launched) is a market
  with no prices, not an error.
- Status: `closed` true -> "resolved" when the venue says so (`umaResolutionStatus` "resolved",
  "resolved" among `umaResolutionStatuses`, or `automaticallyResolved` true), else "closed";
  not closed but `active` false or `archived` true -> "closed" (not trading); otherwise "open".
- Resolution: the single outcome priced exactly 1 (all others 0) of a resolved market; a resolved
  market priced otherwise (a 50-50 settlement) has no single winner and resolution stays None.
  `lastTradePrice` is never used: resolved markets carry stale values there.
- `closedTime` comes as "2026-01-01 07:30:39+00" while other times are ISO "...Z"; both are read.
- Archived: `archived` true, or a question the venue prefixed "arch" ("archWill Trump nominate ...").
  In negRisk events archived duplicates sit beside the live market of the same question with odds
  months old; the flag keeps them out of current odds.
- End date: an event's markets about later dates (a later meeting) carry the event's `endDate`; one
  that precedes the question's own date or the market's `createdAt` is flagged in `end_date_issue`.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from signal_desk.items import Market, OddsPoint, PayloadError
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
    json_string_list,
    load_json,
    optional_iso_datetime,
    optional_number,
    optional_text,
    probability,
    raw_text,
    require_text,
    unix_seconds,
)
from signal_desk.sources.polymarket.constants import (HISTORY_READER, MARKETS_READER, SEARCH_READER, VENUE,
                                                     market_page_url)

_GAMMA = f"{VENUE} gamma"
_ARCHIVED_PREFIX = re.compile(r"^arch(?=[A-Z])")
_CLOB = f"{VENUE} clob"


def parse_gamma_markets(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """GET /markets?slug=|id= (a list) or GET /markets/{id} (one object).

    An event object or a list of events (markets nested under "markets") is read as parse_gamma_events does.
    """
    source = f"{_GAMMA} /markets"
    observed_at = require_utc(observed_at, what="observed_at")
    body = load_json(payload, source=source)
    if _is_event_shaped(body) or (isinstance(body, list) and body and all(_is_event_shaped(e) for e in body)):
        return _parse_events(body if isinstance(body, list) else [body], observed_at, source)
    if isinstance(body, dict):
        if not _is_market_shaped(body):
            raise PayloadError(envelope_reason(body, "a market object or a list of markets"), source=source)
        body = [body]
    if not isinstance(body, list):
        raise PayloadError(f"expected a list of markets, got {type(body).__name__}", source=source)
    if body and not any(_is_market_shaped(e) for e in body):
        raise PayloadError("no element has a market's 'id' and 'question'", source=source)
    return collect(
        ((element_locator(source, i, m, "id"), m) for i, m in enumerate(body)),
        lambda m: _parse_market(m, observed_at, event=None),
    )


def parse_gamma_events(payload: bytes | str, observed_at: datetime | None) -> ParseResult:
    """GET /events?slug= (a list) or GET /events/slug/{slug} (one object): the markets of each event."""
    source = f"{_GAMMA} /events"
    observed = require_utc(observed_at, what="observed_at") if observed_at is not None else None
    body = load_json(payload, source=source)
    if isinstance(body, dict):
        if not isinstance(body.get("markets"), list):
            raise PayloadError(envelope_reason(body, "an event object with 'markets' or a list of events"),
                               source=source)
        body = [body]
    if not isinstance(body, list):
        raise PayloadError(f"expected a list of events, got {type(body).__name__}", source=source)
    if body and not any(isinstance(e, dict) and isinstance(e.get("markets"), list) for e in body):
        raise PayloadError("no element is an event with a 'markets' list", source=source)
    return _parse_events(body, observed, source)


def parse_public_search(payload: bytes | str, observed_at: datetime | None = None) -> ParseResult:
    """GET /public-search?q=: {events:[{..., markets:[...]}], tags, profiles, pagination}.

    Search results carry no `updatedAt`, so their prices become odds only when `observed_at` is given.
    """
    source = f"{_GAMMA} /public-search"
    observed = require_utc(observed_at, what="observed_at") if observed_at is not None else None
    body = load_json(payload, source=source)
    if not isinstance(body, dict):
        raise PayloadError(f"expected an object with 'events', got {type(body).__name__}", source=source)
    events = body.get("events")
    if events is None:
        # The venue leaves `events` out when nothing matches; that is only believable next to its pagination.
        if isinstance(body.get("pagination"), dict):
            return ParseResult()
        raise PayloadError(envelope_reason(body, "an object with 'events'"), source=source)
    if not isinstance(events, list):
        raise PayloadError(f"'events' is not a list: {type(events).__name__}", source=source)
    return _parse_events(events, observed, source)


def parse_prices_history(payload: bytes | str, *, market_id: str, outcome: str, token_id: str) -> ParseResult:
    """CLOB GET /prices-history: {"history": [{"t": unix seconds, "p": price}]} for one outcome token."""
    source = f"{_CLOB} /prices-history token={token_id}"
    body = load_json(payload, source=source)
    if not isinstance(body, dict) or not isinstance(body.get("history"), list):
        raise PayloadError(envelope_reason(body, "an object with a 'history' list"), source=source)
    result = ParseResult()
    seen: set[datetime] = set()
    for index, point in enumerate(body["history"]):
        locator = f"{source} history[{index}]"
        try:
            if not isinstance(point, dict):
                raise ElementError(f"expected an object, got {type(point).__name__}")
            if "t" not in point or "p" not in point:
                raise ElementError("missing 't' or 'p'")
            ts = unix_seconds(point["t"], what="'t'")
            price = probability(point["p"], what="'p'")
            if ts in seen:
                raise ElementError(f"second point at t={point['t']}")
        except ElementError as exc:
            result.rejects.append(Reject(locator=locator, reason=str(exc), raw=raw_text(point)))
            continue
        seen.add(ts)
        result.odds.append(OddsPoint(venue=VENUE, market_id=str(market_id), outcome=outcome,
                                     price_prob=price, venue_ts=ts))
    return result


def parse_market_file(payload: bytes | str, observed_at: datetime) -> ParseResult:
    """Stored Gamma market objects, as the backfill imports them: what GET /markets sends."""
    return parse_gamma_markets(payload, observed_at)


# The source contract's parse: each payload the fetch step tags, read by its reader.
READERS: dict[str, PayloadReader] = {
    MARKETS_READER: lambda body, context, observed_at: parse_gamma_markets(body, observed_at),
    HISTORY_READER: lambda body, context, observed_at: parse_prices_history(
        body, market_id=context["market_id"], outcome=context["outcome"], token_id=context["token_id"]),
    SEARCH_READER: lambda body, context, observed_at: parse_public_search(body, observed_at),
}


def _parse_events(events: list[Any], observed_at: datetime | None, source: str) -> ParseResult:
    result = ParseResult()
    for index, event in enumerate(events):
        locator = element_locator(source, index, event, "id")
        if not isinstance(event, dict) or not isinstance(event.get("markets"), list):
            result.rejects.append(Reject(locator=locator, reason="event without a 'markets' list",
                                         raw=raw_text(event)))
            continue
        result.extend(collect(
            ((element_locator(f"{locator} markets", i, m, "id"), m) for i, m in enumerate(event["markets"])),
            lambda m, ev=event: _parse_market(m, observed_at, event=ev),
        ))
    return result


def _parse_market(m: dict, observed_at: datetime | None, *, event: dict | None) -> ParseResult:
    market_id = identifier(m, "id")
    question = require_text(m, "question")
    outcomes = json_string_list(m, "outcomes")
    if not outcomes:
        raise ElementError("missing or empty 'outcomes'")
    if len(set(outcomes)) != len(outcomes):
        raise ElementError(f"repeated outcome labels: {outcomes!r}")
    price_texts = json_string_list(m, "outcomePrices")
    prices = None
    if price_texts is not None:
        if len(price_texts) != len(outcomes):
            raise ElementError(f"{len(outcomes)} outcomes but {len(price_texts)} outcomePrices")
        prices = [probability(p, what=f"outcomePrices[{i}]") for i, p in enumerate(price_texts)]
    token_ids = json_string_list(m, "clobTokenIds") or []
    if token_ids and len(token_ids) != len(outcomes):
        raise ElementError(f"{len(outcomes)} outcomes but {len(token_ids)} clobTokenIds")

    slug = optional_text(m, "slug")
    event_id, event_slug = _event_of(m, event)
    status, resolution, resolved_at = _status(m, outcomes, prices)
    end_date = optional_iso_datetime(m, "endDate")
    resolution_kind = None
    if status == "resolved":
        resolution_kind = "outcome" if resolution else ("split" if prices is not None else "unknown")
    market = Market(
        venue=VENUE,
        market_id=market_id,
        question=question,
        outcomes=outcomes,
        slug=slug,
        url=market_page_url(slug, event_slug),
        event_id=event_id,
        group_item_title=optional_text(m, "groupItemTitle"),
        end_date=end_date,
        status=status,
        resolution=resolution,
        resolved_at=resolved_at,
        token_ids=token_ids,
        outcomes_sum_to_one=True,
        resolution_kind=resolution_kind,
        resolution_raw=(json.dumps([_decimal_text(p) for p in prices])
                        if status == "resolved" and prices is not None else None),
        archived=_flag(m, "archived") is True or bool(_ARCHIVED_PREFIX.match(question)),
        end_date_issue=end_date_issue(end_date, question, optional_iso_datetime(m, "createdAt"),
                                      settled=status == "resolved"),
    )
    result = ParseResult(markets=[market])
    price_ts = optional_iso_datetime(m, "updatedAt") or observed_at
    if prices is not None and price_ts is not None:
        volume = _first_number(m, "volume", "volumeNum")
        liquidity = _first_number(m, "liquidity", "liquidityNum")
        result.odds = [
            OddsPoint(venue=VENUE, market_id=market_id, outcome=o, price_prob=p, venue_ts=price_ts,
                      volume=volume, liquidity=liquidity)
            for o, p in zip(outcomes, prices)
        ]
    return result


def _event_of(m: dict, event: dict | None) -> tuple[str | None, str | None]:
    """The market's own `events[0]` when Gamma nests it, else the event the market was listed under."""
    nested = m.get("events")
    candidates = [nested[0]] if isinstance(nested, list) and nested and isinstance(nested[0], dict) else []
    if event is not None:
        candidates.append(event)
    event_id = next((str(c["id"]) for c in candidates if c.get("id") not in (None, "")), None)
    event_slug = next((c["slug"] for c in candidates if isinstance(c.get("slug"), str) and c["slug"]), None)
    return event_id, event_slug


def _status(m: dict, outcomes: list[str], prices: list[float] | None
            ) -> tuple[str, str | None, datetime | None]:
    closed = _flag(m, "closed")
    if not closed:
        not_trading = _flag(m, "active") is False or _flag(m, "archived") is True
        return ("closed" if not_trading else "open"), None, None
    statuses = json_string_list(m, "umaResolutionStatuses") or []
    resolved = (m.get("umaResolutionStatus") == "resolved" or "resolved" in statuses
                or _flag(m, "automaticallyResolved") is True)
    if not resolved:
        return "closed", None, None
    resolution = None
    if prices is not None:
        winners = [o for o, p in zip(outcomes, prices) if p == 1.0]
        losers = [o for o, p in zip(outcomes, prices) if p == 0.0]
        if len(winners) == 1 and len(winners) + len(losers) == len(outcomes):
            resolution = winners[0]
    resolved_at = None
    for key in ("closedTime", "umaEndDate"):
        if m.get(key):
            resolved_at = iso_datetime(m[key], what=repr(key))
            break
    return "resolved", resolution, resolved_at


def _decimal_text(p: float) -> str:
    return f"{p:.6f}".rstrip("0").rstrip(".") or "0"


def _flag(m: dict, key: str) -> bool | None:
    value = m.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ElementError(f"{key!r} is not a boolean: {value!r}")
    return value


def _first_number(m: dict, *keys: str) -> float | None:
    for key in keys:
        value = optional_number(m, key)
        if value is not None:
            return value
    return None


def _is_market_shaped(element: Any) -> bool:
    return isinstance(element, dict) and "id" in element and "question" in element


def _is_event_shaped(element: Any) -> bool:
    return isinstance(element, dict) and isinstance(element.get("markets"), list) and "question" not in element

