"""Validate what one run landed, with the GX suites in expectations/, and quarantine failing rows.

The rows a run landed or updated are pulled from DuckDB as pandas frames (with a `record_key` and the
derived columns each suite's meta describes) and validated by one GX ephemeral context per process:
importing GX costs seconds, so the context, its data source and its validation definitions are built
once and reused. Failing rows are logged to `quarantine` (stage 'validate'); nothing landed is deleted.
"""
from __future__ import annotations

import json
import math
import threading
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any, Callable

import duckdb
import numpy as np
import pandas as pd

from signal_desk.clock import utcnow
from signal_desk.db import rollback_if_open
from signal_desk.items import QuarantineRow
from signal_desk.landing import quarantine
from signal_desk.validate.suites import EXPECTATIONS_DIR, TABLES, ExpectationSpec, SuiteSpec, load_suites

STAGE = "validate"
UNIQUENESS_CHECKS = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
SAMPLE_SIZE = 20


class CriticalValidationError(RuntimeError):
    """A run whose landed rows broke a critical expectation (raised by the flow after recording it)."""


@dataclass(slots=True)
class TableValidation:
    table: str
    rows: int
    checks: int
    failed_checks: int = 0
    quarantined_rows: int = 0
    gx_seconds: float = 0.0


@dataclass(slots=True)
class CheckFailure:
    table: str
    expectation: str
    severity: str
    unexpected_count: int
    description: str
    sample_keys: list[str] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        what = f"check could not run: {self.error}" if self.error else f"{self.unexpected_count} row(s)"
        sample = f" (e.g. {', '.join(self.sample_keys[:3])})" if self.sample_keys else ""
        return f"{self.table} {self.expectation}: {what}: {self.description}{sample}"


@dataclass(slots=True)
class ValidationSummary:
    run_id: str
    tables: dict[str, TableValidation]
    failures: list[CheckFailure]
    quarantined: int
    seconds: float
    setup_seconds: float            # GX import + context built by this call (0 once the process has one)

    @property
    def critical(self) -> list[str]:
        return [f.line() for f in self.failures if f.severity == "critical"]

    @property
    def warnings(self) -> list[str]:
        return [f.line() for f in self.failures if f.severity != "critical"]

    def failures_by_expectation(self) -> dict[str, int]:
        return {f"{f.table} {f.expectation}": f.unexpected_count for f in self.failures}

    def raise_for_critical(self) -> None:
        if self.critical:
            raise CriticalValidationError(f"run {self.run_id}: critical validation failures: "
                                          + "; ".join(self.critical))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": {t.table: t.rows for t in self.tables.values()},
            "quarantined": self.quarantined,
            "failures": self.failures_by_expectation(),
            "critical": self.critical,
            "seconds": round(self.seconds, 3),
            "tables": [asdict(t) for t in self.tables.values()],
        }


# --- one GX context per process -------------------------------------------------------------------------

class GxValidator:
    """An ephemeral GX context with one pandas dataframe asset and validation definition per suite."""

    def __init__(self, suites: dict[str, SuiteSpec]):
        started = perf_counter()
        import great_expectations as gx
        from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                                 ProgressBarsConfig)
        from signal_desk.validate.suites import to_gx_suite

        self.import_seconds = perf_counter() - started
        started = perf_counter()
        self.suites = suites
        self.context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False)))
        frames = self.context.data_sources.add_pandas("run_rows")
        self._definitions = {}
        for table, spec in suites.items():
            batch = frames.add_dataframe_asset(table).add_batch_definition_whole_dataframe(f"{table}-whole")
            suite = self.context.suites.add(to_gx_suite(spec))
            self._definitions[table] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{table}-run-rows", data=batch, suite=suite))
        self.context_seconds = perf_counter() - started
        self._lock = threading.Lock()

    def validate(self, table: str, frame: pd.DataFrame, parameters: dict[str, Any]) -> list[Any]:
        with self._lock:     # one GX context is not safe to drive from two threads at once
            result = self._definitions[table].run(
                batch_parameters={"dataframe": frame},
                expectation_parameters=parameters,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["record_key"]},
            )
        return list(result.results)


_VALIDATORS: dict[Path, GxValidator] = {}
_VALIDATORS_LOCK = threading.Lock()


def gx_validator(directory: Path | str = EXPECTATIONS_DIR) -> tuple[GxValidator, bool]:
    """The process's validator for a suites directory; the flag says whether this call built it."""
    key = Path(directory).resolve()
    with _VALIDATORS_LOCK:
        if key in _VALIDATORS:
            return _VALIDATORS[key], False
        validator = GxValidator(load_suites(key))
        _VALIDATORS[key] = validator
        return validator, True


# --- the rows a run landed, as frames --------------------------------------------------------------------

def _query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict) -> pd.DataFrame:
    with warnings.catch_warnings():
        # duckdb's pandas conversion trips a pandas 3.1 deprecation (drop(inplace=)) that is not ours to fix
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        return con.execute(sql, params).df()


def _items_frame(con: duckdb.DuckDBPyConnection, run_id: str, registers: dict[str, str]) -> pd.DataFrame:
    return _query_frame(con, """
        with configured as (select unnest(?::varchar[]) as source_id, unnest(?::varchar[]) as register)
        select i.source_id || '/' || i.item_id as record_key, i.*,
               (not i.is_service and coalesce(len(i.media_kinds), 0) = 0) as text_required,
               lower(regexp_extract(i.lang, '^[^-_]*')) as lang_primary,
               configured.register as source_register
        from items i
        left join configured using (source_id)
        where i.changed_run_id = ?
        order by i.source_id, i.item_id
    """, [list(registers), list(registers.values()), run_id])


def _markets_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    # markets carry no run id: "updated by this run" is updated_at within the run, or odds landed by it
    return _query_frame(con, """
        select m.venue || '/' || m.market_id as record_key, m.*, len(m.outcomes) as outcome_count
        from markets m
        where m.updated_at >= (select started_at from runs where run_id = $run)
              and m.updated_at <= coalesce((select finished_at from runs where run_id = $run), 'infinity'::timestamptz)
           or exists (select 1 from odds_snapshots o
                      where o.run_id = $run and o.venue = m.venue and o.market_id = m.market_id)
        order by m.venue, m.market_id
    """, {"run": run_id})


def _odds_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    # The sum-to-one check spans rows: each row carries the sum over its market's outcomes at its venue_ts,
    # taken over the whole table so a run adding only some outcomes of a set still checks the full set.
    frame = _query_frame(con, """
        with run_odds as (select * from odds_snapshots where run_id = ?),
        priced as (
            select o.venue, o.market_id, o.venue_ts,
                   sum(o.price_prob) as outcome_set_sum,
                   count(distinct o.outcome) filter (where list_contains(m.outcomes, o.outcome)) as listed_priced
            from odds_snapshots o
            join markets m using (venue, market_id)
            where exists (select 1 from run_odds r
                          where r.venue = o.venue and r.market_id = o.market_id and r.venue_ts = o.venue_ts)
            group by all
        )
        select r.*,
               coalesce(list_contains(m.outcomes, r.outcome), false) as outcome_listed,
               coalesce(m.outcomes_sum_to_one and p.listed_priced = len(m.outcomes), false) as complete_outcome_set,
               p.outcome_set_sum
        from run_odds r
        left join markets m using (venue, market_id)
        left join priced p using (venue, market_id, venue_ts)
        order by r.venue, r.market_id, r.venue_ts, r.outcome
    """, [run_id])
    keys = [f"{v}/{m}/{o}/{iso_utc(ts)}" for v, m, o, ts in
            zip(frame["venue"], frame["market_id"], frame["outcome"], frame["venue_ts"])]
    frame.insert(0, "record_key", pd.Series(keys, index=frame.index, dtype=object))
    return frame


def _trades_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    return _query_frame(con, """
        select t.venue || '/' || t.trade_id as record_key, t.*,
               t.yes_price_prob + t.no_price_prob as price_sum_prob,
               exists (select 1 from markets m where m.venue = t.venue and m.market_id = t.market_id) as market_listed
        from market_trades t
        where t.run_id = ?
        order by t.venue, t.traded_at, t.trade_id
    """, [run_id])


def _raw_fetches_frame(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    return _query_frame(con, """
        select fetch_id as record_key, * from raw_fetches where run_id = ? order by fetched_at, fetch_id
    """, [run_id])


def iso_utc(ts: Any) -> str:
    """A timestamp as the ISO-8601 UTC text used in quarantine record keys: 2026-03-01T12:00:00Z."""
    return pd.Timestamp(ts).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _registers(sources: list[dict] | None) -> dict[str, str]:
    registers: dict[str, str] = {}
    for i, s in enumerate(sources or []):
        if not isinstance(s, dict) or not s.get("id") or "register" not in s:
            raise ValueError(f"sources[{i}]: expected a dict with 'id' and 'register', got {s!r}")
        registers[str(s["id"])] = str(s["register"])
    return registers


# --- results -> quarantine rows, validation_results rows, failures ---------------------------------------

def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return iso_utc(value)
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _shown(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, float):
        value = round(value, 6)     # 0.45 + 0.8 reads 1.25, not 1.2500000000000002
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _exception_text(info: Any) -> str | None:
    """GX reports a check that could not run either flat or per metric; collect the messages."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    messages = [m for v in info.values() if (m := _exception_text(v))]
    return "; ".join(dict.fromkeys(messages)) or None


@dataclass(slots=True)
class _Outcome:
    spec: ExpectationSpec
    success: bool
    unexpected_count: int | None
    element_count: int | None
    unexpected: list[dict]
    error: str | None


def _outcomes(suite: SuiteSpec, results: list[Any]) -> list[_Outcome]:
    outcomes = []
    for res in results:
        spec = suite.expectation(res.expectation_config.meta["label"])
        body = res.result or {}
        outcomes.append(_Outcome(spec, bool(res.success), body.get("unexpected_count"), body.get("element_count"),
                                 list(body.get("unexpected_index_list") or []), _exception_text(res.exception_info)))
    return outcomes


def _reason(outcome: _Outcome, entry: dict, occurrences: Counter) -> str:
    spec = outcome.spec
    if spec.type in UNIQUENESS_CHECKS:
        return f"{spec.description}: this key occurs {occurrences[entry['record_key']]} times"
    got = ", ".join(f"{c}={_shown(entry[c])}" for c in spec.columns if c in entry)
    return f"{spec.description}: got {got}" if got else spec.description


def _quarantine_rows(suite: SuiteSpec, frame: pd.DataFrame, outcomes: list[_Outcome]) -> list[QuarantineRow]:
    derived = set(suite.meta.get("derived_columns", {}))
    stored = [c for c in frame.columns if c != "record_key" and c not in derived]
    failing = {e["record_key"] for o in outcomes for e in o.unexpected}
    records = frame[frame["record_key"].isin(failing)].drop_duplicates("record_key")
    payloads = {key: {c: _plain(v) for c, v in row.items()}
                for key, row in zip(records["record_key"], records[stored].to_dict("records"))}
    rows: list[QuarantineRow] = []
    for outcome in outcomes:
        occurrences = Counter(e["record_key"] for e in outcome.unexpected)
        first_entry = {}
        for e in outcome.unexpected:
            first_entry.setdefault(e["record_key"], e)
        for key, entry in first_entry.items():
            record = payloads[key]
            rows.append(QuarantineRow(table_name=suite.table, check_name=outcome.spec.label,
                                      reason=_reason(outcome, entry, occurrences), source_id=record.get("source_id"),
                                      record_key=key, payload=json.dumps(record, ensure_ascii=False, default=str)))
    return rows


def _result_row(run_id: str, table: str, outcome: _Outcome, validated_at: datetime) -> tuple:
    values = [_plain(e.get(c)) for e in outcome.unexpected for c in outcome.spec.columns if c in e]
    details = {
        "description": outcome.spec.description,
        "kwargs": outcome.spec.kwargs,
        "unexpected_sample": values[:SAMPLE_SIZE],
        "unexpected_keys": list(dict.fromkeys(e["record_key"] for e in outcome.unexpected))[:SAMPLE_SIZE],
        "error": outcome.error,
    }
    return (run_id, table, outcome.spec.label, outcome.spec.severity, outcome.success,
            outcome.unexpected_count, outcome.element_count, json.dumps(details, default=str), validated_at)


def run_rows(con: duckdb.DuckDBPyConnection, table: str, run_id: str,
             registers: dict[str, str] | None = None) -> pd.DataFrame:
    """The rows of `table` that run `run_id` landed or updated, with record_key and derived columns."""
    if table == "items":
        return _items_frame(con, run_id, registers or {})
    frames: dict[str, Callable[[duckdb.DuckDBPyConnection, str], pd.DataFrame]] = {
        "raw_fetches": _raw_fetches_frame, "markets": _markets_frame, "odds_snapshots": _odds_frame,
        "market_trades": _trades_frame}
    return frames[table](con, run_id)


def validate_run(con: duckdb.DuckDBPyConnection, run_id: str, *, now: datetime,
                 sources: list[dict] | None = None,
                 expectations_dir: Path | str = EXPECTATIONS_DIR) -> ValidationSummary:
    """Validate the rows run `run_id` landed; quarantine failing rows and record every expectation's result.

    now: the run's clock (timezone-aware); "in the future" means later than now plus the suite's skew.
    sources: the configured sources (dicts with at least id and register) whose registers are checked.
    Validating the same run again replaces its earlier validation results and quarantine entries.
    """
    if now.tzinfo is None:
        raise ValueError(f"validate_run: now must be timezone-aware, got {now!r}")
    started = perf_counter()
    registers = _registers(sources)
    validator, built = gx_validator(expectations_dir)
    setup_seconds = validator.import_seconds + validator.context_seconds if built else 0.0
    validated_at = utcnow()
    tables: dict[str, TableValidation] = {}
    failures: list[CheckFailure] = []
    quarantined: list[QuarantineRow] = []
    passed: list[tuple[str, str]] = []     # (table, record_key) of the rows that passed every check
    results: list[tuple] = []
    for table in TABLES:
        suite = validator.suites[table]
        frame = run_rows(con, table, run_id, registers)
        summary = tables[table] = TableValidation(table, rows=len(frame), checks=len(suite.expectations))
        if frame.empty:
            continue
        gx_started = perf_counter()
        parameters = {"latest_allowed_ts": now + timedelta(minutes=suite.clock_skew_minutes)}
        outcomes = _outcomes(suite, validator.validate(table, frame, parameters))
        summary.gx_seconds = perf_counter() - gx_started
        rows = _quarantine_rows(suite, frame, outcomes)
        quarantined += rows
        summary.quarantined_rows = len({r.record_key for r in rows})
        failing = {r.record_key for r in rows}
        # A check that could not run failed without naming rows: nothing of this table counts as passed.
        if not any(o.error or (not o.success and not o.unexpected) for o in outcomes):
            passed += [(table, key) for key in frame["record_key"].unique() if key not in failing]
        for outcome in outcomes:
            results.append(_result_row(run_id, table, outcome, validated_at))
            if not outcome.success:
                summary.failed_checks += 1
                failures.append(CheckFailure(
                    table, outcome.spec.label, outcome.spec.severity, int(outcome.unexpected_count or 0),
                    outcome.spec.description, list(dict.fromkeys(e["record_key"] for e in outcome.unexpected))[:5],
                    outcome.error))
    _record(con, run_id, results, quarantined, passed)
    return ValidationSummary(run_id, tables, failures, len(quarantined), perf_counter() - started, setup_seconds)


def _record(con: duckdb.DuckDBPyConnection, run_id: str, results: list[tuple], rows: list[QuarantineRow],
            passed: list[tuple[str, str]]) -> None:
    con.execute("begin")
    try:
        con.execute("delete from validation_results where run_id = ?", [run_id])
        con.execute("delete from quarantine where run_id = ? and stage = ?", [run_id, STAGE])
        if results:
            con.executemany("insert into validation_results values (?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
        quarantine(con, run_id, STAGE, rows)
        _release(con, run_id, passed)
        con.execute("commit")
    except Exception:
        rollback_if_open(con)
        raise


def _release(con: duckdb.DuckDBPyConnection, run_id: str, passed: list[tuple[str, str]]) -> None:
    """A row an earlier run set aside whose changed version now passes goes back into staging: its
    quarantine entries are marked released by this run (and kept, as the record of what was wrong)."""
    if not passed:
        return
    con.register("passed_keys", pd.DataFrame(passed, columns=["table_name", "record_key"]))
    try:
        con.execute("""
            update quarantine set released_run_id = $run_id
            from passed_keys k
            where quarantine.table_name = k.table_name and quarantine.record_key = k.record_key
              and quarantine.stage = $stage and quarantine.released_run_id is null
              and quarantine.run_id <> $run_id
        """, {"run_id": run_id, "stage": STAGE})
    finally:
        con.unregister("passed_keys")


def summary_markdown(summary: ValidationSummary) -> str:
    """The validation section of a run's Prefect markdown artifact."""
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = [f"## Validation of run `{summary.run_id}`", "",
             f"{sum(t.rows for t in summary.tables.values())} rows checked in {summary.seconds:.1f} s; "
             f"**{len(summary.critical)} critical**, {len(summary.warnings)} warning failures; "
             f"{summary.quarantined} quarantine entries.", "",
             "| table | rows | checks | failed | rows quarantined | GX s |",
             "|---|---:|---:|---:|---:|---:|"]
    for t in summary.tables.values():
        lines.append(f"| {t.table} | {t.rows} | {t.checks} | {t.failed_checks} | {t.quarantined_rows} | "
                     f"{t.gx_seconds:.2f} |")
    if summary.failures:
        lines += ["", "| severity | table | expectation | rows | what | e.g. |", "|---|---|---|---:|---|---|"]
        for f in sorted(summary.failures, key=lambda f: (f.severity != "critical", f.table, f.expectation)):
            what = f"could not run: {f.error}" if f.error else f.description
            severity = "**critical**" if f.severity == "critical" else f.severity
            lines.append(f"| {severity} | {f.table} | `{f.expectation}` | {f.unexpected_count} | {cell(what)} | "
                         f"{cell(', '.join(f.sample_keys[:3]))} |")
    else:
        lines += ["", "All expectations passed."]
    return "\n".join(lines)
