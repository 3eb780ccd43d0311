"""Manifold: API v0 markets and bets (`fetch` gets them, `parse` reads them, pure)."""
from signal_desk.sources.manifold.constants import API_BASE, VENUE, bets_url, market_url, markets_url
from signal_desk.sources.manifold.parse import answer_labels, parse_bets, parse_market, parse_markets

__all__ = [
    "API_BASE", "VENUE", "bets_url", "market_url", "markets_url",
    "answer_labels", "parse_bets", "parse_market", "parse_markets",
]
