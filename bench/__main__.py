"""./run bench: how fast, how big, against what. Prints a table and writes it as JSON.

    ./run bench                       # the full benchmark (over an hour on 2 cores)
    ./run bench --quick               # CI-sized: tiny sizes, the same code paths, figures not meaningful
    ./run bench --only parse --only queries --out bench/results/latest.json
    ./run bench --only queries --history var/bench-history.duckdb   # build the 10^7 history once, keep it, reuse it

Sections: parse (this parser vs minet and snscrape on real t.me pages), meaning (the two sentence
encoders side by side, and annotation with claims by meaning), hourly (a whole run at 100 and
1,000 channels against the local mirror), workers (the two-part layout on a DuckLake in PostgreSQL and
S3: each worker's hour, the catalog's and the object store's share), growth (signal computation at 10^5..10^7 items of history),
queries (the documented example queries at 10^7 items). bench/README.md says how to read the figures.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.measure import FAILED, MISSED, UNAVAILABLE, Row, command_line, machine, markdown_table, table
from signal_desk.progress import Steps

SECTIONS = ("parse", "meaning", "hourly", "workers", "growth", "queries")
BENCH_DIR = Path(__file__).resolve().parent
RIVAL_MODULES = ("snscrape.modules.telegram", "minet.telegram.scraper")


def _uv() -> list[str] | None:
    if found := shutil.which("uv"):
        return [found]
    for python in (sys.executable, "python3"):
        try:
            subprocess.run([python, "-m", "uv", "--version"], check=True, capture_output=True)
            return [python, "-m", "uv"]
        except (OSError, subprocess.CalledProcessError):
            continue
    return None


def _missing_rivals() -> list[str]:
    missing = []
    for module in RIVAL_MODULES:
        try:
            importlib.import_module(module)
        except Exception:
            missing.append(module.split(".")[0])
    return missing


def ensure_rivals() -> str:
    """Install minet and snscrape (hash-pinned, without changing the project's pins) when missing."""
    missing = _missing_rivals()
    if not missing:
        return "minet and snscrape already installed"
    uv = _uv()
    if uv is None:
        return f"{', '.join(missing)} missing and uv not found to install them"
    print(f"installing {' and '.join(missing)} for the parser comparison "
          "(bench/requirements.txt and bench/requirements-nodeps.txt, hash-pinned) ...", flush=True)
    steps = [["pip", "install", "--quiet", "--python", sys.executable, "--require-hashes",
              "-r", str(BENCH_DIR / "requirements.txt")],
             ["pip", "install", "--quiet", "--python", sys.executable, "--require-hashes", "--no-deps",
              "-r", str(BENCH_DIR / "requirements-nodeps.txt")]]
    for step in steps:
        done = subprocess.run([*uv, *step], capture_output=True, text=True)
        if done.returncode != 0:
            return f"installing failed: {' '.join(step[:2])}: {(done.stderr or done.stdout).strip()[-500:]}"
    importlib.invalidate_caches()
    still = _missing_rivals()
    return f"installed, but {', '.join(still)} still does not import" if still else "installed minet and snscrape"


def sections_in_order(sections: list[str]) -> list[str]:
    """The sections that will run, in their order: the queries need the history the growth section builds."""
    wanted = set(sections) | ({"growth"} if "queries" in sections else set())
    return [name for name in SECTIONS if name in wanted]


def _kept_history(path: Path):
    """A history database an earlier `--history` run built and kept."""
    from bench.growth_bench import HistoryDatabase
    from signal_desk import db
    con = db.connect(path, read_only=True)
    try:
        items = con.execute("select count(*) from items").fetchone()[0]
    finally:
        con.close()
    return HistoryDatabase(path, items, signals_ready=True)


def _run_sections(sections: list[str], *, quick: bool, command: str, steps: Steps,
                  channels: tuple[int, ...] | None = None, history_path: Path | None = None
                  ) -> tuple[list[Row], dict]:
    rows: list[Row] = []
    details: dict = {}

    def guarded(name: str, fn):
        started = time.perf_counter()
        steps.start(name)
        outcome = "done"
        try:
            return fn()
        except Exception as e:     # a section that breaks still leaves the others' figures
            rows.append(Row(name, "section", None, "", status=FAILED, command=command,
                            note=f"{type(e).__name__}: {e}"[:500]))
            details[name] = {"error": f"{type(e).__name__}: {e}"}
            outcome = FAILED
            return None
        finally:
            steps.done(f"{name} {outcome} in {time.perf_counter() - started:.0f} s")

    if "parse" in sections:
        install = ensure_rivals()
        print(f"comparison parsers: {install}", flush=True)
        from bench import parse_bench
        got = guarded("parse", lambda: parse_bench.run(quick=quick, command=command))
        if got:
            rows += got[0]
            details["parse"] = {**got[1], "install": install}
    if "meaning" in sections:
        from bench import meaning_bench
        got = guarded("meaning", lambda: meaning_bench.run(quick=quick, command=command))
        if got:
            rows += got[0]
            details["meaning"] = got[1]
    if "hourly" in sections:
        from bench import hourly_bench
        got = guarded("hourly", lambda: hourly_bench.run(quick=quick, command=command, sizes=channels))
        if got:
            rows += got[0]
            details["hourly"] = got[1]
    if "workers" in sections:
        from bench import workers_bench
        got = guarded("workers", lambda: workers_bench.run(quick=quick, command=command))
        if got:
            rows += got[0]
            details["workers"] = got[1]
    if "growth" in sections or "queries" in sections:
        from bench import growth_bench, queries_bench
        work = Path(tempfile.mkdtemp(prefix="signal-desk-bench-history-"))
        try:
            history = None
            if history_path and history_path.exists():
                print(f"queries on the history kept at {history_path} (not rebuilt)", flush=True)
                history = _kept_history(history_path)
            else:
                got = guarded("growth", lambda: growth_bench.build_and_measure(
                    work, quick=quick, command=command, measure="growth" in sections))
                if got:
                    history = got[2]
                    if "growth" in sections:
                        rows += got[0]
                        details["growth"] = got[1]
                if history and history_path:
                    history_path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(history.path, history_path)
                    history = _kept_history(history_path)
                    print(f"history kept at {history_path}", flush=True)
            if "queries" in sections:
                got_q = guarded("queries", lambda: queries_bench.run(
                    quick=quick, command=command, db_path=history.path if history else None,
                    items=history.items if history else 0))
                if got_q:
                    rows += got_q[0]
                    details["queries"] = got_q[1]
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return rows, details


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="CI-sized version (tiny sizes; figures not meaningful)")
    ap.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    ap.add_argument("--out", default="bench/results/latest.json", help="where to write the JSON")
    ap.add_argument("--channels", type=int, action="append",
                    help="hourly section: run at this many channels (repeatable; default 100 and 1,000)")
    ap.add_argument("--history", type=Path,
                    help="queries section: the history database to query; built there and kept when missing, "
                         "reused as is when present (the growth section then cannot run: it measures the build)")
    args = ap.parse_args(argv)
    if args.history and args.history.exists() and (not args.only or "growth" in args.only):
        ap.error(f"--history {args.history} exists: the growth section measures building it; "
                 "run --only queries to reuse it, or give a new path")
    sections = args.only or list(SECTIONS)
    command = command_line(argv)
    started_at = datetime.now(timezone.utc)
    started = time.perf_counter()
    info = machine()
    print(f"{command}  ({started_at:%Y-%m-%d %H:%M} UTC, {info['cores']} cores, "
          f"load {info['load_average_1_5_15']})", flush=True)

    reused = args.history is not None and args.history.exists()      # the growth section does not run
    with Steps(len(sections_in_order(sections)) - reused, "bench section") as steps:
        rows, details = _run_sections(sections, quick=args.quick, command=command, steps=steps,
                                      channels=tuple(sorted(set(args.channels))) if args.channels else None,
                                      history_path=args.history)

    result = {
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "quick": args.quick,
        "sections_run": sections,
        "machine": info,
        "load_average_at_end": machine()["load_average_1_5_15"],
        "duration_s": round(time.perf_counter() - started, 1),
        "rows": [r.as_dict() for r in rows],
        "sections": details,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(
        f"`{command}` on {started_at:%Y-%m-%d} ({info['cores']} cores, load {info['load_average_1_5_15']})\n\n"
        + markdown_table(rows) + "\n", encoding="utf-8")

    from bench.curves import draw
    curves = draw(result, out.with_suffix(".png"))

    print()
    print(table(rows))
    flagged = [r for r in rows if r.status in (MISSED, UNAVAILABLE, FAILED)]
    if flagged:
        print("\nnotes:")
        for r in flagged:
            print(f"  {r.section} / {r.name}: {r.status}: {r.note}")
    also = ", ".join(str(p) for p in (out.with_suffix(".md"), curves) if p)
    print(f"\n{len(rows)} figures in {result['duration_s']:.0f} s; written to {out} (and {also})")
    return 1 if any(r.status == FAILED for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
