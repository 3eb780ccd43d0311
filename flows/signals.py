"""The signal tables on their own.

`signals`: what the hourly run's compute-signals step does (annotate the new items, group them, refresh
the open stories' marts), for when several ingest runs write one DuckLake at once and the signals
follow them, one at a time.

`recompute_signals`: after a watch list changed, re-annotate the items (all, or those published since
a date) with the current watch lists and rebuild every story's marts. Story assignments are kept.

    python -m flows.signals --config config --db var/desk.duckdb [--since 2026-06-01T00:00:00Z]
"""
from __future__ import annotations

import argparse
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from tasks import db, landing
from tasks.config import load_config
from tasks.signals.run import compute_signals, recompute


@flow(name="signals", log_prints=True)
def signals(config_dir: str = "config", db_path: str = str(db.DEFAULT_DB), as_of: datetime | None = None) -> dict:
    """config_dir: folder with sources.yaml and watchlists.yaml. db_path: the database (a DuckDB file or a
    `ducklake:` setting). as_of: the clock the marts report against (default now)."""
    log = get_run_logger()
    cfg = load_config(config_dir)
    with db.writer(db_path) as con:
        run_id = landing.start_run(con, "signals", as_of)
        try:
            summary = compute_signals(con, cfg, run_id, as_of)
        except Exception as e:
            landing.finish_run(con, run_id, "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        landing.finish_run(con, run_id, "completed", {"signals": summary})
    db.publish_snapshot(db_path)
    log.info("signals: %s", {k: v for k, v in summary.items() if not isinstance(v, (dict, list))})
    return {**summary, "run_id": run_id}


@flow(name="recompute-signals", log_prints=True)
def recompute_signals(config_dir: str = "config", db_path: str = str(db.DEFAULT_DB),
                      since: datetime | None = None, as_of: datetime | None = None) -> dict:
    """config_dir: folder with sources.yaml and watchlists.yaml. db_path: the DuckDB file.
    since: re-annotate items published from then on (default: all). as_of: the clock the marts report
    against (default: that of the latest run recorded, so a replayed history keeps its own clock)."""
    log = get_run_logger()
    cfg = load_config(config_dir)
    with db.writer(db_path) as con:
        if as_of is None:
            row = con.execute("select max(as_of) from runs where as_of is not null").fetchone()
            as_of = row[0] if row and row[0] else db.utcnow()
        run_id = landing.start_run(con, "recompute-signals", as_of)
        try:
            summary = recompute(con, cfg, run_id, as_of, since)
        except Exception as e:
            landing.finish_run(con, run_id, "failed", {"error": f"{type(e).__name__}: {e}"})
            raise
        landing.finish_run(con, run_id, "completed", {"signals": summary})
    db.publish_snapshot(db_path)
    log.info("recomputed signals: %s", summary)
    create_markdown_artifact(
        f"# Signals recomputed\n\nrun `{run_id}`, as of {as_of}, since {since or 'the beginning'}\n\n"
        + "\n".join(f"- **{k}**: {v}" for k, v in summary.items()),
        key="recompute-signals", description=f"recompute-signals run {run_id}")
    return {**summary, "run_id": run_id}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Re-annotate items and rebuild the signal marts.")
    ap.add_argument("--config", default="config")
    ap.add_argument("--db", default=str(db.DEFAULT_DB))
    ap.add_argument("--since", type=datetime.fromisoformat, default=None,
                    help="re-annotate items published from this ISO-8601 time on (default: all)")
    args = ap.parse_args(argv)
    print(recompute_signals(config_dir=args.config, db_path=args.db, since=args.since))


if __name__ == "__main__":
    main()
