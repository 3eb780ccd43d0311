"""Which watch list a report is for, and which window it covers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from cronsim import CronSim

from signal_desk.clock import as_utc
from signal_desk.config import ConfigError, Watchlist, WatchlistsFile, load_model


def load_watchlist(config_dir: str | Path, watchlist_id: str) -> Watchlist:
    path = Path(config_dir) / "watchlists.yaml"
    wls = load_model(path, WatchlistsFile).watchlists
    for wl in wls:
        if wl.id == watchlist_id:
            return wl
    raise ConfigError(f"{path}: no watch list {watchlist_id!r} (have: {', '.join(w.id for w in wls)})")


def scheduled_window_end(wl: Watchlist, now: datetime) -> datetime:
    """The latest time at or before `now` that the watch list's report cron names, in UTC."""
    local_now = as_utc(now).astimezone(ZoneInfo(wl.report.timezone)).replace(second=0, microsecond=0)
    # cronsim walks back from strictly before its start: start a minute on, so `now` itself can be the tick
    tick = next(CronSim(wl.report.cron, local_now + timedelta(minutes=1), reverse=True))
    return tick.astimezone(timezone.utc)
