"""Backfilling a past date range: fetch back in time, keep only the range's posts.

The hourly fetch pages a Telegram channel back to the newest post already landed (by id). A backfill
pages back by time instead: from the top of the channel until a page shows a post older than the
range's start, or the page budget runs out, and says how far back it got. Feeds and X mirrors keep no
history, so they are fetched once and whatever of theirs falls in the range is kept.

Stored market files (a venue's market objects saved by another client) are imported as they are.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from signal_desk.config import Config, Source
from signal_desk.db import as_utc, utcnow
from signal_desk.http import FetchError, Fetcher, FetchPolicy
from signal_desk.ingest import SourceParse, fetch_sources
from signal_desk.items import PayloadError
from signal_desk.items import FetchRecord, QuarantineRow
from signal_desk.landing import land_markets, quarantine
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.kalshi import parse as kalshi_parse
from signal_desk.sources.manifold import parse as manifold_parse
from signal_desk.sources.markets_common import ParseResult
from signal_desk.sources.polymarket import parse as polymarket_parse
from signal_desk.sources.telegram.fetch import channel_url
from signal_desk.sources.telegram.parse import parse as parse_telegram_page


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


async def fetch_channel_back_to(fetcher: Fetcher, base: str, source_id: str, handle: str, *, start: datetime,
                                page_cap: int) -> tuple[SourceFetch, Coverage]:
    """Page a channel's preview from the newest post back until a page shows a post older than `start`."""
    out = SourceFetch(source_id=source_id, kind="telegram")
    cov = Coverage(source_id=source_id, kind="telegram")
    cursor: int | None = None
    while True:
        if cov.pages >= page_cap:
            cov.stopped_by = "page cap"
            break
        url = channel_url(base, handle, cursor)
        cov.pages += 1
        try:
            resp = await fetcher.get(url)
        except FetchError as e:
            out.pages.append(FetchRecord(source_id, url, utcnow(), e.status, e.body or None, e.reason))
            out.error = str(e)
            cov.stopped_by = "fetch error"
            break
        out.pages.append(FetchRecord(source_id, resp.url, resp.fetched_at, resp.status, resp.body))
        try:
            cursor, posts = parse_telegram_page(resp.body, handle)
        except PayloadError:
            cov.stopped_by = "unreadable page"    # the parse step reports why, and quarantines the page
            break
        if not posts:
            cov.reached_start = True             # a channel with nothing published
            break
        oldest = min(p.published_at for p in posts)
        newest = max(p.published_at for p in posts)
        cov.oldest_seen = oldest if cov.oldest_seen is None else min(cov.oldest_seen, oldest)
        cov.newest_seen = newest if cov.newest_seen is None else max(cov.newest_seen, newest)
        if oldest < start or cursor is None:
            cov.reached_start = True
            break
    return out, cov


async def fetch_range(cfg: Config, sources: list[Source], *, start: datetime, page_cap: int,
                      policy: FetchPolicy | None = None,
                      on_source_done: Callable[[Coverage], None] | None = None) -> tuple[list[SourceFetch], list[Coverage]]:
    """Fetch what each source still shows back to `start`. Telegram pages back; feeds and X are fetched once.
    `on_source_done` hears of each source as it finishes (for progress), in the order they finish."""
    def finished(cov: Coverage) -> None:
        if on_source_done is not None:
            on_source_done(cov)

    async def channel(s: Source) -> tuple[SourceFetch, Coverage]:
        try:
            fetched, cov = await fetch_channel_back_to(fetcher, cfg.endpoints.telegram, s.id, s.handle or "",
                                                       start=start, page_cap=page_cap)
        except Exception as e:       # one channel's failure is its own; the others go on
            fetched = SourceFetch(source_id=s.id, kind="telegram", error=f"{type(e).__name__}: {e}")
            cov = Coverage(s.id, "telegram", stopped_by="fetch error")
        finished(cov)
        return fetched, cov

    channels = [s for s in sources if s.kind == "telegram"]
    feeds = [s for s in sources if s.kind != "telegram"]
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


def keep_range(parsed: list[SourceParse], coverage: list[Coverage], start: datetime,
               end: datetime) -> list[SourceParse]:
    """Only the posts published in [start, end]; feeds' coverage is filled in from what they showed."""
    by_id = {c.source_id: c for c in coverage}
    kept = []
    for p in parsed:
        cov = by_id.get(p.source_id)
        if cov is not None and cov.kind != "telegram" and p.items:
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
    if cov.kind != "telegram":
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
    feed = "the X mirror feed" if cov.kind == "x" else "the feed"
    return (f"{cov.source_id}: {feed} keeps no history and {shown}; "
            f"earlier posts in the range cannot be backfilled")


MARKET_FILE_VENUES = ("kalshi", "polymarket", "manifold")


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
        if venue == "kalshi":
            return str(path), kalshi_parse.parse_market_file(payload, stamp)
        if venue == "polymarket":
            return str(path), polymarket_parse.parse_gamma_markets(payload, stamp)
        body_is_list = payload.lstrip()[:1] == b"["
        return str(path), (manifold_parse.parse_markets if body_is_list else manifold_parse.parse_market)(payload, stamp)
    except PayloadError as e:
        raise ValueError(f"market file {path}: {e}") from None


def import_market_files(con, specs: list[str], run_id: str, observed_at: datetime | None = None) -> dict:
    """Land the markets and prices of stored market files; elements that do not fit are quarantined.
    Landing is the hourly run's, so importing a file twice adds nothing twice."""
    read = [read_market_file(spec, observed_at) for spec in specs]     # every file read before anything lands
    markets = [m for _, r in read for m in r.markets]
    odds = [o for _, r in read for o in r.odds]
    rejects = [QuarantineRow("markets", "market_file", rej.reason, path, rej.locator, rej.raw[:2000])
               for path, r in read for rej in r.rejects]
    n_markets, n_odds = land_markets(con, run_id, markets, odds, observed_at=utcnow(),
                                     point_kinds=["snapshot"] * len(odds))
    quarantine(con, run_id, "parse", rejects)
    return dict(files=len(specs), markets=n_markets, new_odds=n_odds, rejected=len(rejects))
