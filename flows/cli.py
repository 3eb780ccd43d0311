"""Command line for the data team: `./run <command> [options]`."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
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

    b = sub.add_parser("backfill", help="land a past date range (Telegram pages back; feeds once)")
    b.add_argument("rest", nargs=argparse.REMAINDER)

    m = sub.add_parser("mirror", help="serve a scenario on a local mirror")
    m.add_argument("rest", nargs=argparse.REMAINDER)

    g = sub.add_parser("group", help="group a CSV/JSONL stream into stories")
    g.add_argument("rest", nargs=argparse.REMAINDER)

    args = ap.parse_args(argv)
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
    elif args.command == "backfill":
        from flows.backfill import main as backfill_main
        backfill_main(args.rest)
    elif args.command == "mirror":
        from mirror.server import main as mirror_main
        mirror_main(args.rest)
    elif args.command == "group":
        from tasks.stories.grouping import main as group_main
        group_main(args.rest)


if __name__ == "__main__":
    main()
