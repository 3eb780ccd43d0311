"""Polymarket: Gamma markets and search, CLOB price history (`fetch` gets them, `parse` reads them, pure)."""
from signal_desk.sources.polymarket.constants import (
    CLOB_BASE,
    GAMMA_BASE,
    VENUE,
    gamma_event_by_slug_url,
    gamma_events_url,
    gamma_market_url,
    gamma_markets_url,
    prices_history_url,
    public_search_url,
)
from signal_desk.sources.polymarket.parse import (
    parse_gamma_events,
    parse_gamma_markets,
    parse_prices_history,
    parse_public_search,
)

__all__ = [
    "CLOB_BASE", "GAMMA_BASE", "VENUE",
    "gamma_event_by_slug_url", "gamma_events_url", "gamma_market_url", "gamma_markets_url",
    "prices_history_url", "public_search_url",
    "parse_gamma_events", "parse_gamma_markets", "parse_prices_history", "parse_public_search",
]
