"""Expectation suites, read from `expectations/<table>.json` (one per landed table).

The files use GX's own suite layout (name, meta, expectations of type/kwargs/description/meta) so they
read as GX suites, but are loaded here rather than through a file context, which would keep them under
gx/. Each expectation states its severity in `meta.severity` and is labelled "<type>:<column(s)>".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "expectations"
TABLES = ("items", "raw_fetches", "markets", "odds_snapshots", "market_trades")
SEVERITIES = ("critical", "warning")


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the expectation."""


@dataclass(frozen=True, slots=True)
class ExpectationSpec:
    label: str                      # "<expectation type>:<column[,column...]>", unique within its suite
    type: str
    kwargs: dict[str, Any]
    description: str
    severity: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    table: str
    path: Path
    key: tuple[str, ...]
    grain: str
    expectations: tuple[ExpectationSpec, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def clock_skew_minutes(self) -> float:
        return float(self.meta.get("clock_skew_minutes", 0))

    def expectation(self, label: str) -> ExpectationSpec:
        return next(e for e in self.expectations if e.label == label)


def _columns_of(kwargs: dict[str, Any]) -> tuple[str, ...]:
    if "column" in kwargs:
        return (kwargs["column"],)
    if "column_list" in kwargs:
        return tuple(kwargs["column_list"])
    return tuple(kwargs[k] for k in ("column_A", "column_B") if k in kwargs)


def load_suite(table: str, directory: Path | str = EXPECTATIONS_DIR) -> SuiteSpec:
    path = Path(directory) / f"{table}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: suite file not found") from None
    except json.JSONDecodeError as e:
        raise SuiteError(f"{path}: line {e.lineno}: invalid JSON: {e.msg}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a JSON object with name, meta and expectations")
    meta = data.get("meta")
    if data.get("name") != table or not isinstance(meta, dict) or meta.get("table") != table:
        raise SuiteError(f"{path}: name and meta.table must both be {table!r}")
    key = meta.get("key")
    if not isinstance(key, list) or not key or not isinstance(meta.get("grain"), str):
        raise SuiteError(f"{path}: meta must state the table's grain (text) and key (list of columns)")
    raw = data.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(f"{path}: expectations must be a non-empty list")
    specs: list[ExpectationSpec] = []
    for i, e in enumerate(raw):
        where = f"{path}: expectations[{i}]"
        if not isinstance(e, dict) or not str(e.get("type", "")).startswith("expect_"):
            raise SuiteError(f"{where}: needs a 'type' naming a GX expectation (expect_...)")
        kwargs = e.get("kwargs")
        if not isinstance(kwargs, dict):
            raise SuiteError(f"{where} ({e['type']}): 'kwargs' must be an object")
        severity = (e.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise SuiteError(f"{where} ({e['type']}): meta.severity must be one of {SEVERITIES}, got {severity!r}")
        description = e.get("description")
        if not isinstance(description, str) or not description.strip():
            raise SuiteError(f"{where} ({e['type']}): needs a 'description' (it becomes the quarantine reason)")
        columns = _columns_of(kwargs)
        label = f"{e['type']}:{','.join(columns)}"
        if any(s.label == label for s in specs):
            raise SuiteError(f"{where}: a second {label}; merge them (quarantine check names must be unique)")
        specs.append(ExpectationSpec(label, e["type"], kwargs, description.strip(), severity, columns))
    return SuiteSpec(table=table, path=path, key=tuple(key), grain=meta["grain"], expectations=tuple(specs),
                     meta=meta)


def load_suites(directory: Path | str = EXPECTATIONS_DIR) -> dict[str, SuiteSpec]:
    return {table: load_suite(table, directory) for table in TABLES}


def to_gx_suite(spec: SuiteSpec) -> Any:
    """Build the GX ExpectationSuite (needs an active GX context: call after `gx.get_context`)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    expectations = []
    for i, e in enumerate(spec.expectations):
        try:
            config = ExpectationConfiguration(type=e.type, kwargs=dict(e.kwargs), description=e.description,
                                              meta={"severity": e.severity, "label": e.label},
                                              severity=e.severity)
            expectations.append(config.to_domain_obj())
        except Exception as exc:  # GX raises several unrelated types for a bad type or kwargs
            raise SuiteError(f"{spec.path}: expectations[{i}] ({e.label}): GX rejects it: {exc}") from None
    return gx.ExpectationSuite(name=spec.table, expectations=expectations, meta=dict(spec.meta))
