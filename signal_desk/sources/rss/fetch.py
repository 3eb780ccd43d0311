"""A feed is one document at its source's URL, fetched once a run."""
from __future__ import annotations

from typing import TYPE_CHECKING

from signal_desk.http import FetchError, Fetcher
from signal_desk.sources.fetching import Cursor, SourceFetch, failed_page, fetched_page
from signal_desk.sources.rss.constants import KIND

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, Source


async def fetch(fetcher: Fetcher, endpoints: Endpoints, src: Source, cursor: Cursor, *,
                page_cap: int) -> SourceFetch:
    """The source contract's fetch. A feed has no history to page, so `cursor` and `page_cap` do not apply."""
    out = SourceFetch(source_id=src.id, kind=KIND)
    url = src.url or ""
    try:
        resp = await fetcher.get(url)
    except FetchError as e:
        out.pages.append(failed_page(src.id, url, e))
        out.error = str(e)
        return out
    out.pages.append(fetched_page(src.id, resp))
    return out
