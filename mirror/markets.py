"""Scenario markets rendered as the venues' own JSON (Polymarket Gamma/CLOB, Kalshi v2, Manifold v0).

Each renderer shows a market as the venue would at `as_of`: the current price is the last history
point at or before `as_of`; after `end_date` the market is closed, and settled when the scenario names
a winner. Field layout and encodings follow real captured payloads: Gamma's JSON-in-string arrays and
numeric strings, Kalshi's `*_dollars` / `*_fp` strings, Manifold's millisecond epochs.

Only binary markets are rendered; `PricePoint.p` is the probability of the first outcome.
A single-market renderer raises `NotListed` for a market that does not exist yet at `as_of`;
list renderers leave such markets out.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from mirror.scenario_types import PricePoint, ScenarioMarket

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class NotListed(LookupError):
    """The market is not visible at this time (created later) or not of this venue."""


# ---------------------------------------------------------------- shared

def is_listed(m: ScenarioMarket, as_of: datetime) -> bool:
    return m.created_at <= _utc(as_of)


def price_at(m: ScenarioMarket, as_of: datetime) -> PricePoint | None:
    """The last history point at or before `as_of`."""
    as_of = _utc(as_of)
    seen = [p for p in m.history if p.t <= as_of]
    return max(seen, key=lambda p: p.t) if seen else None


def _history_until(m: ScenarioMarket, as_of: datetime) -> list[PricePoint]:
    return sorted((p for p in m.history if p.t <= as_of), key=lambda p: p.t)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"as_of must be timezone-aware, got {moment!r}")
    return moment.astimezone(timezone.utc)


def _visible(m: ScenarioMarket, venue: str, as_of: datetime) -> datetime:
    as_of = _utc(as_of)
    if m.venue != venue:
        raise NotListed(f"{m.market_id} is a {m.venue} market, not {venue}")
    if len(m.outcomes) != 2:
        raise ValueError(f"{m.venue} {m.market_id}: only binary markets can be rendered, got {m.outcomes!r}")
    if not is_listed(m, as_of):
        raise NotListed(f"{m.venue} {m.market_id} is created at {m.created_at.isoformat()}, after {as_of.isoformat()}")
    return as_of


def _listed(ms: Iterable[ScenarioMarket], venue: str, as_of: datetime) -> list[ScenarioMarket]:
    return [m for m in ms if m.venue == venue and is_listed(m, _utc(as_of))]


def _settled_winner(m: ScenarioMarket, as_of: datetime) -> str | None:
    return m.resolved if as_of >= m.end_date and m.resolved else None


def _dump(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _decimal(x: float, places: int = 6) -> str:
    """Plain decimal text without exponent or trailing zeros: 0.065 -> "0.065", 1.0 -> "1"."""
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _iso_z(moment: datetime, *, micros: bool = False) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micros else "%Y-%m-%dT%H:%M:%SZ")


def _unix(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def _millis(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


# ---------------------------------------------------------------- Polymarket

def gamma_token_ids(m: ScenarioMarket) -> list[str]:
    """The scenario's CLOB token ids, or stable made-up ones (decimal, 77 digits like the real ones)."""
    if m.token_ids:
        return list(m.token_ids)
    return [str(int(_digest(m.market_id, outcome), 16) % 10**77) for outcome in m.outcomes]


def _gamma_prices(m: ScenarioMarket, as_of: datetime) -> tuple[list[float] | None, datetime]:
    """Outcome prices at `as_of` and the time they were last updated."""
    winner = _settled_winner(m, as_of)
    point = price_at(m, as_of)
    if winner is not None:
        updated = max(m.end_date, point.t) if point else m.end_date
        return [1.0 if o == winner else 0.0 for o in m.outcomes], updated
    if point is None:
        return None, m.created_at
    return [point.p, 1.0 - point.p], point.t


def _gamma_market(m: ScenarioMarket, as_of: datetime) -> dict[str, Any]:
    prices, updated = _gamma_prices(m, as_of)
    closed = as_of >= m.end_date
    winner = _settled_winner(m, as_of)
    body: dict[str, Any] = {
        "id": m.market_id,
        "question": m.question,
        "conditionId": "0x" + _digest("condition", m.market_id),
        "slug": m.slug,
        "resolutionSource": "",
        "endDate": _iso_z(m.end_date),
        "liquidity": _decimal(m.liquidity),
        "startDate": _iso_z(m.created_at, micros=True),
        "description": "",
        "outcomes": json.dumps(m.outcomes),
    }
    if prices is not None:
        body["outcomePrices"] = json.dumps([_decimal(p) for p in prices])
    body.update({
        "volume": _decimal(m.volume),
        "active": not m.archived,
        "closed": closed,
        "marketMakerAddress": "",
        "createdAt": _iso_z(m.created_at, micros=True),
        "updatedAt": _iso_z(updated, micros=True),
    })
    if closed:
        body["closedTime"] = m.end_date.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00")
    body.update({
        "new": False,
        "featured": False,
        "archived": m.archived,
        "restricted": True,
        "questionID": "0x" + _digest("question", m.market_id),
        "enableOrderBook": True,
        "volumeNum": m.volume,
        "liquidityNum": m.liquidity,
        "endDateIso": m.end_date.date().isoformat(),
        "startDateIso": m.created_at.date().isoformat(),
        "clobTokenIds": json.dumps(gamma_token_ids(m)),
        "acceptingOrders": not closed,
        "negRisk": False,
        "lastTradePrice": round(prices[0], 6) if prices else 0,
        "umaResolutionStatuses": json.dumps(["proposed"] if winner else []),
    })
    if winner:
        body["umaEndDate"] = _iso_z(m.end_date)
        body["umaResolutionStatus"] = "resolved"
        body["automaticallyResolved"] = True
    if m.event_id:
        # Single-market events share the market's slug, as Gamma does for them.
        body["events"] = [{"id": m.event_id, "ticker": m.slug, "slug": m.slug, "title": m.question,
                           "active": True, "closed": closed}]
    return body


def gamma_market_json(m: ScenarioMarket, as_of: datetime) -> str:
    """GET /markets/{id}: one market object."""
    as_of = _visible(m, "polymarket", as_of)
    return _dump(_gamma_market(m, as_of))


def gamma_markets_list_json(ms: Iterable[ScenarioMarket], as_of: datetime) -> str:
    """GET /markets?slug=|id=: a list of market objects (empty when nothing matches)."""
    as_of = _utc(as_of)
    return _dump([_gamma_market(m, as_of) for m in _listed(ms, "polymarket", as_of) if len(m.outcomes) == 2])


def gamma_public_search_json(ms: Iterable[ScenarioMarket], q: str, as_of: datetime) -> str:
    """GET /public-search?q=: events whose market question or slug holds every word of `q`."""
    as_of = _utc(as_of)
    words = q.casefold().split()
    events: dict[str, dict[str, Any]] = {}
    for m in _listed(ms, "polymarket", as_of):
        haystack = f"{m.question} {m.slug.replace('-', ' ')}".casefold()
        if len(m.outcomes) != 2 or not words or not all(w in haystack for w in words):
            continue
        full = _gamma_market(m, as_of)
        lite = {k: full[k] for k in ("id", "question", "conditionId", "slug", "outcomes", "outcomePrices",
                                     "clobTokenIds", "active", "closed", "archived", "acceptingOrders",
                                     "liquidity", "endDate") if k in full}
        lite["events"] = [{"slug": m.slug}]
        event_id = m.event_id or m.market_id
        event = events.setdefault(event_id, {"id": event_id, "slug": m.slug, "title": m.question, "markets": []})
        event["markets"].append(lite)
    return _dump({"events": list(events.values()), "tags": [], "profiles": [],
                  "pagination": {"hasMore": False, "totalResults": len(events)}})


def clob_prices_history_json(m: ScenarioMarket, token_id: str, start_ts: int | None, end_ts: int | None,
                             as_of: datetime) -> str:
    """CLOB GET /prices-history?market=<token>: {"history": [{"t": unix s, "p": price}]} up to `as_of`."""
    as_of = _visible(m, "polymarket", as_of)
    tokens = gamma_token_ids(m)
    if token_id not in tokens:
        raise NotListed(f"token {token_id} is not an outcome of polymarket {m.market_id}")
    first_outcome = tokens.index(token_id) == 0
    history = []
    for point in _history_until(m, as_of):
        t = _unix(point.t)
        if (start_ts is not None and t < start_ts) or (end_ts is not None and t > end_ts):
            continue
        history.append({"t": t, "p": round(point.p if first_outcome else 1.0 - point.p, 6)})
    return _dump({"history": history})


# ---------------------------------------------------------------- Kalshi

def _cents(p: float) -> float:
    return min(max(round(p, 2), 0.0), 1.0)


def _kalshi_market(m: ScenarioMarket, as_of: datetime) -> dict[str, Any]:
    history = _history_until(m, as_of)
    point = history[-1] if history else None
    previous = history[-2] if len(history) > 1 else None
    closed = as_of >= m.end_date
    winner = _settled_winner(m, as_of)
    last = _cents(point.p) if point else 0.0
    # A traded price implies volume; a scenario that leaves volume at 0 gets one contract per price move.
    volume = (m.volume or float(len(history))) if point else 0.0
    bid, ask = (max(last - 0.01, 0.0), min(last + 0.01, 1.0)) if point else (0.0, 0.0)
    if winner is not None:
        status, result = "finalized", ("yes" if winner == m.outcomes[0] else "no")
    else:
        status, result = ("closed" if closed else "active"), ""
    close = _iso_z(m.end_date)
    return {
        "can_close_early": True,
        "close_time": close,
        "created_time": _iso_z(m.created_at, micros=True),
        "event_ticker": m.event_id or m.market_id,
        "expected_expiration_time": close,
        "expiration_time": close,
        "expiration_value": "",
        "last_price_dollars": f"{last:.4f}",
        "latest_expiration_time": close,
        "liquidity_dollars": "0.0000",     # deprecated: the venue sends zero whatever the book holds
        "market_type": "binary",
        "no_ask_dollars": f"{1 - bid:.4f}" if point else "1.0000",
        "no_bid_dollars": f"{1 - ask:.4f}" if point else "0.0000",
        "no_sub_title": "",
        "notional_value_dollars": "1.0000",
        "open_interest_fp": f"{volume:.2f}",
        "open_time": _iso_z(m.created_at),
        "previous_price_dollars": f"{_cents(previous.p):.4f}" if previous else "0.0000",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}],
        "result": result,
        "rules_primary": f"If the following happens, the market resolves to Yes: {m.question}",
        "rules_secondary": "",
        "settlement_timer_seconds": 60,
        "status": status,
        "strike_type": "structured",
        "ticker": m.market_id,
        "title": m.question,
        "updated_time": _iso_z(point.t if point else m.created_at, micros=True),
        "volume_24h_fp": f"{volume:.2f}",
        "volume_fp": f"{volume:.2f}",
        "yes_ask_dollars": f"{ask:.4f}",
        "yes_ask_size_fp": "0.00",
        "yes_bid_dollars": f"{bid:.4f}",
        "yes_bid_size_fp": "0.00",
        "yes_sub_title": "",
    }


def kalshi_market_json(m: ScenarioMarket, as_of: datetime) -> str:
    """GET /markets/{ticker}: {"market": {...}}."""
    as_of = _visible(m, "kalshi", as_of)
    return _dump({"market": _kalshi_market(m, as_of)})


def kalshi_markets_list_json(ms: Iterable[ScenarioMarket], as_of: datetime) -> str:
    """GET /markets?tickers=|event_ticker=: one page, {"cursor": "", "markets": [...]}."""
    as_of = _utc(as_of)
    markets = [_kalshi_market(m, as_of) for m in _listed(ms, "kalshi", as_of) if len(m.outcomes) == 2]
    return _dump({"cursor": "", "markets": markets})


KALSHI_TRADES_MAX_LIMIT = 1000     # the venue's page size limit


def _kalshi_trades(m: ScenarioMarket, as_of: datetime) -> list[dict[str, Any]]:
    """One trade per price point up to `as_of`, newest first: the trade that moved the price there, a few
    seconds before the point, with microseconds as the venue stamps them."""
    trades = []
    previous: float | None = None
    for point in _history_until(m, as_of):
        digest = int(_digest("trade", m.market_id, point.t.isoformat()), 16)
        yes = _cents(point.p)
        created = point.t - timedelta(microseconds=digest % 59_000_000)
        trades.append({
            "trade_id": "{}-{}-{}-{}-{}".format(*(f"{digest:032x}"[i:j] for i, j in
                                                  ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)))),
            "ticker": m.market_id,
            "count_fp": f"{1 + digest % 250:.2f}",
            "yes_price_dollars": f"{yes:.4f}",
            "no_price_dollars": f"{1 - yes:.4f}",
            "taker_side": "yes" if previous is None or yes >= previous else "no",
            "created_time": created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        })
        previous = yes
    trades.reverse()
    return trades


def kalshi_trades_json(m: ScenarioMarket, as_of: datetime, *, min_ts: int | None = None, limit: int = 100,
                       cursor: str | None = None) -> str:
    """GET /markets/trades?ticker=: {"cursor": "...", "trades": [...]}, newest first, `limit` a page; the
    cursor is opaque to clients and empty on the last page. min_ts keeps trades at or after it."""
    as_of = _visible(m, "kalshi", as_of)
    trades = [t for t in _kalshi_trades(m, as_of)
              if min_ts is None or datetime.fromisoformat(t["created_time"]).timestamp() >= min_ts]
    start = _decode_cursor(cursor) if cursor else 0
    limit = max(1, min(int(limit), KALSHI_TRADES_MAX_LIMIT))
    page = trades[start:start + limit]
    more = start + limit < len(trades)
    return _dump({"cursor": _encode_cursor(start + limit) if more else "", "trades": page})


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"trades:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, offset = text.split(":")
        if kind != "trades":
            raise ValueError(kind)
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise NotListed(f"unknown cursor {cursor!r}") from None


def kalshi_candlesticks_json(m: ScenarioMarket, start_ts: int, end_ts: int, period_interval_minutes: int,
                             as_of: datetime) -> str:
    """GET /series/{s}/markets/{t}/candlesticks: one candle per period from the first trade on.

    A period without a trade has `price: {}` (or only `previous_dollars` once there was an earlier trade).
    """
    as_of = _visible(m, "kalshi", as_of)
    period = period_interval_minutes * 60
    history = [p for p in _history_until(m, as_of) if _unix(p.t) <= end_ts]
    candles: list[dict[str, Any]] = []
    if history:
        last_allowed = min(end_ts, _unix(as_of))
        first_end = max(_period_end(_unix(history[0].t), period), _period_end(start_ts, period))
        previous: float | None = None
        for p in history:
            if _period_end(_unix(p.t), period) < first_end:
                previous = _cents(p.p)
        end = first_end
        while end - period < last_allowed:
            inside = [_cents(p.p) for p in history if end - period < _unix(p.t) <= end]
            candles.append(_candle(end, inside, previous))
            if inside:
                previous = inside[-1]
            end += period
    return _dump({"ticker": m.market_id, "candlesticks": candles})


def _period_end(ts: int, period: int) -> int:
    return -(-ts // period) * period


def _candle(end: int, prices: list[float], previous: float | None) -> dict[str, Any]:
    if prices:
        price = {"close_dollars": f"{prices[-1]:.4f}", "high_dollars": f"{max(prices):.4f}",
                 "low_dollars": f"{min(prices):.4f}", "mean_dollars": f"{sum(prices) / len(prices):.4f}",
                 "open_dollars": f"{prices[0]:.4f}"}
        if previous is not None:
            price["previous_dollars"] = f"{previous:.4f}"
    else:
        price = {"previous_dollars": f"{previous:.4f}"} if previous is not None else {}
    reference = prices[-1] if prices else (previous if previous is not None else 0.0)
    ask = {k: f"{min(reference + 0.01, 1.0):.4f}" for k in ("close_dollars", "high_dollars", "low_dollars", "open_dollars")}
    bid = {k: f"{max(reference - 0.01, 0.0):.4f}" for k in ("close_dollars", "high_dollars", "low_dollars", "open_dollars")}
    return {"end_period_ts": end, "open_interest_fp": f"{float(len(prices)):.2f}", "price": price,
            "volume_fp": f"{float(len(prices)):.2f}", "yes_ask": ask, "yes_bid": bid}


# ---------------------------------------------------------------- Manifold

_MANIFOLD_CREATOR = ("mirrorCreator0000000000000001", "mirror_desk", "Mirror Desk")
_MANIFOLD_BETTOR = "mirrorBettor00000000000000001"
_MANIFOLD_INITIAL_PROB = 0.5    # Manifold's default initial probability, shown until the first price point


def _manifold_market(m: ScenarioMarket, as_of: datetime) -> dict[str, Any]:
    history = _history_until(m, as_of)
    prob = history[-1].p if history else _MANIFOLD_INITIAL_PROB
    winner = _settled_winner(m, as_of)
    creator_id, username, name = _MANIFOLD_CREATOR
    liquidity = m.liquidity or 1000.0
    # With p = 0.5 a cpmm-1 pool prices YES at NO / (YES + NO).
    body: dict[str, Any] = {
        "id": m.market_id,
        "creatorId": creator_id,
        "creatorUsername": username,
        "creatorName": name,
        "createdTime": _millis(m.created_at),
        "closeTime": _millis(m.end_date),
        "question": m.question,
        "slug": m.slug,
        "url": f"https://manifold.markets/{username}/{m.slug}",
        "pool": {"NO": liquidity * prob, "YES": liquidity * (1 - prob)},
        "probability": prob,
        "p": 0.5,
        "totalLiquidity": liquidity,
        "outcomeType": "BINARY",
        "mechanism": "cpmm-1",
        "volume": m.volume,
        "volume24Hours": 0,
        "isResolved": winner is not None,
    }
    if winner is not None:
        body.update({"resolution": "YES" if winner == m.outcomes[0] else "NO",
                     "resolutionTime": _millis(m.end_date), "resolutionProbability": prob,
                     "resolverId": creator_id})
    body.update({"uniqueBettorCount": len(history),
                 "lastUpdatedTime": _millis(max([m.created_at] + [p.t for p in history]))})
    if history:
        body["lastBetTime"] = _millis(history[-1].t)
    body.update({"token": "MANA", "groupSlugs": [], "textDescription": ""})
    return body


def manifold_market_json(m: ScenarioMarket, as_of: datetime) -> str:
    """GET /market/{id}: a full BINARY cpmm-1 market."""
    as_of = _visible(m, "manifold", as_of)
    return _dump(_manifold_market(m, as_of))


def manifold_markets_list_json(ms: Iterable[ScenarioMarket], as_of: datetime) -> str:
    """GET /markets: lite market objects, newest first."""
    as_of = _utc(as_of)
    listed = sorted((m for m in _listed(ms, "manifold", as_of) if len(m.outcomes) == 2),
                    key=lambda m: m.created_at, reverse=True)
    lite = []
    for m in listed:
        body = _manifold_market(m, as_of)
        for key in ("token", "groupSlugs", "textDescription"):
            body.pop(key, None)
        lite.append(body)
    return _dump(lite)


def manifold_bets_json(m: ScenarioMarket, as_of: datetime, *, limit: int | None = None) -> str:
    """GET /bets?contractId=: one filled market bet per price point, newest first."""
    as_of = _visible(m, "manifold", as_of)
    bets = []
    before = _MANIFOLD_INITIAL_PROB
    for point in _history_until(m, as_of):
        created = _millis(point.t)
        bet_id = _digest("bet", m.market_id, str(created))[:12]
        amount = 10.0
        no_fees = {"creatorFee": 0, "platformFee": 0, "liquidityFee": 0}
        bets.append({
            "id": bet_id,
            "fees": no_fees,
            "fills": [{"fees": no_fees, "amount": amount, "shares": amount, "timestamp": created,
                       "matchedBetId": None}],
            "isApi": False,
            "amount": amount,
            "shares": amount,
            "silent": False,
            "userId": _MANIFOLD_BETTOR,
            "outcome": "YES" if point.p >= before else "NO",
            "isFilled": True,
            "probAfter": point.p,
            "contractId": m.market_id,
            "loanAmount": 0,
            "probBefore": before,
            "visibility": "public",
            "createdTime": created,
            "isCancelled": False,
            "orderAmount": amount,
            "isRedemption": False,
            "betId": bet_id,
            "updatedTime": created,
        })
        before = point.p
    bets.reverse()
    return _dump(bets[:limit] if limit is not None else bets)
