"""Growth: the hourly signal computation as history grows from 10^5 to 10^7 items.

One database grows through the sizes (see `bench.synthetic.HistoryBuilder`): the last watch-list
window of items is processed once by the real signals stage; older history repeats it back in time
with everything the stage wrote for it. At each size a few hours of new items are landed with the
real landing code and `compute_signals` is timed on each: its cost should follow the hour's new items
and the open stories, not the history. The largest database is left for the query benchmark.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.measure import INFO, MISSED, UNAVAILABLE, Row, judged, median
from bench.synthetic import HISTORY_NAMES, HistoryBuilder, synthetic_outlets, write_config

FULL_SIZES, QUICK_SIZES = (10**5, 10**6, 10**7), (10**4,)
HISTORY_END = datetime(2026, 6, 29, 0, 0, tzinfo=timezone.utc)
FLATNESS_TARGET = 2.0
# What the history holds beside its items (reported per size, so its proportions can be checked).
DESK_TABLES = ("runs", "item_annotations", "story_items", "markets", "odds_snapshots", "market_trades",
               "quarantine", "polls", "poll_results", "item_embeddings")


@dataclass(slots=True)
class Plan:
    sizes: tuple[int, ...]
    sources: int
    per_hour: int                   # new items an hour (and the history's density)
    hours_per_size: int


def plan(quick: bool) -> Plan:
    # The window's items must fit in the smallest history (250 an hour x 72 h = 18,000 < 10^5), and the
    # signals stage processes them once for real before the clock starts (~4 ms an item on 2 busy cores).
    return Plan(QUICK_SIZES, 20, 20, 2) if quick else Plan(FULL_SIZES, 100, 250, 3)


@dataclass(slots=True)
class HistoryDatabase:
    path: Path
    items: int
    signals_ready: bool


def _signals_entry():
    from signal_desk.signals.run import compute_signals
    return compute_signals


class MartTimes(logging.Handler):
    """The per-mart refresh times the signals stage logs ("signals: <summary>; marts <stats>"), to say
    which mart grows with the history when one does."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.last: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        stats = next((a for a in args if isinstance(a, dict) and a and
                      all(isinstance(v, dict) and "seconds" in v for v in a.values())), None)
        if stats is not None:
            self.last = {name: float(v["seconds"]) for name, v in stats.items()}

    @contextmanager
    def attached(self, logger_name: str = "signal_desk.signals.run"):
        logger = logging.getLogger(logger_name)
        level = logger.level
        logger.addHandler(self)
        logger.setLevel(logging.INFO)
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)


def build_and_measure(work: Path, *, quick: bool, command: str, measure: bool = True
                      ) -> tuple[list[Row], dict, HistoryDatabase]:
    """Grow the history database through the plan's sizes; with `measure`, time landing and signals for
    a few new hours at each size. Returns rows, details and the final database."""
    from signal_desk import db, landing
    from signal_desk.config import load_config

    p = plan(quick)
    rows: list[Row] = []

    def row(name: str, value: float | None, unit: str, **kw) -> None:
        rows.append(Row("growth", name, value, unit, command=command, **kw))

    cfg = load_config(write_config(work / "history-config", synthetic_outlets(p.sources, HISTORY_NAMES),
                                   "http://127.0.0.1:9"))
    window_hours = max((wl.window_hours for wl in cfg.watchlists), default=72)
    path = work / "history.duckdb"
    con = db.connect(path)
    con.execute("set preserve_insertion_order = false")
    builder = HistoryBuilder(con, sources=p.sources, per_hour=p.per_hour, window_hours=window_hours,
                             end=HISTORY_END)
    details: dict = {"sources": p.sources, "new_items_per_hour": p.per_hour, "window_hours": window_hours,
                     "sizes": {}}
    t0 = time.perf_counter()
    builder.add_window()
    details["window_seconds"] = time.perf_counter() - t0

    signals_error = None
    try:
        compute_signals = _signals_entry()
        t0 = time.perf_counter()
        first = compute_signals(con, cfg, "bench-history", HISTORY_END)
        details["window_signals_seconds"] = time.perf_counter() - t0
        details["window_signals_summary"] = first
        row(f"signals over the first window ({builder.window_items:,} items, once)",
            details["window_signals_seconds"], "s", note="the real stage builds the state older history copies")
    except Exception as e:      # the signals stage missing or failing: history still serves the query bench
        signals_error = f"{type(e).__name__}: {e}"
        row("signal computation", None, "s", status=UNAVAILABLE,
            note=f"signal_desk.signals.run.compute_signals: {signals_error}"[:400])

    per_size: dict[int, float] = {}
    for size in p.sizes:
        t0 = time.perf_counter()
        added = builder.grow_to(size)
        con.execute("checkpoint")
        build_s = time.perf_counter() - t0
        items = con.execute("select count(*) from items").fetchone()[0]
        table_rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in DESK_TABLES}
        entry: dict = {"items": items, "build_seconds": build_s, "rows_added": added, "table_rows": table_rows,
                       "copy_seconds_so_far": dict(builder.seconds), "db_mib": path.stat().st_size / 2**20,
                       "hours": []}
        details["sizes"][str(size)] = entry
        row(f"history {size:,}: build", build_s, "s",
            note=f"{items:,} items, {entry['db_mib']:,.0f} MiB file; rows: "
                 + ", ".join(f"{t} {n:,}" for t, n in table_rows.items()))
        if not measure or signals_error:
            continue
        for _ in range(p.hours_per_size):
            hour_end, new = builder.next_hour()
            run_id = f"bench-hour-{builder.hours_added}"
            t0 = time.perf_counter()
            landing.land_items(con, run_id, new, seen_at=hour_end)
            land_s = time.perf_counter() - t0
            marts = MartTimes()
            t0 = time.perf_counter()
            try:
                with marts.attached():
                    summary = compute_signals(con, cfg, run_id, hour_end)
            except Exception as e:
                signals_error = f"{type(e).__name__}: {e}"
                break
            entry["hours"].append({"land_s": land_s, "signals_s": time.perf_counter() - t0,
                                   "items": len(new), "summary": summary, "mart_seconds": marts.last})
        if signals_error:
            row(f"history {size:,}: signals for one hour", None, "s", status=MISSED, note=signals_error[:400])
            continue
        signal_times = [h["signals_s"] for h in entry["hours"]]
        land_times = [h["land_s"] for h in entry["hours"]]
        per_size[size] = median(signal_times)
        last = entry["hours"][-1]["summary"]
        phases = _median_by_key([h["summary"].get("phase_seconds") or {} for h in entry["hours"]])
        if phases:
            phases["outside the phases"] = median(
                [h["signals_s"] - sum((h["summary"].get("phase_seconds") or {}).values()) for h in entry["hours"]])
        entry["median_phase_seconds"] = phases
        entry["median_mart_seconds"] = _median_by_key([h["mart_seconds"] for h in entry["hours"]])
        row(f"history {size:,}: signals for one hour ({p.per_hour:,} new items)", per_size[size], "s",
            note=f"median of {len(signal_times)} hours, worst {max(signal_times):.2f} s; phases "
                 + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
                 + f"; {last.get('items_annotated')} annotated, {last.get('stories_in_scope')} stories in scope")
        row(f"history {size:,}: landing one hour's items", median(land_times), "s",
            note=f"worst {max(land_times):.2f} s (upsert into the items table)")
    con.execute("checkpoint")
    con.close()

    if len(per_size) >= 2:
        smallest, largest = min(per_size), max(per_size)
        ratio = per_size[largest] / per_size[smallest]
        row(f"signals cost at {largest:,} ÷ at {smallest:,} items of history", ratio, "×",
            target=f"≤ {FLATNESS_TARGET:g}×", status=judged(ratio <= FLATNESS_TARGET),
            note=_growth_note(details["sizes"][str(smallest)], details["sizes"][str(largest)]))
    elif per_size:
        row("signals cost flatness", None, "×", status=INFO, note="one history size only (quick run)")
    details["signals_error"] = signals_error
    final_items = max((e["items"] for e in details["sizes"].values()), default=0)
    return rows, details, HistoryDatabase(path, final_items, signals_error is None)


def _median_by_key(dicts: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for d in dicts for k in d]
    return {k: median([d[k] for d in dicts if k in d]) for k in dict.fromkeys(keys)}


def _growth_note(small: dict, large: dict) -> str:
    """Which phases and marts grew between the smallest and the largest history."""
    def grown(a: dict[str, float], b: dict[str, float]) -> list[str]:
        pairs = [(k, a.get(k, 0.0), v) for k, v in b.items()]
        pairs.sort(key=lambda x: x[2] - x[1], reverse=True)
        return [f"{k} {x:.2f}→{y:.2f} s" for k, x, y in pairs[:3] if y - x > 0.05]
    phases = grown(small.get("median_phase_seconds", {}), large.get("median_phase_seconds", {}))
    marts = grown(small.get("median_mart_seconds", {}), large.get("median_mart_seconds", {}))
    parts = []
    if phases:
        parts.append("grew: " + ", ".join(phases))
    if marts:
        parts.append("marts that grew: " + ", ".join(marts))
    return "; ".join(parts) or "no phase grew"


def run(*, quick: bool, command: str, work: Path) -> tuple[list[Row], dict, HistoryDatabase]:
    return build_and_measure(work, quick=quick, command=command)
