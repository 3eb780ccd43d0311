"""A Kalshi market: its object, its hourly candles since the newest landed, and its trades, paged
newest first by the venue's cursor within a page budget (an unfinished window resumes next run).

The candles URL needs the market's series, which only the market object gives, so the market payload
is read here (pure, no I/O) before asking for the rest; trades pages likewise for their cursor.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from signal_desk.http import Fetcher
from signal_desk.items import PayloadError
from signal_desk.sources.kalshi import constants as kc
from signal_desk.sources.kalshi.parse import parse_market, parse_trades
from signal_desk.sources.market_fetching import (BACKFILL, RESUME_CURSOR, MarketCursors, MarketFetch, TradeCursor,
                                                 get_payload, ref_key)

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, MarketRef

CANDLE_PERIOD_MIN = 60
TRADE_PAGE_CAP = 10               # trade pages per market per run; an unfinished window resumes next run


async def fetch(fetcher: Fetcher, endpoints: Endpoints, ref: MarketRef, cursors: MarketCursors) -> MarketFetch:
    """The venue contract's fetch."""
    out = MarketFetch(ref_key(ref))
    now = cursors.now
    p = await get_payload(fetcher, out, kc.market_url(endpoints.kalshi, ref.ticker or ref.key), kc.MARKET_READER)
    if p is None:
        return out
    try:
        peek = parse_market(p.record.body, now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        series = (m.event_id or m.market_id).split("-")[0]
        start = cursors.history_start(kc.VENUE, m.market_id, m.outcomes[0] if m.outcomes else "Yes")
        curl = kc.candlesticks_url(endpoints.kalshi, series, m.market_id, start, int(now.timestamp()),
                                   CANDLE_PERIOD_MIN)
        await get_payload(fetcher, out, curl, kc.CANDLES_READER, market_id=m.market_id)
        await fetch_trades(fetcher, endpoints.kalshi, out, m.market_id, cursors.trades.get((kc.VENUE, m.market_id)),
                           now)
    return out


async def fetch_trades(fetcher: Fetcher, base: str, out: MarketFetch, ticker: str, cursor: TradeCursor | None,
                       now: datetime) -> None:
    """Page a market's trades, newest first, from its cursor on: finish an unfinished window first, else
    ask from the newest trade landed (or BACKFILL back). The last page read says where the window ended."""
    if cursor is not None and cursor.resume_cursor:
        min_ts, venue_cursor = cursor.resume_min_ts, cursor.resume_cursor
    else:
        newest = cursor.newest_trade_at if cursor is not None else None
        min_ts, venue_cursor = int((newest or now - BACKFILL).timestamp()), None
    for page in range(TRADE_PAGE_CAP):
        url = kc.trades_url(base, ticker, min_ts=min_ts, cursor=venue_cursor)
        p = await get_payload(fetcher, out, url, kc.TRADES_READER, market_id=ticker, min_ts=min_ts)
        if p is None:
            return      # nothing recorded for the window: the next run asks again from the same place
        try:
            venue_cursor = parse_trades(p.record.body, market_id=ticker).next_cursor
        except PayloadError as e:
            out.error = str(e)
            return
        last_page = venue_cursor is None or page == TRADE_PAGE_CAP - 1
        if last_page:
            p.context[RESUME_CURSOR] = venue_cursor
            return
