"""The data dictionary inside the database: every table, view and column carries docs/tables.md's
description as its comment, in the live file and in the snapshot analysts open, and the document
describes exactly what the database holds."""
from __future__ import annotations

import re

import duckdb
import pytest

from signal_desk import data_dictionary, db
from signal_desk.signals.models import create_views, load_models, refresh_marts

ROOT = db.SQL_DIR.parent

UNITS = {"minutes": "minutes", "hours": "hours", "seconds": "seconds", "bytes": "bytes", "prob": "probability"}


def build_models(con: duckdb.DuckDBPyConnection) -> None:
    """The signal models' views and tables, as a signals run makes them (empty: nothing is landed)."""
    models = load_models()
    create_views(con, models)
    refresh_marts(con, models, set())


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A fresh database with every migration and every model, and the snapshot published from it."""
    path = tmp_path_factory.mktemp("dictionary") / "desk.duckdb"
    with db.writer(path) as con:
        build_models(con)
    db.publish_snapshot(path)
    return path


def comments(path) -> dict[tuple[str, str | None], str | None]:
    """(relation, None) -> its comment and (relation, column) -> the column's, for every user relation."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = {(t, None): c for t, c in con.execute("""
            select table_name, comment from duckdb_tables() where database_name = current_database()
            union all
            select view_name, comment from duckdb_views() where database_name = current_database() and not internal
        """).fetchall()}
        found.update({(t, col): c for t, col, c in con.execute("""
            select table_name, column_name, comment from duckdb_columns()
            where database_name = current_database() and not internal
        """).fetchall()})
        return found
    finally:
        con.close()


def documented() -> dict[tuple[str, str | None], str]:
    out = {}
    for rel in data_dictionary.load().values():
        out[(rel.name, None)] = rel.description
        out.update({(rel.name, column): meaning for column, meaning in rel.columns.items()})
    return out


@pytest.mark.parametrize("which", ["live database", "snapshot"])
def test_every_table_view_and_column_has_a_comment(published, which):
    path = published if which == "live database" else db.snapshot_path(published)
    found = comments(path)
    relations = {name for name, column in found if column is None}
    assert len(relations) >= 50 and sum(column is not None for _, column in found) >= 500
    missing = sorted(f"{t}.{c}" if c else t for (t, c), comment in found.items() if not (comment or "").strip())
    assert missing == [], f"{len(missing)} without a comment: {', '.join(missing[:20])}"


def test_the_comments_are_the_descriptions_of_docs_tables_md(published):
    """The document is the dictionary's one source: it describes exactly the database's relations and
    columns, in the database's column order, and the comments are its words."""
    found = comments(db.snapshot_path(published))
    words = documented()
    assert sorted(set(words) - set(found)) == [], "docs/tables.md describes what the database does not hold"
    assert sorted(set(found) - set(words)) == [], "the database holds what docs/tables.md does not describe"
    assert {k: found[k] for k in words} == words
    con = duckdb.connect(str(db.snapshot_path(published)), read_only=True)
    try:
        for rel in data_dictionary.load().values():
            actual = [r[0] for r in con.execute(f"describe {rel.name}").fetchall()]
            assert list(rel.columns) == actual, f"docs/tables.md: columns of {rel.name} in another order"
    finally:
        con.close()


def test_a_column_named_after_a_unit_says_the_unit():
    for (name, column), meaning in documented().items():
        if column is None:
            continue
        unit = next((word for suffix, word in UNITS.items() if re.search(rf"(^|_){suffix}$", column)), None)
        if unit:
            assert unit in meaning.lower(), f"{name}.{column}: '{meaning}' does not say {unit}"


def test_models_rebuilt_lose_their_comments_and_the_next_publish_restores_them(published):
    with db.writer(published) as con:
        create_views(con, load_models())      # what every signals run does: create or replace
        assert con.execute("select comment from duckdb_views() where view_name = 'stg_items'").fetchone() == (None,)
    db.publish_snapshot(published)
    found = comments(db.snapshot_path(published))
    assert found[("stg_items", None)].startswith("Posts as last seen")
    assert found[("stg_items", "outlet")] == "the outlet others cite it by (\"Reuters\" for Reuters World News)"


def test_a_column_without_a_meaning_is_named_in_one_line():
    text = "### `things`\n\nWhat they are.\n\n| column | meaning |\n|---|---|\n| `a` | the a |\n| `b` | |\n"
    with pytest.raises(data_dictionary.DictionaryError, match=r"^docs/tables.md: `things`.`b` has no meaning$"):
        data_dictionary.parse(text)


def test_a_meaning_taken_from_another_table():
    text = ("### `view_x`\n\nA view.\n\n| column | meaning |\n|---|---|\n| `a` | the **a**, in `units` |\n"
            "| `b` | the b |\n\n### `table_x`\n\nIts table.\n\n| column | meaning |\n|---|---|\n"
            "| `a` | see `view_x` |\n| `b` | |\n| `c` | only here |\n")
    rel = data_dictionary.parse(text)["table_x"]
    assert rel.columns == {"a": "the a, in units", "b": "the b", "c": "only here"}


def test_a_ducklake_carries_the_comments(lake):
    """On a DuckLake the tables, their columns and the views carry comments; the columns of views cannot."""
    con = db.connect(lake)
    try:
        build_models(con)
    finally:
        con.close()
    db.publish_snapshot(lake)
    con = db.connect(lake, read_only=True)
    try:
        tables = con.execute("select count(*), count(comment) from duckdb_tables() "
                             "where database_name = current_database()").fetchone()
        columns = con.execute("""
            select count(*), count(c.comment) from duckdb_columns() c
            join duckdb_tables() t using (database_name, schema_name, table_name)
            where database_name = current_database()""").fetchone()
        views = con.execute("select count(*), count(comment) from duckdb_views() "
                            "where database_name = current_database() and not internal").fetchone()
    finally:
        con.close()
    assert tables[0] >= 40 and tables[0] == tables[1]
    assert columns[0] >= 400 and columns[0] == columns[1]
    staging = len(list((ROOT / "sql" / "staging").glob("*.sql")))
    assert staging >= 12 and views == (staging, staging)
