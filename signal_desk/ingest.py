"""Fetch and parse for the post-like sources (Telegram previews, X mirrors, RSS feeds).

Network I/O and parsing are separate steps so each can be retried or rerun alone: `fetch_sources`
only talks HTTP (paging peeks at the pages it got), `parse_fetches` does no I/O (it only adds a gap
to a fetch for a post it could not read, so the landing step keeps that id for later runs). Each
source's own code is its package's, found through `signal_desk.sources.registry` by the source's kind.
"""
from __future__ import annotations

import asyncio

import duckdb

from signal_desk.config import Config, Source, redact_secrets
from signal_desk.http import Fetcher, FetchPolicy
from signal_desk.sources.fetching import Cursor, SourceFetch
from signal_desk.sources.parsing import SourceParse
from signal_desk.sources.registry import POST_SOURCES, post_source

__all__ = ["Cursor", "SourceParse", "fetch_sources", "load_cursors", "parse_fetches"]


def load_cursors(con: duckdb.DuckDBPyConnection, source_ids: list[str]) -> dict[str, Cursor]:
    cursors = {sid: Cursor() for sid in source_ids}
    kinds = [s.kind for s in POST_SOURCES.values() if s.id_cursor]
    if kinds:
        for sid, newest in con.execute(f"""
            select source_id, max(try_cast(item_id as bigint)) from items
            where kind in ({", ".join("?" for _ in kinds)}) group by source_id
        """, kinds).fetchall():
            if sid in cursors:
                cursors[sid].newest_id = newest
    for sid, before, until in con.execute(
            "select source_id, before_id, until_id from source_gaps order by source_id, before_id desc").fetchall():
        if sid in cursors:
            cursors[sid].gaps.append((before, until))
    return cursors


async def fetch_sources(cfg: Config, sources: list[Source], cursors: dict[str, Cursor], *,
                        policy: FetchPolicy | None = None, page_cap: int = 10) -> list[SourceFetch]:
    async with Fetcher(policy) as fetcher:
        jobs = [post_source(src.kind).fetch(fetcher, cfg.endpoints, src, cursors.get(src.id, Cursor()),
                                            page_cap=page_cap)
                for src in sources]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    out = []
    for src, res in zip(sources, results):
        if isinstance(res, BaseException):
            res = SourceFetch(source_id=src.id, kind=src.kind, error=redact_secrets(f"{type(res).__name__}: {res}"))
        out.append(res)
    return out


def parse_fetches(cfg: Config, fetches: list[SourceFetch]) -> list[SourceParse]:
    parsed = []
    for f in fetches:
        p = post_source(f.kind).parse(f, cfg.source(f.source_id))
        if f.error and p.status == "ok":
            p.status, p.error = ("error", f.error) if not p.items else ("ok", f.error)
        elif p.status == "ok" and not p.items and f.ok_pages:
            p.status = "empty"
        parsed.append(p)
    return parsed

