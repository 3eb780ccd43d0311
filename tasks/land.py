"""Landing: raw payloads, items and markets into the database, each step one write connection."""
from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from signal_desk import db, landing
from signal_desk.failpoints import failpoint
from signal_desk.ingest import SourceParse
from signal_desk.markets_ingest import MarketFetch, MarketParse, land_candidates
from signal_desk.sources.fetching import SourceFetch

WRITE_TIMEOUT_S = 15 * 60        # one landing step: a few bulk statements


@task(name="land-raw", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_raw_task(db_path: str, run_id: str, fetches: list[SourceFetch], market_fetches: list[MarketFetch]) -> int:
    records = [p for f in fetches for p in f.pages] + [p.record for f in market_fetches for p in f.payloads]
    with db.writer(db_path) as con:
        n = landing.land_fetches(con, run_id, records)
        failpoint("after-land-raw")
    get_run_logger().info("landed %d raw fetches: %d source pages, %d market payloads",
                          n, sum(len(f.pages) for f in fetches), n - sum(len(f.pages) for f in fetches))
    return n


@task(name="land-items", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_items_task(db_path: str, run_id: str, fetches: list[SourceFetch], parsed: list[SourceParse]) -> list[dict]:
    log = get_run_logger()
    for f in fetches:
        for before, until in f.gaps_opened:
            log.warning("%s: posts between ids %d and %d not reached this run; the next run fills the gap",
                        f.source_id, until, before)
    with db.writer(db_path) as con:
        rows = landing.land_parsed_sources(con, run_id, fetches, parsed)
    log.info("landed: %d new, %d updated items", sum(r["items_new"] for r in rows),
             sum(r["items_updated"] for r in rows))
    return rows


@task(name="land-markets", cache_policy=NO_CACHE, timeout_seconds=WRITE_TIMEOUT_S)
def land_markets_task(db_path: str, run_id: str, parsed: MarketParse) -> dict:
    with db.writer(db_path) as con:
        n_markets, n_odds = landing.land_markets(con, run_id, parsed.result.markets, parsed.result.odds,
                                                 point_kinds=parsed.point_kinds)
        n_trades = landing.land_trades(con, run_id, parsed.result.trades, parsed.trade_windows)
        landing.quarantine(con, run_id, "parse", parsed.quarantined)
        n_candidates = db.transaction(con, lambda: land_candidates(con, parsed.candidates, db.utcnow()),
                                      what="proposing market candidates")
    get_run_logger().info("landed %d markets, %d new odds points, %d new trades, %d rejected elements "
                          "quarantined, %d new market candidates", n_markets, n_odds, n_trades,
                          len(parsed.quarantined), n_candidates)
    return dict(markets=n_markets, new_odds=n_odds, new_trades=n_trades, rejected=len(parsed.quarantined),
                new_candidates=n_candidates, errors=parsed.errors)


def import_market_files(db_path: str, specs: list[str]) -> dict:
    """Land stored market files (`venue:path`) as a run of their own, and publish the snapshot. Called
    by `./run backfill --market-file`, outside Prefect: landing is the hourly run's, so importing a file
    twice adds nothing twice."""
    from signal_desk.backfill import read_market_files
    with db.writer(db_path) as con:
        run_id = landing.start_run(con, "backfill-market-files", None)
        try:
            markets, odds, rejects = read_market_files(specs)
            n_markets, n_odds = landing.land_markets(con, run_id, markets, odds, observed_at=db.utcnow(),
                                                     point_kinds=["snapshot"] * len(odds))
            landing.quarantine(con, run_id, "parse", rejects)
        except Exception as error:
            landing.finish_run(con, run_id, "failed", {"error": f"{type(error).__name__}: {error}"})
            raise
        summary = dict(files=len(specs), markets=n_markets, new_odds=n_odds, rejected=len(rejects))
        landing.finish_run(con, run_id, "completed", summary)
    db.publish_snapshot(db_path)
    return {**summary, "run_id": run_id}
