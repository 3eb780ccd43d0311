"""A Polymarket market: its Gamma object, then each outcome token's CLOB price history since the newest
landed; and the Gamma search that proposes markets for a watch list.

The token ids come only with the market object, so that payload is read here (pure, no I/O) first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from signal_desk.http import Fetcher
from signal_desk.items import PayloadError
from signal_desk.sources.market_fetching import MarketCursors, MarketFetch, get_payload, ref_key, search_key
from signal_desk.sources.polymarket import constants as pc
from signal_desk.sources.polymarket.parse import parse_gamma_markets

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, MarketRef

HISTORY_FIDELITY_MIN = 60


async def fetch(fetcher: Fetcher, endpoints: Endpoints, ref: MarketRef, cursors: MarketCursors) -> MarketFetch:
    """The venue contract's fetch."""
    out = MarketFetch(ref_key(ref))
    now = cursors.now
    base = endpoints.polymarket_gamma
    url = pc.gamma_markets_url(base, slug=ref.slug) if ref.slug else pc.gamma_market_url(base, ref.id or "")
    p = await get_payload(fetcher, out, url, pc.MARKETS_READER)
    if p is None:
        return out
    try:
        peek = parse_gamma_markets(p.record.body, now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        for outcome, token in zip(m.outcomes, m.token_ids):
            start = cursors.history_start(pc.VENUE, m.market_id, outcome)
            hurl = pc.prices_history_url(endpoints.polymarket_clob, token, start, int(now.timestamp()),
                                         HISTORY_FIDELITY_MIN)
            await get_payload(fetcher, out, hurl, pc.HISTORY_READER, market_id=m.market_id, outcome=outcome,
                              token_id=token)
    return out


async def search(fetcher: Fetcher, endpoints: Endpoints, watchlist_id: str, terms: list[str]) -> MarketFetch:
    """The venue contract's search: one public search per term, for markets a watch list might follow."""
    out = MarketFetch(search_key(watchlist_id))
    for q in terms:
        await get_payload(fetcher, out, pc.public_search_url(endpoints.polymarket_gamma, q), pc.SEARCH_READER,
                          watchlist_id=watchlist_id, query=q)
    return out
