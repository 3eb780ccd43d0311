"""What a flow run is called in Prefect.

Prefect names a run when it starts, by calling the flow's `flow_run_name` with the run's parameters in
its context (those given explicitly; the flow's defaults are not among them). A name is a label, so a
parameter it cannot read gives a plainer name rather than a failed run.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prefect.runtime import flow_run

from signal_desk.clock import parse_utc, utcnow

MAX_NAMED_SOURCES = 3


def _never_failing(flow_name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """A name that cannot be made is the flow's plain name, logged, rather than a crashed run."""
    def wrap(name: Callable[[], str]) -> Callable[[], str]:
        @functools.wraps(name)
        def safe() -> str:
            try:
                return name()
            except Exception as error:
                logging.getLogger(__name__).warning("%s run: no descriptive name (%s: %s)",
                                                    flow_name, type(error).__name__, error)
                return flow_name
        return safe
    return wrap


def _parameters() -> dict[str, Any]:
    return flow_run.get_parameters() or {}


def _minute(value: Any, default: str) -> str:
    when = parse_utc(value)
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else default


def _sources(ids: Any) -> str:
    if not ids:
        return ""
    ids = [str(i) for i in ids]
    if len(ids) <= MAX_NAMED_SOURCES:
        return f" · {', '.join(ids)}"
    return f" · {len(ids)} sources"


@_never_failing("hourly")
def hourly_run_name() -> str:
    """'hourly 2026-07-01 08:00 UTC': the clock the run reports against, which without as_of is the time
    the run was scheduled for (the hour, for the deployment's schedule); with the part or the sources
    when only some."""
    p = _parameters()
    clock = _minute(p.get("as_of"), "") or _minute(flow_run.get_scheduled_start_time(), "now")
    part = f" · part {p['part']}" if p.get("part") else ""
    return f"hourly {clock}{part}{_sources(p.get('source_ids'))}"


@_never_failing("backfill")
def backfill_run_name() -> str:
    """'backfill 2026-06-01 00:00 UTC – 2026-06-03 00:00 UTC', with the sources when only some."""
    p = _parameters()
    return (f"backfill {_minute(p.get('start'), '?')} – {_minute(p.get('end'), '?')}"
            f"{_sources(p.get('source_ids'))}")


@_never_failing("signals")
def signals_run_name() -> str:
    """'signals as of 2026-07-01 08:00 UTC' (now unless the run was given a clock)."""
    return f"signals as of {_minute(_parameters().get('as_of'), 'now')}"


@_never_failing("recompute-signals")
def recompute_run_name() -> str:
    """'recompute-signals since 2026-06-01 00:00 UTC' (or 'since the beginning')."""
    return f"recompute-signals since {_minute(_parameters().get('since'), 'the beginning')}"


@_never_failing("report")
def report_run_name() -> str:
    """'report us-iran-talks 2026-06-28 06:00 – 2026-07-01 06:00 UTC': the watch list and the window the
    run builds, which ends at as_of or else at the watch list's latest scheduled time (from its config)."""
    from signal_desk.report.schedule import load_watchlist, scheduled_window_end
    p = _parameters()
    watchlist_id = p.get("watchlist_id", "?")
    end = parse_utc(p.get("as_of"))
    try:
        wl = load_watchlist(p.get("config_dir", "config"), watchlist_id)
    except Exception:   # a bad config fails the run itself, with its own message
        return f"report {watchlist_id}, window ending {end:%Y-%m-%d %H:%M} UTC" if end else f"report {watchlist_id}"
    end = (end or scheduled_window_end(wl, utcnow())).replace(second=0, microsecond=0)
    start = end - timedelta(hours=wl.window_hours)
    return f"report {watchlist_id} {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"
