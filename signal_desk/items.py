"""The shapes every source hands to landing.

Each source package parses its own payloads into its own types and converts them to
`Item` (a post, tweet or feed entry) or to `Market` / `OddsPoint` (prediction markets).
Landing only ever sees these, and the records of what was fetched (`FetchRecord`), set aside
(`QuarantineRow`) or left to resume (`TradeWindow`). Nothing here imports DuckDB or pandas, so a
source package depends on this module alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from datetime import datetime


@dataclass(slots=True)
class PollOption:
    text: str
    percent: int | None                 # share of the votes as the source rounds it; None before any vote is shown


@dataclass(slots=True)
class Poll:
    """A poll a post carries (Telegram). Its question and options are the post's text; the results
    (percentages, voter count) move as people vote and are not edits of the post."""

    question: str
    options: list[PollOption]
    anonymous: bool = True
    quiz: bool = False
    multiple_choice: bool = False
    voters: int | None = None

    @property
    def text(self) -> str:
        return "\n".join([self.question, *(o.text for o in self.options)]).strip()


@dataclass(slots=True)
class Item:
    """One published post, whatever the source kind. Keyed by (source_id, item_id)."""

    source_id: str                      # the configured source's id, e.g. "alalamarabic"
    item_id: str                        # stable id within the source (Telegram post id, tweet id, feed guid)
    url: str                            # the original, canonical URL (t.me/<ch>/<id>, x.com/<user>/status/<id>, ...)
    published_at: datetime              # timezone-aware, UTC
    text: str = ""                      # plain text, line breaks kept
    author: str | None = None           # signed author / display name when the source gives one
    views: int | None = None
    forwarded_from_name: str | None = None
    forwarded_from_url: str | None = None
    reply_to_url: str | None = None
    media_kinds: list[str] = field(default_factory=list)   # photo, video, voice, round_video, document, sticker, poll ...
    outlinks: list[str] = field(default_factory=list)
    link_preview_url: str | None = None
    link_preview_title: str | None = None
    edited: bool = False
    is_service: bool = False            # "Channel created", pinned-message notices ...
    album_id: str | None = None         # grouped media (Telegram albums consume several post ids)
    lang: str | None = None             # language of the text when the source states it
    poll: Poll | None = None            # landed in polls / poll_results; its text is already in `text`

    def as_row(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Market:
    """A prediction-market contract. Keyed by (venue, market_id)."""

    venue: str                          # polymarket | kalshi | manifold
    market_id: str                      # Gamma market id, Kalshi ticker, Manifold contract id
    question: str
    outcomes: list[str]
    slug: str | None = None
    url: str | None = None
    event_id: str | None = None         # Gamma event id / Kalshi event ticker; groups negRisk siblings
    group_item_title: str | None = None
    end_date: datetime | None = None
    status: str = "open"                # open | closed | resolved
    resolution: str | None = None       # winning outcome label when resolved
    resolved_at: datetime | None = None
    token_ids: list[str] = field(default_factory=list)   # Polymarket CLOB token per outcome, same order
    outcomes_sum_to_one: bool = True    # False where the venue does not promise it (multi-choice polls ...)
    resolution_kind: str | None = None  # outcome | cancelled | split | unknown, once resolved
    resolution_raw: str | None = None   # the venue's own resolution value, as sent
    archived: bool = False              # the venue archived it: a stale duplicate, not current odds
    end_date_issue: str | None = None   # why end_date cannot be right (before the question's date or creation)
    outcome_sum_issue: str | None = None    # the promised sum of one is off: "answers sum to 0.031"

    def as_row(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class OddsPoint:
    """A probability for one outcome at one time. Keyed by (venue, market_id, outcome, venue_ts)."""

    venue: str
    market_id: str
    outcome: str
    price_prob: float                   # in [0, 1]
    venue_ts: datetime                  # the venue's own timestamp for the price (UTC)
    volume: float | None = None
    liquidity: float | None = None      # None when the venue does not fill it (never a placeholder 0.0)
    best_bid_prob: float | None = None  # the book's best bid for the outcome, in probability
    best_ask_prob: float | None = None
    spread_prob: float | None = None    # best ask minus best bid, in probability
    open_interest_contracts: float | None = None

    def as_row(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class MarketTrade:
    """One executed trade. Keyed by (venue, trade_id)."""

    venue: str
    market_id: str
    trade_id: str
    traded_at: datetime                 # the venue's execution time (UTC, microseconds kept)
    yes_price_prob: float               # the Yes side's price, in probability
    no_price_prob: float
    count_contracts: float              # contracts traded
    taker_side: str                     # yes | no

    def as_row(self) -> dict:
        return asdict(self)


class PayloadError(ValueError):
    """A payload that does not fit the expected shape. Carries where it came from, so it can be
    quarantined with the reason instead of guessed at."""

    def __init__(self, reason: str, *, source: str = "", locator: str = ""):
        self.reason = reason
        self.source = source
        self.locator = locator
        where = " ".join(p for p in (source, locator) if p)
        super().__init__(f"{where}: {reason}" if where else reason)


@dataclass(slots=True)
class FetchRecord:
    """One fetch as landed in raw_fetches (+ its body in raw_bodies)."""

    source_id: str
    url: str
    fetched_at: datetime
    status_code: int | None
    body: bytes | None
    error: str | None = None


@dataclass(slots=True)
class QuarantineRow:
    table_name: str
    check_name: str
    reason: str
    source_id: str | None = None
    record_key: str | None = None
    payload: str | None = None


@dataclass(slots=True)
class TradeWindow:
    """How far one run's trade fetch of a market got: done, or stopped with the venue's cursor to resume."""

    venue: str
    market_id: str
    min_ts: int | None                 # the window's start (unix seconds) as asked
    resume_cursor: str | None = None   # set when the window is not finished
