"""Kalshi: trade API v2 markets, candlesticks and trades (`fetch` gets them, `parse` reads them, pure)."""
from signal_desk.sources.kalshi.constants import (
    API_BASE,
    VENUE,
    candlesticks_url,
    events_url,
    market_url,
    markets_url,
    trades_url,
)
from signal_desk.sources.kalshi.parse import (parse_candlesticks, parse_events, parse_market, parse_market_file,
                                       parse_markets, parse_trades)

__all__ = [
    "API_BASE", "VENUE", "candlesticks_url", "events_url", "market_url", "markets_url", "trades_url",
    "parse_candlesticks", "parse_events", "parse_market", "parse_market_file", "parse_markets", "parse_trades",
]
