"""Fetch and parse for the post-like sources (Telegram previews, X mirrors, RSS feeds).

Network I/O and parsing are separate steps so each can be retried or rerun alone: `fetch_sources`
only talks HTTP (and peeks at Telegram pages for paging), `parse_fetches` does no I/O (it only adds a
gap to a Telegram fetch for a post it could not read, so the landing step keeps that id for later runs).
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from signal_desk.config import Config, Source, redact_secrets
from signal_desk.http import FetchError, Fetcher, FetchPolicy
from signal_desk.items import Item, PayloadError
from signal_desk.items import FetchRecord, QuarantineRow
from signal_desk.sources.fetching import SourceFetch


@dataclass(slots=True)
class Cursor:
    newest_id: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class SourceParse:
    source_id: str
    kind: str
    items: list[Item] = field(default_factory=list)
    rejects: list[QuarantineRow] = field(default_factory=list)
    status: str = "ok"            # ok | empty | error
    error: str | None = None


def load_cursors(con: duckdb.DuckDBPyConnection, source_ids: list[str]) -> dict[str, Cursor]:
    cursors = {sid: Cursor() for sid in source_ids}
    for sid, newest in con.execute("""
        select source_id, max(try_cast(item_id as bigint)) from items
        where kind = 'telegram' group by source_id
    """).fetchall():
        if sid in cursors:
            cursors[sid].newest_id = newest
    for sid, before, until in con.execute(
            "select source_id, before_id, until_id from source_gaps order by source_id, before_id desc").fetchall():
        if sid in cursors:
            cursors[sid].gaps.append((before, until))
    return cursors


async def _fetch_telegram(fetcher: Fetcher, cfg: Config, src: Source, cursor: Cursor, page_cap: int) -> SourceFetch:
    from signal_desk.sources.telegram.fetch import fetch_channel
    return await fetch_channel(fetcher, cfg.endpoints.telegram, src.id, src.handle or "",
                               newest_landed=cursor.newest_id, gaps=cursor.gaps, page_cap=page_cap)


async def _fetch_x(fetcher: Fetcher, cfg: Config, src: Source) -> SourceFetch:
    """Try each configured mirror instance in turn: they come and go and often answer 429."""
    from signal_desk.sources.xmirror.parse import instance_rss_url
    out = SourceFetch(source_id=src.id, kind="x")
    failures = []
    for instance in cfg.endpoints.x_mirrors:
        url = instance_rss_url(instance, src.handle or "")
        try:
            resp = await fetcher.get(url)
        except FetchError as e:
            out.pages.append(FetchRecord(src.id, url, _now(), e.status, e.body or None, e.reason))
            failures.append(f"{instance}: {e.reason}")
            continue
        if b"<rss" not in resp.body[:4096]:
            out.pages.append(FetchRecord(src.id, url, resp.fetched_at, resp.status, resp.body,
                                         "instance answered something other than RSS"))
            failures.append(f"{instance}: not RSS")
            continue
        out.pages.append(FetchRecord(src.id, resp.url, resp.fetched_at, resp.status, resp.body))
        if failures:
            out.notes.append("failed over: " + "; ".join(failures))
        return out
    out.error = "every mirror instance failed: " + "; ".join(failures)
    return out


async def _fetch_rss(fetcher: Fetcher, src: Source) -> SourceFetch:
    out = SourceFetch(source_id=src.id, kind="rss")
    try:
        resp = await fetcher.get(src.url or "")
    except FetchError as e:
        out.pages.append(FetchRecord(src.id, src.url or "", _now(), e.status, e.body or None, e.reason))
        out.error = str(e)
        return out
    out.pages.append(FetchRecord(src.id, resp.url, resp.fetched_at, resp.status, resp.body))
    return out


async def fetch_sources(cfg: Config, sources: list[Source], cursors: dict[str, Cursor], *,
                        policy: FetchPolicy | None = None, page_cap: int = 10) -> list[SourceFetch]:
    async with Fetcher(policy) as fetcher:
        jobs = []
        for src in sources:
            if src.kind == "telegram":
                jobs.append(_fetch_telegram(fetcher, cfg, src, cursors.get(src.id, Cursor()), page_cap))
            elif src.kind == "x":
                jobs.append(_fetch_x(fetcher, cfg, src))
            else:
                jobs.append(_fetch_rss(fetcher, src))
        results = await asyncio.gather(*jobs, return_exceptions=True)
    out = []
    for src, res in zip(sources, results):
        if isinstance(res, BaseException):
            res = SourceFetch(source_id=src.id, kind=src.kind, error=redact_secrets(f"{type(res).__name__}: {res}"))
        out.append(res)
    return out


def _parse_telegram(fetch: SourceFetch, src: Source) -> SourceParse:
    from signal_desk.sources.telegram.exceptions import ChannelNotFound, LayoutChanged
    from signal_desk.sources.telegram.parse import parse_page
    result = SourceParse(fetch.source_id, "telegram")
    seen: dict[int, Item] = {}
    unreadable: dict[int, tuple[str, str, str]] = {}     # post id -> (page url, reason, the post's markup)
    for page in fetch.ok_pages:
        try:
            parsed = parse_page(page.body, src.handle)
        except ChannelNotFound as e:
            result.status, result.error = "error", f"no public preview: {e}"
            return result
        except LayoutChanged as e:
            result.status, result.error = "error", f"probable layout change at {page.url}: {e}"
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_layout", str(e), fetch.source_id,
                                                page.url, None))
            return result
        except PayloadError as e:
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_page", str(e), fetch.source_id,
                                                page.url, None))
            continue
        for post in parsed.posts:
            if post.published_at is None:
                # A single-post page that shows no message widget: landing it would need a guessed date.
                result.rejects.append(QuarantineRow(
                    "items", "telegram_post_time", f"post {post.post_id}: the single-post page carries no "
                    "time (text from og:description only); not landed rather than dated by guess",
                    fetch.source_id, post.url, post.text))
                continue
            item = post.to_item(fetch.source_id)
            item.lang = item.lang or src.language
            seen[post.post_id] = item
        for bad in parsed.unreadable:
            unreadable.setdefault(bad.post_id, (page.url, bad.reason, bad.raw))
    unreadable = {post_id: why for post_id, why in unreadable.items() if post_id not in seen}
    if unreadable:
        # The posts around it land and move the cursor past it: keep its id as a gap, so every run
        # tries it again (and says so) until it lands.
        for post_id, (url, reason, raw) in sorted(unreadable.items()):
            fetch.gaps_opened.append((post_id + 1, post_id - 1))
            result.rejects.append(QuarantineRow("raw_fetches", "telegram_post", f"post {post_id}: {reason}",
                                                fetch.source_id, f"{url}#{post_id}", raw))
        which = "; ".join(f"post {post_id} on {url}" for post_id, (url, _, _) in sorted(unreadable.items()))
        result.status = "error"
        result.error = (f"{len(unreadable)} post(s) could not be read and did not land (quarantined, kept as "
                        f"gaps for the next run): {which}")
    result.items = list(seen.values())
    return result


def _parse_feed(fetch: SourceFetch, src: Source) -> SourceParse:
    result = SourceParse(fetch.source_id, fetch.kind)
    for page in fetch.ok_pages[-1:]:
        try:
            if fetch.kind == "x":
                from signal_desk.sources.xmirror.parse import parse_nitter_rss
                items, rejects = parse_nitter_rss(page.body, source_id=src.id, account=src.handle or "",
                                                  instance_url=page.url)
            else:
                from signal_desk.sources.rss.parse import parse_feed
                items, rejects = parse_feed(page.body, source_id=src.id, feed_url=page.url)
        except PayloadError as e:
            result.status, result.error = "error", str(e)
            result.rejects.append(QuarantineRow("raw_fetches", f"{fetch.kind}_payload", str(e), src.id, page.url))
            return result
        for it in items:
            it.lang = it.lang or src.language
        result.items = items
        if not page.body.rstrip().endswith((b"</rss>", b"</feed>", b"</rdf:RDF>")):
            # Feeds have no cursor, so the entries that did parse can land; the rest come next run.
            result.status, result.error = "error", f"{page.url}: truncated feed (the document ends early)"
        result.rejects = [QuarantineRow("items", f"{fetch.kind}_entry", r.reason, src.id, r.locator, r.raw)
                          for r in rejects]
    return result


def parse_fetches(cfg: Config, fetches: list[SourceFetch]) -> list[SourceParse]:
    parsed = []
    for f in fetches:
        src = cfg.source(f.source_id)
        p = _parse_telegram(f, src) if f.kind == "telegram" else _parse_feed(f, src)
        if f.error and p.status == "ok":
            p.status, p.error = ("error", f.error) if not p.items else ("ok", f.error)
        elif p.status == "ok" and not p.items and f.ok_pages:
            p.status = "empty"
        parsed.append(p)
    return parsed


def by_source(rows) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for r in rows:
        out[r.source_id].append(r)
    return out


def _now():
    from signal_desk.db import utcnow
    return utcnow()
