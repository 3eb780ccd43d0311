"""A Manifold market: its object, then its bets (the price history). The bets' outcomes are named by
the market's answers, so the market body travels with the bets payload to the parse step."""
from __future__ import annotations

from typing import TYPE_CHECKING

from signal_desk.http import Fetcher
from signal_desk.items import PayloadError
from signal_desk.sources.manifold import constants as mc
from signal_desk.sources.manifold.parse import parse_market
from signal_desk.sources.market_fetching import MarketCursors, MarketFetch, get_payload, ref_key

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, MarketRef


async def fetch(fetcher: Fetcher, endpoints: Endpoints, ref: MarketRef, cursors: MarketCursors) -> MarketFetch:
    """The venue contract's fetch."""
    out = MarketFetch(ref_key(ref))
    p = await get_payload(fetcher, out, mc.market_url(endpoints.manifold, ref.id or ref.key), mc.MARKET_READER)
    if p is None:
        return out
    try:
        peek = parse_market(p.record.body, cursors.now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        await get_payload(fetcher, out, mc.bets_url(endpoints.manifold, m.market_id), mc.BETS_READER,
                          market_id=m.market_id, market_body=p.record.body)
    return out
