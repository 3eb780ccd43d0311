"""What a post source's fetch step starts from and returns: its cursor, every payload it got (or the
error it met), and for a backfill how far back it reached."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from signal_desk.clock import utcnow
from signal_desk.items import FetchRecord

if TYPE_CHECKING:
    from signal_desk.http import FetchError, Response


@dataclass(slots=True)
class Cursor:
    """Where a source's hourly fetch stops: the newest post id landed, and the gaps earlier runs left."""

    newest_id: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class SourceFetch:
    source_id: str
    kind: str
    pages: list[FetchRecord] = field(default_factory=list)
    error: str | None = None                 # why the source stopped early, if it did
    gaps_opened: list[tuple[int, int]] = field(default_factory=list)   # (before_id, until_id) left for later
    gaps_closed: list[int] = field(default_factory=list)               # before_ids of gaps now filled
    notes: list[str] = field(default_factory=list)

    @property
    def ok_pages(self) -> list[FetchRecord]:
        return [p for p in self.pages
                if p.body is not None and p.error is None and p.status_code is not None and p.status_code < 400]


@dataclass(slots=True)
class Coverage:
    """How far back a source's fetch reached, so a short backfill is visible, not silent."""

    source_id: str
    kind: str
    pages: int = 0
    oldest_seen: datetime | None = None      # the oldest post any fetched page showed
    newest_seen: datetime | None = None
    reached_start: bool = False              # paged past the range's start, or to the channel's first post
    stopped_by: str | None = None            # "page cap", "fetch error", "unreadable page" when not reached

    def as_dict(self) -> dict:
        return dict(source_id=self.source_id, kind=self.kind, pages=self.pages,
                    oldest_seen=self.oldest_seen.isoformat() if self.oldest_seen else None,
                    newest_seen=self.newest_seen.isoformat() if self.newest_seen else None,
                    reached_start=self.reached_start, stopped_by=self.stopped_by)


def failed_page(source_id: str, url: str, e: FetchError) -> FetchRecord:
    """The record of a request that failed: what the server sent, if anything, and why."""
    return FetchRecord(source_id, url, utcnow(), e.status, e.body or None, e.reason)


def fetched_page(source_id: str, resp: Response, error: str | None = None) -> FetchRecord:
    return FetchRecord(source_id, resp.url, resp.fetched_at, resp.status, resp.body, error)
