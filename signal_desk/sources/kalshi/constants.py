"""Kalshi's public trade API v2 and its URLs."""
from __future__ import annotations

from urllib.parse import quote, urlencode

VENUE = "kalshi"
API_BASE = "https://api.elections.kalshi.com/trade-api/v2"
OUTCOMES = ["Yes", "No"]

# Venue status -> Market.status. Anything else is rejected rather than guessed at.
STATUS_OPEN = frozenset({"active", "open"})
STATUS_NOT_TRADING = frozenset({"initialized", "unopened", "inactive", "paused", "closed", "disputed"})
STATUS_SETTLED = frozenset({"determined", "amended", "finalized", "settled"})
# A settled market's `result` other than yes/no -> Market.resolution_kind.
RESULT_KINDS = {"void": "cancelled", "scalar": "split"}
TRADES_PAGE_LIMIT = 1000        # the venue's maximum page size for /markets/trades

# Readers: what each fetched payload is, so the parse step knows how to read it (parse.READERS).
MARKET_READER = "kalshi_market"
CANDLES_READER = "kalshi_candles"
TRADES_READER = "kalshi_trades"
HISTORY_READERS = frozenset({CANDLES_READER})     # their points are price history, not snapshots


def markets_url(base: str, *, tickers: list[str] | None = None, event_ticker: str | None = None,
                cursor: str | None = None, limit: int | None = None) -> str:
    """GET /markets filtered by market tickers or by one event ticker."""
    if (tickers is None) == (event_ticker is None):
        raise ValueError("give exactly one of tickers= or event_ticker=")
    query: dict[str, str | int] = {"tickers": ",".join(tickers)} if tickers is not None else {"event_ticker": event_ticker}
    if limit is not None:
        query["limit"] = limit
    if cursor:
        query["cursor"] = cursor
    return f"{base.rstrip('/')}/markets?{urlencode(query)}"


def market_url(base: str, ticker: str) -> str:
    """GET /markets/{ticker}: {"market": {...}}."""
    return f"{base.rstrip('/')}/markets/{quote(ticker, safe='')}"


def events_url(base: str, *, series_ticker: str | None = None, status: str | None = None,
               cursor: str | None = None, limit: int | None = None) -> str:
    """GET /events with nested markets, so one call gives every market of each event."""
    query: dict[str, str | int] = {"with_nested_markets": "true"}
    if series_ticker:
        query["series_ticker"] = series_ticker
    if status:
        query["status"] = status
    if limit is not None:
        query["limit"] = limit
    if cursor:
        query["cursor"] = cursor
    return f"{base.rstrip('/')}/events?{urlencode(query)}"


def candlesticks_url(base: str, series_ticker: str, ticker: str, start_ts: int, end_ts: int,
                     period_interval_minutes: int) -> str:
    """GET /series/{s}/markets/{t}/candlesticks; period_interval is 1, 60 or 1440 minutes."""
    if period_interval_minutes not in (1, 60, 1440):
        raise ValueError(f"period_interval must be 1, 60 or 1440 minutes, got {period_interval_minutes}")
    if end_ts < start_ts:
        raise ValueError(f"end_ts {end_ts} is before start_ts {start_ts}")
    query = {"start_ts": int(start_ts), "end_ts": int(end_ts), "period_interval": period_interval_minutes}
    return (f"{base.rstrip('/')}/series/{quote(series_ticker, safe='')}/markets/"
            f"{quote(ticker, safe='')}/candlesticks?{urlencode(query)}")


def trades_url(base: str, ticker: str, *, min_ts: int | None = None, cursor: str | None = None,
               limit: int | None = TRADES_PAGE_LIMIT) -> str:
    """GET /markets/trades for one market, newest first. The cursor keeps no filters, so every page
    repeats ticker and min_ts."""
    query: dict[str, str | int] = {"ticker": ticker}
    if min_ts is not None:
        query["min_ts"] = int(min_ts)
    if limit is not None:
        query["limit"] = limit
    if cursor:
        query["cursor"] = cursor
    return f"{base.rstrip('/')}/markets/trades?{urlencode(query)}"
