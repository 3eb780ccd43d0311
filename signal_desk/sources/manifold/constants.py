"""Manifold's public API v0 and its URLs."""
from __future__ import annotations

from urllib.parse import quote, urlencode

VENUE = "manifold"
API_BASE = "https://api.manifold.markets/v0"
SITE_BASE = "https://manifold.markets"
BINARY_OUTCOMES = ["Yes", "No"]
# Resolutions that settle without a single winner -> Market.resolution_kind.
NON_WINNER_RESOLUTIONS = {"CANCEL": "cancelled", "MKT": "split"}

# Readers: what each fetched payload is, so the parse step knows how to read it (parse.READERS).
MARKET_READER = "manifold_market"
BETS_READER = "manifold_bets"
HISTORY_READERS = frozenset({BETS_READER})        # their points are price history, not snapshots


def market_url(base: str, market_id: str) -> str:
    """GET /market/{id}: the full market (answers included for multiple choice)."""
    return f"{base.rstrip('/')}/market/{quote(market_id, safe='')}"


def markets_url(base: str, *, limit: int | None = None, before: str | None = None) -> str:
    """GET /markets: lite market objects, newest first; `before` is the last id of the previous page."""
    query: dict[str, str | int] = {}
    if limit is not None:
        query["limit"] = limit
    if before:
        query["before"] = before
    return f"{base.rstrip('/')}/markets" + (f"?{urlencode(query)}" if query else "")


def market_page_url(creator_username: str, slug: str) -> str:
    """The page a reader opens, for a market object that does not send its own `url`."""
    return f"{SITE_BASE}/{creator_username}/{slug}"


def bets_url(base: str, contract_id: str, *, limit: int | None = None, before: str | None = None) -> str:
    """GET /bets?contractId=: bets newest first; `before` is a bet id for the next page."""
    query: dict[str, str | int] = {"contractId": contract_id}
    if limit is not None:
        query["limit"] = limit
    if before:
        query["before"] = before
    return f"{base.rstrip('/')}/bets?{urlencode(query)}"
