"""An account's RSS from the first configured mirror instance that serves it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from signal_desk.http import FetchError, Fetcher
from signal_desk.sources.fetching import Cursor, SourceFetch, failed_page, fetched_page
from signal_desk.sources.xmirror.constants import KIND, instance_rss_url

if TYPE_CHECKING:
    from signal_desk.config import Endpoints, Source

# Enough of a body to tell a feed from an instance's HTML error page without parsing it.
_RSS_SNIFF_BYTES = 4096


async def fetch(fetcher: Fetcher, endpoints: Endpoints, src: Source, cursor: Cursor, *,
                page_cap: int) -> SourceFetch:
    """The source contract's fetch. Each instance is tried in turn: they come and go and often answer
    429. A mirror feed has no history to page, so `cursor` and `page_cap` do not apply."""
    out = SourceFetch(source_id=src.id, kind=KIND)
    failures = []
    for instance in endpoints.x_mirrors:
        url = instance_rss_url(instance, src.handle or "")
        try:
            resp = await fetcher.get(url)
        except FetchError as e:
            out.pages.append(failed_page(src.id, url, e))
            failures.append(f"{instance}: {e.reason}")
            continue
        if b"<rss" not in resp.body[:_RSS_SNIFF_BYTES]:
            out.pages.append(fetched_page(src.id, resp, "instance answered something other than RSS"))
            failures.append(f"{instance}: not RSS")
            continue
        out.pages.append(fetched_page(src.id, resp))
        if failures:
            out.notes.append("failed over: " + "; ".join(failures))
        return out
    out.error = "every mirror instance failed: " + "; ".join(failures)
    return out
