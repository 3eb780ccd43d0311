"""Parsing, no I/O: the sources' pages into items, the markets' payloads into markets and odds.
Never retried: a page that fails to parse fails the same way again."""
from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db
from signal_desk.config import Config
from signal_desk.ingest import SourceParse, parse_fetches
from signal_desk.markets_ingest import MarketFetch, MarketParse, parse_market_fetches
from signal_desk.sources.fetching import SourceFetch

PARSE_TIMEOUT_S = 15 * 60


@task(name="parse-sources", cache_policy=NO_CACHE, timeout_seconds=PARSE_TIMEOUT_S)
def parse_task(cfg: Config, fetches: list[SourceFetch]) -> list[SourceParse]:
    log = get_run_logger()
    parsed = parse_fetches(cfg, fetches)
    for p in parsed:
        if p.status == "error":
            log.error("%s: %s", p.source_id, p.error)
        elif p.status == "empty":
            log.warning("%s: fetched but parsed to zero posts", p.source_id)
    log.info("parsed %d items from %d sources", sum(len(p.items) for p in parsed), len(parsed))
    return parsed


@task(name="parse-markets", cache_policy=NO_CACHE, timeout_seconds=PARSE_TIMEOUT_S)
def parse_markets_task(cfg: Config, fetches: list[MarketFetch], as_of: datetime | None) -> MarketParse:
    log = get_run_logger()
    parsed = parse_market_fetches(cfg, fetches, as_of or db.utcnow())
    log.info("parsed %d markets, %d odds points, %d rejected elements, %d candidates",
             len(parsed.result.markets), len(parsed.result.odds), len(parsed.quarantined), len(parsed.candidates))
    if fetches and not parsed.result.markets:
        log.warning("no market parsed although %d were fetched", len(fetches))
    return parsed
