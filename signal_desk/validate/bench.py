"""What validation costs: GX import, context creation, and validate_run per suite at two run sizes.

    .venv/bin/python -m signal_desk.validate.bench [--items 1000 20000]

Lands synthetic runs (items across five sources with 1% bad rows, fetches, markets and odds) into a
temporary DuckDB file and validates each run, reusing one GX context as the flow does.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import perf_counter

SOURCES = [("alalamarabic", "telegram", "state-aligned", "ar"), ("iriran_military", "telegram", "state-aligned", "fa"),
           ("reuters", "x", "western-wire", "en"), ("sprinterpress", "x", "osint", "en"),
           ("bbc-world", "rss", "western-media", "en")]


def _land_run(con, run_clock: datetime, n_items: int) -> str:
    from signal_desk import landing
    from signal_desk.items import Item, Market, OddsPoint
    from signal_desk.items import FetchRecord

    run_id = landing.start_run(con, "bench", run_clock)
    items = []
    for i in range(n_items):
        source_id, kind, _, lang = SOURCES[i % len(SOURCES)]
        bad = i % 100 == 99
        published = run_clock + timedelta(hours=4) if bad else run_clock - timedelta(minutes=i % 600)
        items.append((kind, Item(source_id, f"{run_clock:%H}{i}", f"https://example.org/{source_id}/{i}", published,
                                 "" if i % 100 == 98 else f"post {i} about the talks", views=i, lang=lang)))
    landing.land_items(con, run_id, items, seen_at=run_clock)
    landing.land_fetches(con, run_id, [FetchRecord(s, f"https://example.org/{s}/page{p}", run_clock, 200, b"<html/>")
                                       for s, *_ in SOURCES for p in range(max(1, n_items // 100))])
    markets = [Market("polymarket", f"m{m}", f"Question {m}?", ["Yes", "No"]) for m in range(20)]
    odds = [OddsPoint("polymarket", f"m{m}", o, p, run_clock - timedelta(minutes=t))
            for m in range(20) for t in range(max(1, n_items // 200)) for o, p in (("Yes", 0.3), ("No", 0.7))]
    landing.land_markets(con, run_id, markets, odds, observed_at=run_clock)
    return run_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 20000])
    args = parser.parse_args(argv)
    if "great_expectations" in sys.modules:
        raise SystemExit("run this in a fresh interpreter: GX is already imported")

    from signal_desk import db
    from signal_desk.validate.run import gx_validator, validate_run

    validator, _ = gx_validator()
    print(f"import great_expectations: {validator.import_seconds:.2f} s; "
          f"context + 4 suites + validation definitions: {validator.context_seconds:.2f} s")
    sources = [{"id": s, "register": r, "language": lang} for s, _, r, lang in SOURCES]
    with tempfile.TemporaryDirectory() as tmp:
        con = db.connect(Path(tmp) / "bench.duckdb")
        for k, n in enumerate(args.items):
            clock = datetime(2026, 6, 28, 12, tzinfo=timezone.utc) + timedelta(hours=k)
            run_id = _land_run(con, clock, n)
            started = perf_counter()
            summary = validate_run(con, run_id, now=clock, sources=sources)
            total = perf_counter() - started
            print(f"\n{n} items: validate_run {total:.2f} s, {summary.quarantined} quarantine entries")
            print(f"  {'table':<15} {'rows':>7} {'checks':>6} {'GX s':>6}")
            for t in summary.tables.values():
                print(f"  {t.table:<15} {t.rows:>7} {t.checks:>6} {t.gx_seconds:>6.2f}")
        con.close()


if __name__ == "__main__":
    main()
