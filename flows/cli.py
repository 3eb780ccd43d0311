"""Command line for the data team: `./run <command> [options]`."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime


def expected_failures() -> tuple[type[BaseException], ...]:
    """Failures that are a run's outcome rather than a bug: each is one line, no traceback. A flow that
    ends Failed after recording why (the database held by another process, every source failed, the
    snapshot not published) or a database setting that cannot be opened."""
    from prefect.exceptions import FailedRun

    from flows.hourly import RunFailed
    from tasks.db import StorageError
    return FailedRun, RunFailed, StorageError


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# Commands that own their options: the rest of the line goes to them as it is, and so does their exit code.
_PASS_THROUGH = {
    "backfill": ("flows.backfill", "land a past date range (Telegram pages back; feeds once)"),
    "mirror": ("mirror.server", "serve a scenario on a local mirror"),
    "group": ("tasks.stories.grouping", "group a CSV/JSONL stream into stories"),
    "statements": ("tasks.signals.statements", "speakers, speech acts, claims with stance and quotes of a JSONL stream"),
    "eval-statements": ("bench.eval_statements", "measure annotation on labelled statements"),
    "search": ("tasks.search", "posts that say something like a sentence, in any language"),
}


def _pass_through(command: str, rest: list[str]) -> int:
    import importlib

    code = importlib.import_module(_PASS_THROUGH[command][0]).main(rest)
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _PASS_THROUGH:
        sys.exit(_pass_through(argv[0], argv[1:]))
    ap = argparse.ArgumentParser(prog="./run", description="signal-desk pipeline commands")
    sub = ap.add_subparsers(dest="command", required=True)

    h = sub.add_parser("hourly", help="run the hourly pipeline once")
    h.add_argument("--config", default="config")
    h.add_argument("--db", default="var/desk.duckdb")
    h.add_argument("--as-of", type=_time)
    h.add_argument("--page-cap", type=int, default=10)
    h.add_argument("--politeness", default="internet", choices=["internet", "mirror", "test"])
    h.add_argument("--source", action="append", dest="sources", help="only this source id (repeatable)")
    h.add_argument("--no-markets", action="store_true", help="leave the watch lists' markets out")
    h.add_argument("--no-signals", action="store_true",
                   help="land and validate only; the signals command computes the signal tables later")

    s = sub.add_parser("signals", help="compute the signal tables for what was landed since the last time")
    s.add_argument("--config", default="config")
    s.add_argument("--db", default="var/desk.duckdb")
    s.add_argument("--as-of", type=_time)

    for name, (_, description) in _PASS_THROUGH.items():
        sub.add_parser(name, help=f"{description} (./run {name} --help)", add_help=False)

    args = ap.parse_args(argv)
    try:
        _run(args)
    except Exception as error:
        if not isinstance(error, expected_failures()):
            raise
        print(f"{args.command} failed: {error}", file=sys.stderr)
        sys.exit(1)


def _run(args: argparse.Namespace) -> None:
    if args.command == "hourly":
        from flows.hourly import hourly
        s = hourly(config_dir=args.config, db_path=args.db, as_of=args.as_of, page_cap=args.page_cap,
                   politeness=args.politeness, source_ids=args.sources, with_markets=not args.no_markets,
                   with_signals=not args.no_signals)
        print(f"run {s['run_id']}: {s['status']} in {s['seconds']:.1f} s")
    elif args.command == "signals":
        from flows.signals import signals
        s = signals(config_dir=args.config, db_path=args.db, as_of=args.as_of)
        print(f"run {s['run_id']}: {s['items_annotated']} items annotated, {s['items_grouped']} grouped")


if __name__ == "__main__":
    main()
