"""What a market venue's fetch step starts from and returns: where each market's history and trades
resume, and every payload fetched, tagged with the reader that parses it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from signal_desk.http import FetchError, Fetcher
from signal_desk.items import FetchRecord
from signal_desk.sources.fetching import failed_page, fetched_page

if TYPE_CHECKING:
    from signal_desk.config import MarketRef

# How far back a market with nothing landed yet is fetched.
BACKFILL = timedelta(days=30)
# Context key a trades payload carries when it is the last page read of its window: the venue's cursor
# to resume from (None when the window is finished).
RESUME_CURSOR = "window_resume_cursor"


@dataclass(slots=True)
class Payload:
    """A fetched market payload and how to read it."""

    record: FetchRecord
    reader: str                       # a venue's reader name (its package's constants), e.g. kalshi_trades
    context: dict = field(default_factory=dict)


@dataclass(slots=True)
class MarketFetch:
    ref_key: str                      # "<venue>:<slug|ticker|id>", or "search:<watchlist id>"
    payloads: list[Payload] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True, frozen=True)
class TradeCursor:
    """Where a market's next trade fetch starts: a window to resume, or the newest trade landed."""

    newest_trade_at: datetime | None
    resume_cursor: str | None
    resume_min_ts: int | None


@dataclass(slots=True, frozen=True)
class MarketCursors:
    """What one run's market fetches start from: its clock, the newest history point landed per
    (venue, market, outcome), and each market's trade cursor per (venue, market)."""

    now: datetime
    latest: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    trades: dict[tuple[str, str], TradeCursor] = field(default_factory=dict)

    def history_start(self, venue: str, market_id: str, outcome: str) -> int:
        """Unix seconds to ask an outcome's history from: its newest landed point, else BACKFILL back."""
        t = self.latest.get((venue, market_id, outcome))
        start = t if t and t < self.now else self.now - BACKFILL
        return int(start.timestamp())


def ref_key(ref: MarketRef) -> str:
    return f"{ref.venue}:{ref.key}"


def search_key(watchlist_id: str) -> str:
    return f"search:{watchlist_id}"


async def get_payload(fetcher: Fetcher, out: MarketFetch, url: str, reader: str, **context) -> Payload | None:
    """GET `url` into `out` as a payload for `reader`; on failure record it, set `out.error`, return None."""
    try:
        resp = await fetcher.get(url)
    except FetchError as e:
        out.payloads.append(Payload(failed_page(out.ref_key, url, e), reader, context))
        out.error = str(e)
        return None
    p = Payload(fetched_page(out.ref_key, resp), reader, context)
    out.payloads.append(p)
    return p
