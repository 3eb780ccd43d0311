"""Which package reads each kind of post source and each market venue, and what every package provides.

The ingest, market and backfill steps look a source up here by its kind (`Source.kind`) or venue
(`MarketRef.venue`) and call its contract; none of them names a source. A package is
`signal_desk/sources/<name>/` with `constants` (URLs and their builders), `exceptions`, `types` when it
has types of its own, a pure `parse` and a `fetch` that does all its I/O through `signal_desk.http.Fetcher`.
"""
from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Protocol

from signal_desk.sources.kalshi import constants as kalshi_constants, fetch as kalshi_fetch, parse as kalshi_parse
from signal_desk.sources.manifold import (constants as manifold_constants, fetch as manifold_fetch,
                                          parse as manifold_parse)
from signal_desk.sources.polymarket import (constants as polymarket_constants, fetch as polymarket_fetch,
                                            parse as polymarket_parse)
from signal_desk.sources.rss import constants as rss_constants, fetch as rss_fetch, parse as rss_parse
from signal_desk.sources.telegram import (constants as telegram_constants, fetch as telegram_fetch,
                                          parse as telegram_parse)
from signal_desk.sources.xmirror import constants as xmirror_constants, fetch as xmirror_fetch, parse as xmirror_parse

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, MarketRef, Source
    from signal_desk.http import Fetcher
    from signal_desk.sources.fetching import Coverage, Cursor, SourceFetch
    from signal_desk.sources.market_fetching import MarketCursors, MarketFetch
    from signal_desk.sources.markets_common import ParseResult, PayloadReader
    from signal_desk.sources.parsing import SourceParse


class FetchPosts(Protocol):
    def __call__(self, fetcher: Fetcher, endpoints: Endpoints, src: Source, cursor: Cursor, *,
                 page_cap: int) -> Awaitable[SourceFetch]: ...


class FetchBack(Protocol):
    def __call__(self, fetcher: Fetcher, endpoints: Endpoints, src: Source, *, start: datetime,
                 page_cap: int) -> Awaitable[tuple[SourceFetch, Coverage]]: ...


class FetchMarket(Protocol):
    def __call__(self, fetcher: Fetcher, endpoints: Endpoints, ref: MarketRef,
                 cursors: MarketCursors) -> Awaitable[MarketFetch]: ...


class SearchMarkets(Protocol):
    def __call__(self, fetcher: Fetcher, endpoints: Endpoints, watchlist_id: str,
                 terms: list[str]) -> Awaitable[MarketFetch]: ...


@dataclass(frozen=True, slots=True)
class PostSource:
    """A kind of source whose payloads become posts (`Item`s)."""

    kind: str                                   # Source.kind in sources.yaml
    fetch: FetchPosts                           # one source's payloads for a run, from its cursor
    parse: Callable[[SourceFetch, Source], SourceParse]   # pure: the payloads -> items and rejects
    fetch_back: FetchBack | None = None         # pages back in time to a date (backfill); None: no history
    id_cursor: bool = False                     # item ids are increasing integers the fetch resumes from
    described_as: str = "the feed"              # how a backfill note names a source without history


@dataclass(frozen=True, slots=True)
class MarketVenue:
    """A prediction-market venue whose payloads become markets, odds and trades."""

    venue: str                                  # MarketRef.venue in watchlists.yaml
    fetch: FetchMarket                          # one watched market's payloads, each tagged with a reader
    readers: Mapping[str, PayloadReader]        # pure: reader name -> how its payloads are read
    read_file: Callable[[bytes, datetime], ParseResult]   # stored market objects (backfill --market-file)
    history_readers: frozenset[str] = frozenset()   # readers whose points are history, not snapshots
    search: SearchMarkets | None = None         # proposes markets for a watch list's keywords
    search_readers: frozenset[str] = frozenset()    # readers whose markets are candidates, not landed


POST_SOURCES: dict[str, PostSource] = {s.kind: s for s in (
    PostSource(telegram_constants.KIND, telegram_fetch.fetch, telegram_parse.parse_fetch,
               fetch_back=telegram_fetch.fetch_back, id_cursor=True),
    PostSource(xmirror_constants.KIND, xmirror_fetch.fetch, xmirror_parse.parse_fetch,
               described_as="the X mirror feed"),
    PostSource(rss_constants.KIND, rss_fetch.fetch, rss_parse.parse_fetch),
)}

VENUES: dict[str, MarketVenue] = {v.venue: v for v in (
    MarketVenue(kalshi_constants.VENUE, kalshi_fetch.fetch, kalshi_parse.READERS, kalshi_parse.parse_market_file,
                history_readers=kalshi_constants.HISTORY_READERS),
    MarketVenue(polymarket_constants.VENUE, polymarket_fetch.fetch, polymarket_parse.READERS,
                polymarket_parse.parse_market_file, history_readers=polymarket_constants.HISTORY_READERS,
                search=polymarket_fetch.search, search_readers=polymarket_constants.SEARCH_READERS),
    MarketVenue(manifold_constants.VENUE, manifold_fetch.fetch, manifold_parse.READERS,
                manifold_parse.parse_market_file, history_readers=manifold_constants.HISTORY_READERS),
)}

_VENUE_OF_READER: dict[str, MarketVenue] = {reader: v for v in VENUES.values() for reader in v.readers}


def post_source(kind: str) -> PostSource:
    try:
        return POST_SOURCES[kind]
    except KeyError:
        raise ValueError(f"no source package for kind {kind!r}; known: {', '.join(POST_SOURCES)}") from None


def market_venue(venue: str) -> MarketVenue:
    try:
        return VENUES[venue]
    except KeyError:
        raise ValueError(f"no source package for venue {venue!r}; known: {', '.join(VENUES)}") from None


def venue_of_reader(reader: str) -> MarketVenue:
    """The venue whose package reads payloads tagged `reader`."""
    try:
        return _VENUE_OF_READER[reader]
    except KeyError:
        raise ValueError(f"unknown reader {reader}") from None
