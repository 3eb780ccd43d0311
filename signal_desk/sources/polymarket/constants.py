"""Polymarket's public endpoints (Gamma for market metadata, CLOB for price history) and their URLs."""
from __future__ import annotations

from urllib.parse import quote, urlencode

VENUE = "polymarket"
GAMMA_BASE = "https://gamma-api.polymarket.com"
CLOB_BASE = "https://clob.polymarket.com"
SITE_BASE = "https://polymarket.com"

# Readers: what each fetched payload is, so the parse step knows how to read it (parse.READERS).
MARKETS_READER = "gamma_markets"
HISTORY_READER = "clob_history"
SEARCH_READER = "gamma_search"
HISTORY_READERS = frozenset({HISTORY_READER})     # their points are price history, not snapshots
SEARCH_READERS = frozenset({SEARCH_READER})       # their markets are candidates to propose, not to land


def gamma_markets_url(base: str, *, slug: str | None = None, id: str | None = None) -> str:
    """GET /markets filtered by one slug or one market id."""
    if (slug is None) == (id is None):
        raise ValueError("give exactly one of slug= or id=")
    query = {"slug": slug} if slug is not None else {"id": id}
    return f"{base.rstrip('/')}/markets?{urlencode(query)}"


def gamma_market_url(base: str, market_id: str) -> str:
    """GET /markets/{id}: one market object, not a list."""
    return f"{base.rstrip('/')}/markets/{quote(str(market_id), safe='')}"


def gamma_events_url(base: str, *, slug: str) -> str:
    return f"{base.rstrip('/')}/events?{urlencode({'slug': slug})}"


def gamma_event_by_slug_url(base: str, slug: str) -> str:
    """GET /events/slug/{slug}: one event object with its markets."""
    return f"{base.rstrip('/')}/events/slug/{quote(slug, safe='')}"


def public_search_url(base: str, q: str) -> str:
    return f"{base.rstrip('/')}/public-search?{urlencode({'q': q})}"


def prices_history_url(base: str, token_id: str, start_ts: int, end_ts: int, fidelity_minutes: int) -> str:
    """CLOB GET /prices-history for one outcome token; start/end are unix seconds."""
    if end_ts < start_ts:
        raise ValueError(f"end_ts {end_ts} is before start_ts {start_ts}")
    if fidelity_minutes < 1:
        raise ValueError(f"fidelity_minutes must be >= 1, got {fidelity_minutes}")
    query = {"market": token_id, "startTs": int(start_ts), "endTs": int(end_ts), "fidelity": int(fidelity_minutes)}
    return f"{base.rstrip('/')}/prices-history?{urlencode(query)}"


def market_page_url(market_slug: str | None, event_slug: str | None) -> str | None:
    """The page a reader opens: /event/<event>[/<market>] when the event is known, else /market/<slug>."""
    if event_slug:
        if market_slug and market_slug != event_slug:
            return f"{SITE_BASE}/event/{event_slug}/{market_slug}"
        return f"{SITE_BASE}/event/{event_slug}"
    if market_slug:
        return f"{SITE_BASE}/market/{market_slug}"
    return None
