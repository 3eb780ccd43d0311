"""Manifold: API v0 markets and bets."""
from tasks.sources.manifold.constants import API_BASE, VENUE, bets_url, market_url, markets_url
from tasks.sources.manifold.parse import answer_labels, parse_bets, parse_market, parse_markets

__all__ = [
    "API_BASE", "VENUE", "bets_url", "market_url", "markets_url",
    "answer_labels", "parse_bets", "parse_market", "parse_markets",
]
