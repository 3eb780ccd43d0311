"""A small runner for the SQL models in sql/staging (views), sql/intermediate and sql/marts (tables).

A model is one file named after the view or table it makes. Intermediate tables are rebuilt every run
(they hold the run's scope and are read several times). Marts say in a header comment how they are
refreshed: `-- refresh: story` marts are recomputed for the stories listed in `signal_scope` only
(their rows are deleted and inserted afresh; other stories' rows stay), `-- refresh: full` marts are
rebuilt whole (their inputs are small). Models run in dependency order, found from the names they use.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tasks.db import SQL_DIR

LAYERS: tuple[tuple[str, str], ...] = (("staging", "view"), ("intermediate", "table"), ("marts", "table"))
_REFRESH = re.compile(r"^--\s*refresh:\s*(story|full)\s*$", re.MULTILINE)


class ModelError(RuntimeError):
    """A model file that cannot be run; the message names the file."""


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    materialized: str                    # view | table
    refresh: str | None                  # story | full (tables only)
    sql: str
    depends_on: frozenset[str] = field(default_factory=frozenset)


def load_models(sql_dir: Path = SQL_DIR) -> list[Model]:
    """Every model, dependencies first."""
    found: list[Model] = []
    for layer, materialized in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            sql = path.read_text(encoding="utf-8").strip().rstrip(";")
            refresh = None
            if layer == "intermediate":
                refresh = "full"
            elif materialized == "table":
                m = _REFRESH.search(sql)
                if not m:
                    raise ModelError(f"{path}: a mart needs a '-- refresh: story' or '-- refresh: full' line")
                refresh = m.group(1)
            found.append(Model(path.stem, path, materialized, refresh, sql))
    names = {m.name for m in found}
    with_deps = []
    for m in found:
        code = "\n".join(line.split("--", 1)[0] for line in m.sql.splitlines())
        deps = frozenset(n for n in names if n != m.name and re.search(rf"\b{re.escape(n)}\b", code))
        with_deps.append(Model(m.name, m.path, m.materialized, m.refresh, m.sql, deps))
    return _topological(with_deps)


def _topological(models: list[Model]) -> list[Model]:
    by_name = {m.name: m for m in models}
    done: list[Model] = []
    state: dict[str, str] = {}

    def visit(m: Model, trail: tuple[str, ...]) -> None:
        if state.get(m.name) == "done":
            return
        if state.get(m.name) == "visiting":
            raise ModelError(f"{m.path}: models depend on each other in a cycle: {' -> '.join(trail + (m.name,))}")
        state[m.name] = "visiting"
        for dep in sorted(m.depends_on):
            visit(by_name[dep], trail + (m.name,))
        state[m.name] = "done"
        done.append(m)

    for m in models:
        visit(m, ())
    return done


def _columns(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"describe {relation_sql}").fetchall()]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from duckdb_tables() where table_name = ? and schema_name = current_schema()",
        [name]).fetchone()[0])


def create_views(con: duckdb.DuckDBPyConnection, models: list[Model]) -> None:
    for m in models:
        if m.materialized == "view":
            try:
                con.execute(f"create or replace view {m.name} as\n{m.sql}")
            except duckdb.Error as e:
                raise ModelError(f"{m.path}: {e}") from None


def reshaped_marts(con: duckdb.DuckDBPyConnection, models: list[Model]) -> list[str]:
    """Story marts whose table is missing or has other columns than its model now makes: they must be
    rebuilt for every story, not only the open ones. (Views must exist: call create_views first.)"""
    out = []
    for m in models:
        if m.materialized != "table" or m.refresh != "story":
            continue
        if not _table_exists(con, m.name):
            out.append(m.name)
            continue
        try:
            wanted = _columns(con, f"({m.sql})")
        except duckdb.Error as e:
            raise ModelError(f"{m.path}: {e}") from None
        if wanted != _columns(con, m.name):
            out.append(m.name)
    return out


def refresh_marts(con: duckdb.DuckDBPyConnection, models: list[Model], rebuild: set[str]) -> dict[str, dict]:
    """Refresh every table model (intermediate, then marts); those in `rebuild` are recreated from
    scratch. Returns per table the rows written and the seconds taken."""
    stats: dict[str, dict] = {}
    for m in models:
        if m.materialized != "table":
            continue
        t0 = time.perf_counter()
        try:
            if m.refresh == "full" or m.name in rebuild or not _table_exists(con, m.name):
                con.execute(f"create or replace table {m.name} as\n{m.sql}")
                written = con.execute(f"select count(*) from {m.name}").fetchone()[0]
            else:
                cols = {c for c, _ in _columns(con, m.name)}
                if {"watchlist_id", "story_id"} <= cols:
                    con.execute(f"""
                        delete from {m.name} t where exists (
                            select 1 from signal_scope s
                            where s.watchlist_id = t.watchlist_id and s.story_id = t.story_id)""")
                else:
                    con.execute(f"delete from {m.name} where story_id in (select story_id from signal_scope)")
                written = con.execute(f"insert into {m.name} by name\n{m.sql}").fetchone()[0]
        except duckdb.Error as e:
            raise ModelError(f"{m.path}: {e}") from None
        stats[m.name] = {"rows": written, "seconds": round(time.perf_counter() - t0, 4)}
    return stats
