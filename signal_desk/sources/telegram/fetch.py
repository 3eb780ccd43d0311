"""Paging a channel's web preview, within a page budget: back to what is already landed (hourly), or
back in time to a date (backfill).

Each hourly run walks ranges newest-first: the top of the channel down to the newest post landed, then
any gaps earlier runs left (page cap reached, or a page failed mid-way). Whatever it cannot reach is
recorded as a gap, so a later run fills it and nothing between two runs is skipped.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from signal_desk.http import FetchError, Fetcher
from signal_desk.items import PayloadError
from signal_desk.sources.fetching import Coverage, Cursor, SourceFetch, failed_page, fetched_page
from signal_desk.sources.telegram.constants import KIND, channel_url
from signal_desk.sources.telegram.parse import parse, scan

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, Source


async def fetch(fetcher: Fetcher, endpoints: Endpoints, src: Source, cursor: Cursor, *,
                page_cap: int) -> SourceFetch:
    """The source contract's fetch: a channel from its top down to its cursor."""
    return await fetch_channel(fetcher, endpoints.telegram, src.id, src.handle or "",
                               newest_landed=cursor.newest_id, gaps=cursor.gaps, page_cap=page_cap)


async def fetch_back(fetcher: Fetcher, endpoints: Endpoints, src: Source, *, start: datetime,
                     page_cap: int) -> tuple[SourceFetch, Coverage]:
    """The source contract's backfill fetch: a channel from its top back to `start`."""
    return await fetch_channel_back_to(fetcher, endpoints.telegram, src.id, src.handle or "",
                                       start=start, page_cap=page_cap)


async def fetch_channel(fetcher: Fetcher, base: str, source_id: str, handle: str, *,
                        newest_landed: int | None, gaps: list[tuple[int, int]], page_cap: int) -> SourceFetch:
    out = SourceFetch(source_id=source_id, kind=KIND)
    budget = page_cap
    ranges: list[tuple[int | None, int | None, bool]] = [(None, newest_landed, False)]
    ranges += [(before, until, True) for before, until in gaps]
    for before, until, is_gap in ranges:
        cursor = before
        reached = False
        while budget > 0:
            url = channel_url(base, handle, cursor)
            budget -= 1
            try:
                resp = await fetcher.get(url)
            except FetchError as e:
                out.pages.append(failed_page(source_id, url, e))
                out.error = str(e)
                break
            if not _complete(resp.body):
                # A cut-off page hides its newest posts; landing the rest would move the cursor past them.
                out.pages.append(fetched_page(source_id, resp, "truncated page (no closing </html>)"))
                out.error = f"{resp.url}: truncated page (no closing </html>)"
                break
            out.pages.append(fetched_page(source_id, resp))
            page = scan(resp.body)
            if not page.is_preview_page or not page.post_ids:
                reached = True     # nothing to page through; the parse step says why
                break
            if until is not None and min(page.post_ids) <= until:
                reached = True
                break
            if page.before is None or (until is not None and page.before - 1 <= until):
                reached = True     # the channel's first post, or no id left between here and the landed ones
                break
            cursor = page.before
        if is_gap and reached:
            out.gaps_closed.append(before)
        elif not reached and until is not None and cursor is not None:
            if is_gap:
                out.gaps_closed.append(before)
            out.gaps_opened.append((cursor, until))
        if out.error:
            # Later ranges stay as they were (still recorded as gaps); don't hammer a failing channel.
            break
    return out


async def fetch_channel_back_to(fetcher: Fetcher, base: str, source_id: str, handle: str, *, start: datetime,
                                page_cap: int) -> tuple[SourceFetch, Coverage]:
    """Page a channel's preview from the newest post back until a page shows a post older than `start`.
    Paging by time needs the posts' dates, so each page is parsed here (pure, no I/O)."""
    out = SourceFetch(source_id=source_id, kind=KIND)
    cov = Coverage(source_id=source_id, kind=KIND)
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
            out.pages.append(failed_page(source_id, url, e))
            out.error = str(e)
            cov.stopped_by = "fetch error"
            break
        out.pages.append(fetched_page(source_id, resp))
        try:
            cursor, posts = parse(resp.body, handle)
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


def _complete(body: bytes) -> bool:
    return body.rstrip()[-7:].lower() == b"</html>"
