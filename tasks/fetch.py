"""Network I/O only: the sources' pages, the markets' payloads, a backfill's range. Retried once as a
whole (the HTTP layer already retries transient errors per request); parsing is a later task."""
from __future__ import annotations

import asyncio
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db
from signal_desk.backfill import Coverage, fetch_range, progress_line
from signal_desk.config import Config
from signal_desk.http import FetchPolicy
from signal_desk.ingest import Cursor, fetch_sources
from signal_desk.markets_ingest import MarketFetch, fetch_markets, latest_odds, trade_cursors
from signal_desk.progress import Steps
from signal_desk.sources.fetching import SourceFetch

MINUTE = 60
# Every request is bounded by the fetch policy (90 s per source at most); the hosts' spacing across a
# thousand channels, ten pages each, is what takes time.
FETCH_TIMEOUT_S = 30 * MINUTE
# A backfill pages back up to 50 pages per channel, five times an hourly run's, and is started by hand.
FETCH_RANGE_TIMEOUT_S = 5 * 60 * MINUTE


@task(name="fetch-sources", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE, timeout_seconds=FETCH_TIMEOUT_S)
def fetch_task(cfg: Config, source_ids: list[str], cursors: dict[str, Cursor], policy: FetchPolicy,
               page_cap: int) -> list[SourceFetch]:
    log = get_run_logger()
    sources = [cfg.source(s) for s in source_ids]
    fetches = asyncio.run(fetch_sources(cfg, sources, cursors, policy=policy, page_cap=page_cap))
    pages = sum(len(f.pages) for f in fetches)
    failed = [f.source_id for f in fetches if f.error]
    log.info("fetched %d pages from %d sources (%d with errors)", pages, len(fetches), len(failed))
    for f in fetches:
        for note in f.notes:
            log.warning("%s: %s", f.source_id, note)
    return fetches


@task(name="fetch-markets", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE, timeout_seconds=FETCH_TIMEOUT_S)
def fetch_markets_task(cfg: Config, db_path: str, as_of: datetime | None, policy: FetchPolicy) -> list[MarketFetch]:
    log = get_run_logger()
    with db.writer(db_path) as con:
        latest = latest_odds(con)
        cursors = trade_cursors(con)
    fetches = asyncio.run(fetch_markets(cfg, latest, policy=policy, now=as_of, cursors=cursors))
    log.info("fetched %d market payloads for %d markets and searches",
             sum(len(f.payloads) for f in fetches), len(fetches))
    for f in fetches:
        if f.error:
            log.error("%s: %s", f.ref_key, f.error)
    return fetches


@task(name="fetch-range", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE,
      timeout_seconds=FETCH_RANGE_TIMEOUT_S)
def fetch_range_task(cfg: Config, source_ids: list[str], start: datetime, end: datetime, policy: FetchPolicy,
                     page_cap: int) -> tuple[list[SourceFetch], list[Coverage]]:
    log = get_run_logger()
    # Paging channels back is the long part: one progress step per source, saying how far back it got.
    with Steps(len(source_ids), "backfill source") as steps:
        fetches, coverage = asyncio.run(fetch_range(
            cfg, [cfg.source(s) for s in source_ids], start=start, page_cap=page_cap, policy=policy,
            on_source_done=lambda cov: steps.done(progress_line(cov, start, end))))
    log.info("fetched %d pages from %d sources", sum(len(f.pages) for f in fetches), len(fetches))
    for f in fetches:
        if f.error:
            log.error("%s: %s", f.source_id, f.error)
    return fetches, coverage
