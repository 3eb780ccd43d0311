"""Paging a channel's web preview back to what is already landed, within a page budget.

Each run walks ranges newest-first: the top of the channel down to the newest post landed, then any
gaps earlier runs left (page cap reached, or a page failed mid-way). Whatever it cannot reach is
recorded as a gap, so a later run fills it and nothing between two runs is skipped.
"""
from __future__ import annotations

from signal_desk.http import FetchError, Fetcher
from signal_desk.items import FetchRecord
from signal_desk.sources.fetching import SourceFetch
from signal_desk.sources.telegram.parse import scan


def channel_url(base: str, handle: str, before: int | None = None) -> str:
    url = f"{base}/s/{handle}"
    return f"{url}?before={before}" if before is not None else url


async def fetch_channel(fetcher: Fetcher, base: str, source_id: str, handle: str, *,
                        newest_landed: int | None, gaps: list[tuple[int, int]], page_cap: int) -> SourceFetch:
    out = SourceFetch(source_id=source_id, kind="telegram")
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
                out.pages.append(FetchRecord(source_id, url, _now(), e.status, e.body or None, e.reason))
                out.error = str(e)
                break
            if not _complete(resp.body):
                # A cut-off page hides its newest posts; landing the rest would move the cursor past them.
                out.pages.append(FetchRecord(source_id, resp.url, resp.fetched_at, resp.status, resp.body,
                                             "truncated page (no closing </html>)"))
                out.error = f"{resp.url}: truncated page (no closing </html>)"
                break
            out.pages.append(FetchRecord(source_id, resp.url, resp.fetched_at, resp.status, resp.body))
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


def _complete(body: bytes) -> bool:
    return body.rstrip()[-7:].lower() == b"</html>"


def _now():
    from signal_desk.db import utcnow
    return utcnow()
