"""Drift alarms: a source whose output changed shape compared with its own recent runs.

A page that suddenly parses to zero posts is an alarm, not a quiet success. Compared per source with its
last runs (run_sources, and the field profile each call records in source_field_profiles):
- layout_change: the parser said "probable layout change";
- zero_items: nothing parsed this run where one of its recent runs parsed items;
- volume_drop: under a fifth of its recent median (with at least three recent successful runs);
- field_vanished:<field>: a field its recent items nearly always had is missing on every item this run
  (views on Telegram posts when the counter markup moves, author, lang, text).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

import duckdb

from signal_desk.clock import utcnow
from signal_desk.db import rollback_if_open

# field -> SQL condition under which an item "has" it
TRACKED_FIELDS: dict[str, str] = {
    "views": "views is not null",
    "author": "coalesce(author, '') <> ''",
    "lang": "coalesce(lang, '') <> ''",
    "text": "trim(text) <> ''",
}


@dataclass(frozen=True, slots=True)
class DriftAlert:
    source_id: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.source_id}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class _SourceRun:
    run_id: str
    items_parsed: int
    status: str
    error: str | None


def detect_drift(con: duckdb.DuckDBPyConnection, run_id: str, *, now: datetime | None = None,
                 history_runs: int = 6, min_history: int = 3, drop_ratio: float = 0.2,
                 filled_share: float = 0.9, min_items: int = 5) -> list[DriftAlert]:
    """Compare each source of run `run_id` with its previous `history_runs` runs; store and return alarms.

    Records this run's field profile first, so later runs have a history to compare with. Calling it
    again for the same run replaces that run's profile and alarms.
    """
    con.execute("begin")
    try:
        _record_profile(con, run_id)
        current = {sid: _SourceRun(run_id, n, status, error) for sid, n, status, error in con.execute(
            "select source_id, items_parsed, status, error from run_sources where run_id = ? order by source_id",
            [run_id]).fetchall()}
        history = _history(con, run_id, history_runs)
        profiles = _field_profiles(con, run_id, {sid: [p.run_id for p in history.get(sid, [])] for sid in current},
                                   min_history)
        alerts: list[DriftAlert] = []
        for source_id, run in current.items():
            past = history.get(source_id, [])
            alerts += _output_alerts(source_id, run, past, min_history, drop_ratio)
            alerts += _field_alerts(source_id, profiles.get(source_id, []), filled_share, min_items, min_history)
        raised_at = now or utcnow()
        con.execute("delete from drift_alerts where run_id = ?", [run_id])
        if alerts:
            con.executemany("insert into drift_alerts values (?, ?, ?, ?, ?)",
                            [(run_id, a.source_id, a.kind, a.detail, raised_at) for a in alerts])
        con.execute("commit")
    except Exception:
        rollback_if_open(con)
        raise
    return alerts


def _record_profile(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    filled = ", ".join(f"count(*) filter (where {cond}) as \"{name}\"" for name, cond in TRACKED_FIELDS.items())
    unpivoted = " union all ".join(
        f"select source_id, '{name}' as field, \"{name}\" as filled, total from counts" for name in TRACKED_FIELDS)
    con.execute("delete from source_field_profiles where run_id = ?", [run_id])
    con.execute(f"""
        insert into source_field_profiles
        with counts as (
            select source_id, count(*) as total, {filled} from items where last_run_id = $run group by source_id
        )
        select $run, source_id, field, filled, total from ({unpivoted})
    """, {"run": run_id})


def _history(con: duckdb.DuckDBPyConnection, run_id: str, limit: int) -> dict[str, list[_SourceRun]]:
    """Each source's previous runs, newest first (runs started before this one when start times are known)."""
    rows = con.execute("""
        select rs.source_id, rs.run_id, rs.items_parsed, rs.status, rs.error
        from run_sources rs
        left join runs r using (run_id)
        where rs.run_id <> $run
          and coalesce(r.flow, 'hourly') = coalesce((select flow from runs where run_id = $run), 'hourly')
          and rs.source_id in (select source_id from run_sources where run_id = $run)
          and (r.started_at is null
               or r.started_at < coalesce((select started_at from runs where run_id = $run), 'infinity'::timestamptz))
        qualify row_number() over (partition by rs.source_id
                                   order by r.started_at desc nulls last, rs.run_id desc) <= $limit
        order by rs.source_id, r.started_at desc nulls last, rs.run_id desc
    """, {"run": run_id, "limit": limit}).fetchall()
    history: dict[str, list[_SourceRun]] = {}
    for source_id, rid, n, status, error in rows:
        history.setdefault(source_id, []).append(_SourceRun(rid, n, status, error))
    return history


def _output_alerts(source_id: str, run: _SourceRun, past: list[_SourceRun], min_history: int,
                   drop_ratio: float) -> list[DriftAlert]:
    if run.error and "layout change" in run.error.lower():
        return [DriftAlert(source_id, "layout_change", f"the parser reports a probable layout change: {run.error}")]
    counts = ", ".join(str(p.items_parsed) for p in past)
    if run.items_parsed == 0 and any(p.items_parsed > 0 for p in past):
        why = f"status {run.status}" + (f": {run.error}" if run.error else "")
        return [DriftAlert(source_id, "zero_items",
                           f"parsed 0 items ({why}); its last {len(past)} runs parsed {counts}")]
    ok = [p.items_parsed for p in past if p.status == "ok"]
    if run.items_parsed > 0 and len(ok) >= min_history:
        median = statistics.median(ok)
        if run.items_parsed < drop_ratio * median:
            return [DriftAlert(source_id, "volume_drop",
                               f"parsed {run.items_parsed} items, under {drop_ratio:.0%} of its recent median "
                               f"{median:g} (last {len(past)} runs: {counts})")]
    return []


def _field_profiles(con: duckdb.DuckDBPyConnection, run_id: str, past_runs: dict[str, list[str]],
                    min_history: int) -> dict[str, list[tuple]]:
    """Per source with enough history, per field: filled and total items this run and in its past runs,
    and how many past runs had it. One query for all sources (one per source cost seconds at 1,000)."""
    pairs = [(sid, rid) for sid, runs in past_runs.items() if len(runs) >= min_history for rid in [run_id, *runs]]
    if not pairs:
        return {}
    rows = con.execute("""
        with wanted as (select unnest($sources) as source_id, unnest($runs) as run_id)
        select source_id, field,
               sum(filled) filter (where run_id = $run), sum(total) filter (where run_id = $run),
               sum(filled) filter (where run_id <> $run), sum(total) filter (where run_id <> $run),
               count(distinct run_id) filter (where run_id <> $run)
        from source_field_profiles
        semi join wanted using (source_id, run_id)
        group by source_id, field
        order by source_id, field
    """, {"run": run_id, "sources": [s for s, _ in pairs], "runs": [r for _, r in pairs]}).fetchall()
    found: dict[str, list[tuple]] = {}
    for source_id, *row in rows:
        found.setdefault(source_id, []).append(tuple(row))
    return found


def _field_alerts(source_id: str, rows: list[tuple], filled_share: float, min_items: int,
                  min_history: int) -> list[DriftAlert]:
    alerts = []
    for field, filled_now, total_now, filled_before, total_before, runs_before in rows:
        if not total_now or total_now < min_items or filled_now or not total_before or runs_before < min_history:
            continue
        if filled_before / total_before >= filled_share:
            alerts.append(DriftAlert(source_id, f"field_vanished:{field}",
                                     f"{field} missing on all {total_now} items this run; "
                                     f"{filled_before / total_before:.0%} of {total_before} items in its previous "
                                     f"{runs_before} runs had it"))
    return alerts
