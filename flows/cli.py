"""Command line for the data team: `./run <command> [options]`; `./run --help` lists every command.

Built on typer because it is click underneath: click's `ignore_unknown_options` and `allow_extra_args`
hand the rest of a line, `--help` included, unchanged to the commands that parse their own options
(the demo, pytest, the mirror, the grouping ...), while typer lists them beside its own commands and
shows every option's help and default. Only `check` and `sql` must start fast, so nothing heavy
(Prefect, pandas) is imported at the top.
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    name="./run",
    help="signal-desk: scrape public channels hourly, land and validate them in DuckDB, compute signal "
         "tables, email watch-list reports. `./run COMMAND --help` shows a command's options.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_CONFIG = "config"
DEFAULT_DB = "var/desk.duckdb"          # signal_desk.db.DEFAULT_DB, not imported: signal_desk.db pulls in DuckDB and pydantic
DEFAULT_SQL_DB = "var/demo.snapshot.duckdb"     # what `./run demo` publishes


# Commands that parse their own options: the rest of the line goes to them as it is (`--help` too), and
# their exit code comes back. (name, module, function, one-line help). The `run` script starts the first
# three itself; they are here to be listed, and for `python -m flows.cli`.
_STARTERS = [
    ("demo", "mirror.demo", "main", "replay the built-in news day through the local mirror into var/demo.duckdb"),
    ("test", "pytest", "main", "the test suite (pytest; e.g. ./run test -q tests/test_check.py)"),
    ("bench", "bench.__main__", "main", "benchmarks: prints a table, writes bench/results/latest.json"),
]
_TOOLS = [
    ("mirror", "mirror.server", "main", "serve a scenario on a local mirror (127.0.0.1:8765)"),
    ("group", "signal_desk.stories.grouping", "main", "group a CSV/JSONL stream into stories"),
    ("statements", "signal_desk.signals.statements", "main",
     "speakers, speech acts, claims with stance and quotes of a JSONL stream"),
    ("eval-statements", "bench.eval_statements", "main", "measure annotation on labelled statements"),
    ("search", "signal_desk.search", "main", "posts that say something like a sentence, in any language"),
    ("deployments", "flows.deployments", "main",
     "write one hourly deployment per ingest part (sources.yaml: partitions) for prefect deploy"),
]
_OWN_OPTIONS = {"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False}


def _add_pass_through(name: str, module: str, function: str, help_text: str) -> None:
    def command(ctx: typer.Context) -> None:
        code = getattr(importlib.import_module(module), function)(list(ctx.args))
        raise typer.Exit(int(code) if code is not None else 0)

    app.command(name, help=f"{help_text}. Options: ./run {name} --help", short_help=help_text,
                context_settings=_OWN_OPTIONS, add_help_option=False)(command)


for _spec in _STARTERS:
    _add_pass_through(*_spec)


@app.command("sh", short_help="a shell in the project folder, with the environment ./run sets up", help="a shell in the project folder, with the environment ./run sets up")
def sh() -> None:
    shell = os.environ.get("SHELL") or "sh"
    os.execvp(shell, [shell])


def _check_or_exit(config_dir: str) -> None:
    """Every configuration problem, one line each, and exit 1, before anything starts."""
    from signal_desk.config import check_config

    _, problems = check_config(config_dir)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        raise typer.Exit(1)


@app.command("check", short_help="check the configuration: one line per problem, exit 1 if any")
def check(
    config: Annotated[Path, typer.Option(metavar="DIR", help="directory with sources.yaml and watchlists.yaml")] = Path(DEFAULT_CONFIG),
) -> None:
    """Check a configuration: one line per problem (file, line, source or watch list, field, what was
    expected), exit 1 if there is any. Every flow runs the same check first."""
    from signal_desk.config import check_config

    cfg, problems = check_config(config)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"{config}: {len(problems)} problem{'s' if len(problems) > 1 else ''}", file=sys.stderr)
        raise typer.Exit(1)
    enabled = len(cfg.sources)
    print(f"{config}: ok ({len(cfg.sources_file.sources)} sources, {enabled} enabled; "
          f"{len(cfg.watchlists)} watch list{'s' if len(cfg.watchlists) != 1 else ''})")


@app.command("sql", short_help="an SQL shell on the demo snapshot (or FILE), read-only")
def sql(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="DuckDB file to open read-only")] = Path(DEFAULT_SQL_DB),
) -> None:
    """An SQL shell on a database file, opened read-only (by default the demo's snapshot). Statements
    end with ';'; .tables lists tables and views, .schema NAME shows columns, .quit leaves. Reads
    statements from standard input when it is not a terminal: echo "select 42" | ./run sql FILE"""
    from signal_desk.sql_shell import run_shell

    raise typer.Exit(run_shell(path))


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 time (e.g. 2026-06-30T07:00Z)") from None


class Politeness(str, Enum):
    internet = "internet"
    mirror = "mirror"
    test = "test"


ConfigOption = Annotated[str, typer.Option("--config", metavar="DIR", help="configuration directory (sources.yaml, watchlists.yaml)")]
DbOption = Annotated[str, typer.Option("--db", metavar="DB", help="DuckDB file, or ducklake:postgres:<connection string>")]
AsOfOption = Annotated[Optional[datetime], typer.Option(
    "--as-of", parser=_time, metavar="TIME", show_default="now",
    help="the run's clock, ISO-8601 (e.g. 2026-06-30T07:00Z)")]


@app.command("hourly", short_help="run the hourly pipeline once")
def hourly(
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = DEFAULT_DB,
    as_of: AsOfOption = None,
    page_cap: Annotated[int, typer.Option(min=1, metavar="N", help="most pages fetched per source")] = 10,
    politeness: Annotated[Politeness, typer.Option(
        help="fetch policy: internet (spaced, polite), mirror (the local mirror), test (no waits)")] = Politeness.internet,
    sources: Annotated[Optional[list[str]], typer.Option(
        "--source", metavar="ID", show_default="every enabled source", help="only this source id (repeatable)")] = None,
    no_markets: Annotated[bool, typer.Option("--no-markets", help="leave the watch lists' markets out")] = False,
    no_signals: Annotated[bool, typer.Option(
        "--no-signals", help="land and validate only; the signals command computes the signal tables later")] = False,
) -> None:
    """Run the hourly pipeline once: fetch, land, validate, compute signals, publish the snapshot."""
    _check_or_exit(config)
    with _one_line_failures("hourly"):
        from flows.hourly import hourly as hourly_flow
        s = hourly_flow(config_dir=config, db_path=db, as_of=as_of, page_cap=page_cap,
                        politeness=politeness.value, source_ids=sources, with_markets=not no_markets,
                        with_signals=not no_signals)
    print(f"run {s['run_id']}: {s['status']} in {s['seconds']:.1f} s")


@app.command("signals", short_help="compute the signal tables for what was landed since the last time")
def signals(config: ConfigOption = DEFAULT_CONFIG, db: DbOption = DEFAULT_DB, as_of: AsOfOption = None) -> None:
    """Compute the signal tables for what was landed since the last time."""
    _check_or_exit(config)
    with _one_line_failures("signals"):
        from flows.signals import signals as signals_flow
        s = signals_flow(config_dir=config, db_path=db, as_of=as_of)
    print(f"run {s['run_id']}: {s['items_annotated']} items annotated, {s['items_grouped']} grouped")


def _day_or_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO-8601 date or time (e.g. 2026-06-28)") from None


@app.command("backfill", short_help="land a past date range (Telegram pages back; feeds once), or stored market files")
def backfill(
    start: Annotated[Optional[datetime], typer.Option(parser=_day_or_time, metavar="DATE",
                                                      show_default="required, unless only --market-file is given",
                                                      help="start, ISO-8601; a date means its midnight, UTC unless a zone is given")] = None,
    end: Annotated[Optional[datetime], typer.Option(parser=_day_or_time, metavar="DATE",
                                                    show_default="required, unless only --market-file is given",
                                                    help="end, the same way (--end 2026-06-29 stops at the 29th's midnight)")] = None,
    sources: Annotated[Optional[list[str]], typer.Option(
        "--source", metavar="ID", show_default="every enabled source", help="only this source id (repeatable)")] = None,
    market_files: Annotated[Optional[list[str]], typer.Option(
        "--market-file", metavar="VENUE:PATH", show_default="none",
        help="import a stored market file: kalshi, polymarket or manifold market objects as the venue sends them "
             "(a Kalshi market with or without its {\"market\": ...} envelope); repeatable")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = DEFAULT_DB,
    page_cap: Annotated[int, typer.Option(min=1, metavar="N", help="most pages fetched per source")] = 50,
    politeness: Annotated[Politeness, typer.Option(
        help="fetch policy: internet (spaced, polite), mirror (the local mirror), test (no waits)")] = Politeness.internet,
) -> None:
    """Land the posts published in a past date range that the sources still show: Telegram channels are
    paged back to the start; feeds and X mirrors give what they still list. --market-file imports stored
    market objects; with only market files, --start and --end are not needed."""
    if (start is None) != (end is None) or (start is None and not market_files):
        raise typer.BadParameter("give both --start and --end (or only --market-file)", param_hint="--start")
    if start is not None and start >= end:
        raise typer.BadParameter(f"the range is empty: {end:%Y-%m-%d %H:%M} is not after {start:%Y-%m-%d %H:%M}",
                                 param_hint="--end")
    if market_files:
        from tasks.land import import_market_files
        try:
            m = import_market_files(db, market_files)
        except ValueError as error:
            print(f"backfill failed: {error}", file=sys.stderr)
            raise typer.Exit(1) from None
        print(f"market files {m['run_id']}: {m['files']} file(s), {m['markets']} markets, {m['new_odds']} new "
              f"odds points, {m['rejected']} rejected elements quarantined")
        if start is None:
            return
    _check_or_exit(config)
    with _one_line_failures("backfill"):
        from flows.backfill import backfill as backfill_flow
        s = backfill_flow(start, end, sources, config, db, page_cap, politeness.value)
    print(f"backfill {s['run_id']}: {s['status']} in {s['seconds']:.1f} s")


@contextmanager
def _one_line_failures(command: str) -> Iterator[None]:
    """A run's expected failure as one line on stderr and exit 1; anything else is a bug and keeps its
    traceback."""
    try:
        yield
    except Exception as error:
        from tasks.runs import expected_failures
        if not isinstance(error, expected_failures()):
            raise
        print(f"{command} failed: {error}", file=sys.stderr)
        raise typer.Exit(1) from None


for _spec in _TOOLS:
    _add_pass_through(*_spec)


def main(argv: list[str] | None = None) -> None:
    app(args=argv, prog_name="./run")


if __name__ == "__main__":
    main()
