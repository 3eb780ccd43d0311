"""A small runner for the SQL models in sql/staging (views), sql/intermediate and sql/marts (tables).

A model is one file named after the view or table it makes. Intermediate tables are rebuilt every run
(they hold the run's scope and are read several times). Marts say in a header comment how they are
refreshed: `-- refresh: story` marts are recomputed for the stories listed in `signal_scope` only
(their rows are deleted and inserted afresh; other stories' rows stay), `-- refresh: full` marts are
rebuilt whole (their inputs are small). Models run in dependency order, found from the names they use.

A table marked `-- inputs: posts` makes each story's rows from that story's rows of
int_scoped_story_items alone (and the watch list settings the lexicon fingerprint covers). When a run
finds those rows as the last run left them, for every story in scope, such tables keep their rows
rather than recompute them: a run with nothing new then refreshes only what moves with the clock and
the odds.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from signal_desk.db import SQL_DIR

LAYERS: tuple[tuple[str, str], ...] = (("staging", "view"), ("intermediate", "table"), ("marts", "table"))
_REFRESH = re.compile(r"^--\s*refresh:\s*(story|full)\s*$", re.MULTILINE)
_POSTS_ONLY = re.compile(r"^--\s*inputs:\s*posts\s*$", re.MULTILINE)
POSTS_MODEL = "int_scoped_story_items"      # the posts of the stories in scope, which the above are made from


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
    posts_only: bool = False             # `-- inputs: posts`: see the module's docstring


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
        with_deps.append(Model(m.name, m.path, m.materialized, m.refresh, m.sql, deps,
                               bool(_POSTS_ONLY.search(m.sql))))
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


def refresh_marts(con: duckdb.DuckDBPyConnection, models: list[Model], rebuild: set[str], *,
                  may_keep_posts_only: bool = False) -> dict[str, dict]:
    """Refresh every table model (intermediate, then marts); those in `rebuild` are recreated from
    scratch. `may_keep_posts_only`: the caller found nothing that could change the posts of the stories
    in scope (the scope only shrank since the last finished run); `-- inputs: posts` tables then keep
    their rows if POSTS_MODEL confirms it. Returns per table the rows written (or kept) and the seconds
    taken."""
    stats: dict[str, dict] = {}
    keep = False
    for m in models:
        if m.materialized != "table":
            continue
        t0 = time.perf_counter()
        try:
            if keep and m.posts_only and m.name not in rebuild and _table_exists(con, m.name):
                written = _keep_scoped_rows(con, m)
                stats[m.name] = {"rows": written, "seconds": round(time.perf_counter() - t0, 4), "kept": True}
                continue
            if m.name == POSTS_MODEL and may_keep_posts_only and _table_exists(con, m.name):
                keep = _rebuild_unchanged(con, m)
                written = con.execute(f"select count(*) from {m.name}").fetchone()[0]
            elif m.refresh == "full" or m.name in rebuild or not _table_exists(con, m.name):
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


def _rebuild_unchanged(con: duckdb.DuckDBPyConnection, m: Model) -> bool:
    """Rebuild POSTS_MODEL; True when it holds exactly its earlier rows of the stories now in scope."""
    con.execute(f"create or replace temp table {m.name}__new as\n{m.sql}")
    try:
        same = _columns(con, m.name) == _columns(con, f"{m.name}__new") and not con.execute(f"""
            with kept as (
                select t.* from {m.name} t
                semi join signal_scope s on s.watchlist_id = t.watchlist_id and s.story_id = t.story_id
            )
            select exists (select * from kept except all select * from {m.name}__new)
                or exists (select * from {m.name}__new except all select * from kept)
        """).fetchone()[0]
        con.execute(f"create or replace table {m.name} as select * from {m.name}__new")
    finally:
        con.execute(f"drop table if exists {m.name}__new")
    return same


def _keep_scoped_rows(con: duckdb.DuckDBPyConnection, m: Model) -> int:
    """A posts-only table whose inputs did not change: a story mart keeps every row; an intermediate
    table (the run's scope only) drops the stories that left the scope."""
    if m.refresh == "full":
        con.execute(f"""
            delete from {m.name} t where not exists (
                select 1 from signal_scope s where s.watchlist_id = t.watchlist_id and s.story_id = t.story_id)""")
    return con.execute(f"select count(*) from {m.name}").fetchone()[0]
