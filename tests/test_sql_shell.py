"""`./run sql FILE`: an SQL shell on a real DuckDB file, opened read-only, fed on standard input as an
analyst's script would be."""
from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT


@pytest.fixture
def snapshot(tmp_path) -> Path:
    path = tmp_path / "desk.snapshot.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table items as select range as item_id, 'post ' || range as text from range(5)")
    con.execute("create view recent_items as select * from items where item_id >= 3")
    con.close()
    return path


def sql(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(["./run", "sql", *args], cwd=ROOT, input=stdin, capture_output=True, text=True,
                          timeout=120)


def test_a_query_prints_its_result_as_a_table(snapshot):
    done = sql(str(snapshot), stdin="select count(*) as item_count from items;\n")
    assert done.returncode == 0, done.stderr
    assert "item_count" in done.stdout and "│" in done.stdout
    assert "5" in done.stdout.split("item_count", 1)[1]


def test_statements_run_in_order_and_the_last_needs_no_semicolon(snapshot):
    done = sql(str(snapshot), stdin="select 'first' as a; select 'second' as b\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("first") < done.stdout.index("second")


def test_tables_lists_tables_and_views_and_schema_shows_columns(snapshot):
    done = sql(str(snapshot), stdin=".tables\n.schema items\n.quit\nselect 'not reached';\n")
    assert done.returncode == 0, done.stderr
    assert "items" in done.stdout and "recent_items" in done.stdout and "VIEW" in done.stdout
    assert "item_id" in done.stdout and "BIGINT" in done.stdout
    assert "not reached" not in done.stdout


def test_the_file_is_opened_read_only(snapshot):
    done = sql(str(snapshot), stdin="create table notes (note varchar);\n")
    assert done.returncode == 1
    assert "read-only" in done.stderr and "Traceback" not in done.stderr
    con = duckdb.connect(str(snapshot), read_only=True)
    tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert "notes" not in tables


def test_a_bad_statement_is_one_line_and_the_next_still_runs(snapshot):
    done = sql(str(snapshot), stdin="select nosuch from items;\nselect 42 as answer;\n")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "nosuch" in done.stderr
    assert "answer" in done.stdout


def test_a_missing_file_is_one_line_not_a_traceback(tmp_path):
    done = sql(str(tmp_path / "nope.duckdb"))
    assert done.returncode == 1
    assert done.stderr.strip() == f"sql: {tmp_path / 'nope.duckdb'}: no such database file"
    assert not (tmp_path / "nope.duckdb").exists()


def test_without_a_file_it_opens_the_snapshot_the_demo_publishes():
    from signal_desk import db
    done = subprocess.run(["./run", "sql", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert f"default: {db.snapshot_path(Path('var/demo.duckdb'))}" in " ".join(done.stdout.split())
