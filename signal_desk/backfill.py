"""Backfilling a past date range: fetch back in time, keep only the range's posts.

The hourly fetch pages a Telegram channel back to the newest post already landed (by id). A backfill
pages back by time instead: from the top of the channel until a page shows a post older than the
range's start, or the page budget runs out, and says how far back it got. Feeds and X mirrors keep no
history, so they are fetched once and whatever of theirs falls in the range is kept.

Stored market files (a venue's market objects saved by another client) are imported as they are.
Which sources page back, and how a venue's file is read, is each source package's (through the registry).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from signal_desk.config import Config, Source
from signal_desk.clock import as_utc, utcnow
from signal_desk.http import Fetcher, FetchPolicy
from signal_desk.ingest import SourceParse, fetch_sources
from signal_desk.items import Market, OddsPoint, PayloadError, QuarantineRow
from signal_desk.sources.fetching import Coverage, SourceFetch
from signal_desk.sources.markets_common import ParseResult
from signal_desk.sources.registry import VENUES, market_venue, post_source

# Coverage is the fetch step's record; it is named here too, where the backfill flow imports it from.
__all__ = ["MARKET_FILE_VENUES", "Coverage", "check_range", "coverage_note", "fetch_range", "read_market_files",
           "keep_range", "progress_line", "read_market_file", "resolve_sources"]


def check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = as_utc(start), as_utc(end)
    if start >= end:
        raise ValueError(f"backfill range is empty: start {start.isoformat()} is not before end {end.isoformat()}")
    if start > utcnow():
        raise ValueError(f"backfill start {start.isoformat()} is in the future")
    return start, end


def resolve_sources(cfg: Config, source_ids: list[str] | None) -> list[Source]:
    """The named sources (enabled or not: naming one is the point), or every enabled source."""
    if not source_ids:
        return list(cfg.sources)
    known = {s.id: s for s in cfg.sources_file.sources}
    unknown = [sid for sid in source_ids if sid not in known]
    if unknown:
        raise ValueError(f"unknown source id(s) {', '.join(map(repr, unknown))} in {cfg.directory / 'sources.yaml'}; "
                         f"known: {', '.join(sorted(known))}")
    return [known[sid] for sid in dict.fromkeys(source_ids)]


async def fetch_range(cfg: Config, sources: list[Source], *, start: datetime, page_cap: int,
                      policy: FetchPolicy | None = None,
                      on_source_done: Callable[[Coverage], None] | None = None) -> tuple[list[SourceFetch], list[Coverage]]:
    """Fetch what each source still shows back to `start`. Sources with history (Telegram) page back;
    feeds and X are fetched once. `on_source_done` hears of each source as it finishes (for progress),
    in the order they finish."""
    def finished(cov: Coverage) -> None:
        if on_source_done is not None:
            on_source_done(cov)

    async def channel(s: Source) -> tuple[SourceFetch, Coverage]:
        try:
            fetched, cov = await post_source(s.kind).fetch_back(fetcher, cfg.endpoints, s, start=start,
                                                                page_cap=page_cap)
        except Exception as e:       # one channel's failure is its own; the others go on
            fetched = SourceFetch(source_id=s.id, kind=s.kind, error=f"{type(e).__name__}: {e}")
            cov = Coverage(s.id, s.kind, stopped_by="fetch error")
        finished(cov)
        return fetched, cov

    channels = [s for s in sources if _pages_back(s.kind)]
    feeds = [s for s in sources if not _pages_back(s.kind)]
    fetches: dict[str, SourceFetch] = {}
    coverage: dict[str, Coverage] = {}
    if channels:
        async with Fetcher(policy) as fetcher:
            results = await asyncio.gather(*(channel(s) for s in channels))
        for src, (fetched, cov) in zip(channels, results):
            fetches[src.id], coverage[src.id] = fetched, cov
    if feeds:
        # One Fetcher at a time, so per-host politeness holds across both kinds.
        for f in await fetch_sources(cfg, feeds, {}, policy=policy, page_cap=1):
            fetches[f.source_id] = f
            coverage[f.source_id] = Coverage(f.source_id, f.kind, pages=len(f.pages),
                                             stopped_by="fetch error" if f.error else None)
            finished(coverage[f.source_id])
    ordered = [s.id for s in sources]
    return [fetches[sid] for sid in ordered], [coverage[sid] for sid in ordered]


def _pages_back(kind: str) -> bool:
    return post_source(kind).fetch_back is not None


def keep_range(parsed: list[SourceParse], coverage: list[Coverage], start: datetime,
               end: datetime) -> list[SourceParse]:
    """Only the posts published in [start, end]; feeds' coverage is filled in from what they showed."""
    by_id = {c.source_id: c for c in coverage}
    kept = []
    for p in parsed:
        cov = by_id.get(p.source_id)
        if cov is not None and not _pages_back(cov.kind) and p.items:
            cov.oldest_seen = min(it.published_at for it in p.items)
            cov.newest_seen = max(it.published_at for it in p.items)
            cov.reached_start = cov.oldest_seen <= start
        items = [it for it in p.items if start <= it.published_at <= end]
        kept.append(replace(p, items=items))
    return kept


def progress_line(cov: Coverage, start: datetime, end: datetime) -> str:
    """How far back one source got, in hours of the range: the backfill's progress line for it."""
    hours = max(1, round((end - start) / timedelta(hours=1)))
    pages = f"{cov.pages} page{'s' if cov.pages != 1 else ''}"
    if not _pages_back(cov.kind):
        return f"{cov.source_id}: {pages}, fetched once (no history to page back)" + (
            f" ({cov.stopped_by})" if cov.stopped_by else "")
    if cov.reached_start:
        return f"{cov.source_id}: {pages}, {hours} of {hours} h of the range"
    reached = 0 if cov.oldest_seen is None else round((end - max(start, min(end, cov.oldest_seen))) / timedelta(hours=1))
    return f"{cov.source_id}: {pages}, {reached} of {hours} h of the range (stopped: {cov.stopped_by})"


def coverage_note(cov: Coverage, start: datetime) -> str | None:
    """A warning for a source whose fetch did not reach back to `start`, or None."""
    if cov.reached_start:
        return None
    if cov.stopped_by == "page cap":
        return (f"{cov.source_id}: page cap ({cov.pages} pages) reached at posts from "
                f"{cov.oldest_seen:%Y-%m-%d %H:%M} UTC; posts between {start:%Y-%m-%d %H:%M} UTC and then were "
                f"not landed. Run again with a larger page_cap.")
    if cov.stopped_by:
        return f"{cov.source_id}: stopped after {cov.pages} page(s) ({cov.stopped_by}); the range is not complete"
    shown = (f"its oldest entry is from {cov.oldest_seen:%Y-%m-%d %H:%M} UTC" if cov.oldest_seen
             else "it showed no entries")
    feed = post_source(cov.kind).described_as
    return (f"{cov.source_id}: {feed} keeps no history and {shown}; "
            f"earlier posts in the range cannot be backfilled")


MARKET_FILE_VENUES = tuple(VENUES)


def read_market_file(spec: str, observed_at: datetime | None = None) -> tuple[str, ParseResult]:
    """`venue:path` -> (path, what the file holds). Stored market objects are read as the venues send them,
    and a Kalshi market also without its {"market": ...} envelope, as some clients store it. Prices are
    stamped `observed_at`, by default the file's modification time: when the market was stored."""
    venue, sep, path_text = spec.partition(":")
    if not sep or venue not in MARKET_FILE_VENUES or not path_text:
        raise ValueError(f"market file {spec!r}: expected VENUE:PATH with VENUE one of {', '.join(MARKET_FILE_VENUES)}")
    path = Path(path_text)
    try:
        payload = path.read_bytes()
    except OSError as e:
        raise ValueError(f"market file {path}: cannot be read ({e.strerror or e})") from None
    stamp = as_utc(observed_at) if observed_at else datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    try:
        return str(path), market_venue(venue).read_file(payload, stamp)
    except PayloadError as e:
        raise ValueError(f"market file {path}: {e}") from None


def read_market_files(specs: list[str], observed_at: datetime | None = None
                      ) -> tuple[list[Market], list[OddsPoint], list[QuarantineRow]]:
    """The markets and prices of stored market files (`venue:path`), every file read before anything
    lands, and a quarantine row for each element that does not fit (its file as the source)."""
    read = [read_market_file(spec, observed_at) for spec in specs]
    rejects = [QuarantineRow("markets", "market_file", rej.reason, path, rej.locator, rej.raw[:2000])
               for path, r in read for rej in r.rejects]
    return [m for _, r in read for m in r.markets], [o for _, r in read for o in r.odds], rejects
