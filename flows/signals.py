"""The signal tables on their own.

`signals`: what the hourly run's compute-signals and signal-alerts steps do (annotate the new items,
group them, refresh the open stories' marts, send the alerts their changes owe), for when several ingest
runs write one DuckLake at once and the signals follow them, one at a time.

`recompute_signals`: after a watch list changed, re-annotate the items (all, or those published since
a date) with the current watch lists and rebuild every story's marts. Story assignments are kept.

    python -m flows.signals --config config --db var/desk.duckdb [--since 2026-06-01T00:00:00Z]
"""
from __future__ import annotations

import argparse
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed

from flows.policies import policy as fetch_policy
from flows.run_names import recompute_run_name, signals_run_name
from signal_desk import db, landing
from signal_desk.config import load_config
from signal_desk.signals.run import compute_signals, recompute
from tasks.alerts import alerts_task
from tasks.runs import RunStopped
from tasks.signals import latest_run_clock, recorded_run


MINUTE = 60
# Under the hour: the signals deployment runs hourly, one at a time (CANCEL_NEW), so a hung run would
# hold back every later one. A normal run takes seconds to a few minutes (embeddings on CPU).
SIGNALS_TIMEOUT_S = 50 * MINUTE
# On demand, over every item landed (or those since a date): hours at most on a large history.
RECOMPUTE_TIMEOUT_S = 6 * 60 * MINUTE


@flow(name="signals", flow_run_name=signals_run_name, log_prints=True, timeout_seconds=SIGNALS_TIMEOUT_S)
def signals(config_dir: str = "config", db_path: str = str(db.DEFAULT_DB), as_of: datetime | None = None) -> dict:
    """config_dir: folder with sources.yaml and watchlists.yaml. db_path: the database (a DuckDB file or a
    `ducklake:` setting). as_of: the clock the marts report against (default now)."""
    log = get_run_logger()
    cfg = load_config(config_dir)
    done = recorded_run(db_path, "signals", as_of, "computing signals",
                        lambda con, run_id, clock: compute_signals(con, cfg, run_id, clock))
    if isinstance(done, RunStopped):
        return Failed(message=done.message)
    run_id, clock, summary = done
    log.info("signals: %s", {k: v for k, v in summary.items() if not isinstance(v, (dict, list))})
    # In the several-workers layout the hourly runs leave the signals, and so their alerts, to this flow.
    alerts = alerts_task(cfg, db_path, run_id, clock, fetch_policy("internet"))
    if alerts["problems"]:
        failure = "alerts not delivered: " + "; ".join(alerts["problems"])
        with db.writer(db_path) as con:
            landing.finish_run(con, run_id, "failed", {"signals": summary, "alerts": alerts, "error": failure})
        return Failed(message=f"signals run {run_id}: {failure}")
    return {**summary, "alerts": alerts, "run_id": run_id}


@flow(name="recompute-signals", flow_run_name=recompute_run_name, log_prints=True, timeout_seconds=RECOMPUTE_TIMEOUT_S)
def recompute_signals(config_dir: str = "config", db_path: str = str(db.DEFAULT_DB),
                      since: datetime | None = None, as_of: datetime | None = None) -> dict:
    """config_dir: folder with sources.yaml and watchlists.yaml. db_path: the DuckDB file.
    since: re-annotate items published from then on (default: all). as_of: the clock the marts report
    against (default: that of the latest run recorded, so a replayed history keeps its own clock)."""
    log = get_run_logger()
    cfg = load_config(config_dir)
    done = recorded_run(db_path, "recompute-signals", as_of, "recomputing signals",
                        lambda con, run_id, clock: recompute(con, cfg, run_id, clock, since),
                        default_clock=latest_run_clock)
    if isinstance(done, RunStopped):
        return Failed(message=done.message)
    run_id, as_of, summary = done
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
