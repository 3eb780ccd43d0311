"""`./run sql [FILE]`: an SQL shell on a DuckDB file, opened read-only, that needs nothing but the pinned
environment (the duckdb Python package has no command-line shell of its own).

Statements end with ';' (a last one without it runs at the end of the input). Results print as DuckDB's
box tables. Dot commands, alone on a line: .tables, .schema NAME, .help, .quit (or .exit). Reads from
standard input when it is not a terminal, so `echo "select 42" | ./run sql FILE` works; it then exits 1
if any statement failed.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TextIO

import duckdb

MAX_ROWS = 40       # as DuckDB's own shell: the first and last rows of a longer result
HELP = """\
End each statement with ';'. Dot commands:
  .tables         tables and views
  .schema NAME    the columns of a table or view
  .help           this text
  .quit           leave (also .exit or Ctrl-D)"""


def run_shell(path: Path | str, stdin: TextIO | None = None) -> int:
    """Open `path` read-only and read statements until the end of input or .quit; the exit code."""
    stdin = stdin or sys.stdin
    path = Path(path)
    if not path.is_file():
        hint = " (./run demo writes it)" if path.name == "demo.snapshot.duckdb" else ""
        print(f"sql: {path}: no such database file{hint}", file=sys.stderr)
        return 1
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        print(f"sql: {path}: {_one_line(error)}", file=sys.stderr)
        return 1
    interactive = stdin.isatty()
    if interactive:
        _line_editing()
        print(f"{path} (read-only). End statements with ';'. .help for commands, .quit to leave.")
    failed = False
    try:
        buffer: list[str] = []
        for line in _lines(stdin, interactive, lambda: bool(buffer)):
            if line is None:
                buffer = []
                continue
            stripped = line.strip()
            if not buffer and stripped.startswith("."):
                done, ok = _dot_command(con, stripped)
                failed |= not ok
                if done:
                    break
                continue
            if not stripped and not buffer:
                continue
            buffer.append(line)
            if stripped.endswith(";"):
                failed |= not _run(con, "\n".join(buffer))
                buffer = []
        if buffer and "".join(buffer).strip():
            failed |= not _run(con, "\n".join(buffer))
    finally:
        con.close()
    return 1 if failed and not interactive else 0


def _lines(stdin: TextIO, interactive: bool, continuing):
    if not interactive:
        yield from (line.rstrip("\n") for line in stdin)
        return
    while True:
        try:
            yield input("   ...> " if continuing() else "sql> ")
        except EOFError:
            print()
            return
        except KeyboardInterrupt:       # Ctrl-C drops the statement being typed, as a shell does
            print()
            yield None


def _line_editing() -> None:
    try:
        import readline  # noqa: F401  (input() gets history and editing keys)
    except ImportError:
        pass


def _dot_command(con: duckdb.DuckDBPyConnection, line: str) -> tuple[bool, bool]:
    """(leave the shell, succeeded)"""
    command, _, argument = line.partition(" ")
    argument = argument.strip().rstrip(";")
    if command in (".quit", ".exit", ".q"):
        return True, True
    if command == ".help":
        print(HELP)
        return False, True
    if command == ".tables":
        return False, _run(con, "select table_name as name, table_type as type from information_schema.tables "
                                "where table_schema = current_schema() order by table_name;")
    if command == ".schema" and argument:
        return False, _run(con, f"describe {_quoted(argument)};")
    print(f"Error: unknown command {line!r}; .help lists the commands", file=sys.stderr)
    return False, False


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    """Run every statement of `sql`, printing each result; False at the first error."""
    try:
        for statement in con.extract_statements(sql):
            relation = con.sql(statement.query)
            if relation is not None:
                relation.show(max_rows=MAX_ROWS, max_width=shutil.get_terminal_size().columns)
        sys.stdout.flush()
        return True
    except duckdb.Error as error:
        sys.stdout.flush()
        print(f"Error: {_one_line(error)}", file=sys.stderr)
        return False


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
