"""The data dictionary: docs/tables.md describes every table, view and column, and the same words are
put into the database as comments (COMMENT ON), so an analyst's SQL client or BI tool shows them.

docs/tables.md is the one source: a section per relation, headed `### `name``, a paragraph or more
on what it holds (its grain and key), then a table of its columns, `| `column` | meaning |`. A meaning
`see `other`` takes the meaning of the same column of `other`, and so do the empty cells after it, so a
table read through a view need not repeat the view's words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

DOC = Path(__file__).resolve().parent.parent / "docs" / "tables.md"

_SECTION = re.compile(r"^### `(\w+)`[^\n]*\n(.*?)(?=^#{1,3} |\Z)", re.DOTALL | re.MULTILINE)
_COLUMN_ROW = re.compile(r"^\| `(\w+)` \|(.*)\|\s*$")
_SEE = re.compile(r"^see `(\w+)`$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


class DictionaryError(ValueError):
    """docs/tables.md cannot be read as a data dictionary; the message names the section and the row."""


@dataclass(frozen=True)
class Relation:
    name: str
    description: str
    columns: dict[str, str]          # column -> meaning, in the documented order


def plain(markdown: str) -> str:
    """Markdown of a description or a cell as plain text for a comment: no emphasis, code marks or links."""
    text = _LINK.sub(r"\1", markdown).replace("**", "").replace("`", "")
    return " ".join(text.split())


def parse(text: str, source: str = "docs/tables.md") -> dict[str, Relation]:
    """Every relation the document describes, in its order. Raises DictionaryError naming what is wrong."""
    raw: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for match in _SECTION.finditer(text):
        name, body = match.group(1), match.group(2)
        if name in raw:
            raise DictionaryError(f"{source}: `{name}` is described twice")
        prose, rows = [], []
        for line in body.splitlines():
            if row := _COLUMN_ROW.match(line):
                rows.append((row.group(1), row.group(2).strip()))
            elif not line.startswith("|") and not rows:      # what follows the column table is not its description
                prose.append(line)
        raw[name] = (plain(" ".join(prose)), rows)
    relations = {}
    for name, (description, rows) in raw.items():
        columns: dict[str, str] = {}
        inherit_from = None
        for column, cell in rows:
            if see := _SEE.match(cell):
                inherit_from = see.group(1)
            if see or not cell:
                if inherit_from not in raw:
                    raise DictionaryError(f"{source}: `{name}`.`{column}` has no meaning"
                                          + (f" (`{inherit_from}` is not described)" if inherit_from else ""))
                inherited = dict(raw[inherit_from][1]).get(column)
                if not inherited or _SEE.match(inherited):
                    raise DictionaryError(f"{source}: `{name}`.`{column}` refers to `{inherit_from}`, "
                                          f"which does not describe `{column}`")
                cell = inherited
            columns[column] = plain(cell)
        if not description:
            raise DictionaryError(f"{source}: `{name}` has no description")
        relations[name] = Relation(name, description, columns)
    return relations


def load(path: Path = DOC) -> dict[str, Relation]:
    return parse(path.read_text(encoding="utf-8"), str(path.name if path == DOC else path))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(con: duckdb.DuckDBPyConnection, relations: dict[str, Relation] | None = None, *,
                       lake: bool = False) -> list[str]:
    """The statements that set the documented comment on every table, view and column of the current
    schema that exists and whose comment differs. Relations not created yet (the marts before the
    first signals run) are skipped and get theirs when a later call finds them. A DuckLake keeps no
    comments on the columns of views (only on the views themselves), so on a lake those are left out."""
    relations = load() if relations is None else relations
    current = """
        select table_name, 'table', comment from duckdb_tables()
        where database_name = current_database() and schema_name = current_schema()
        union all
        select view_name, 'view', comment from duckdb_views()
        where database_name = current_database() and schema_name = current_schema() and not internal
    """
    kinds = {name: (kind, comment) for name, kind, comment in con.execute(current).fetchall()}
    column_comments = {(t, c): comment for t, c, comment in con.execute("""
        select table_name, column_name, comment from duckdb_columns()
        where database_name = current_database() and schema_name = current_schema() and not internal
    """).fetchall()}
    statements = []
    for rel in relations.values():
        if rel.name not in kinds:
            continue
        kind, comment = kinds[rel.name]
        if comment != rel.description:
            statements.append(f"comment on {kind} {_quote_ident(rel.name)} is {_quote_text(rel.description)}")
        if lake and kind == "view":
            continue
        for column, meaning in rel.columns.items():
            if (rel.name, column) in column_comments and column_comments[(rel.name, column)] != meaning:
                statements.append(f"comment on column {_quote_ident(rel.name)}.{_quote_ident(column)} "
                                  f"is {_quote_text(meaning)}")
    return statements
