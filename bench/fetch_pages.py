"""The hourly fetch alone: one page from each of N synthetic channels, from the synthetic mirror in its
own process, as the fetch task asks for it; a warm-up, then ROUNDS timed rounds, printing wall and CPU
time of this process and the mirror's CPU time. `--concurrency` overrides the mirror policy's requests
at once.

    PYTHONPATH=. .venv/bin/python bench/fetch_pages.py 1000 [--rounds 2] [--concurrency 4] [--profile]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from bench.hourly_bench import Mirror
from bench.synthetic import MEASURED_CLOCK, synthetic_outlets, write_config
from flows.policies import policy
from signal_desk.config import load_config
from signal_desk.ingest import fetch_sources
from signal_desk.sources.fetching import Cursor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("channels", type=int)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--profile", action="store_true", help="then one more round under cProfile, top 25 by own time")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="signal-desk-fetch-pages-"))
    mirror = Mirror(args.channels, work / "mirror.log")
    try:
        mirror.set_clock(MEASURED_CLOCK)
        os.environ["MIRROR_URL"] = mirror.base_url
        cfg = load_config(write_config(work / "config", synthetic_outlets(args.channels)))
        fetch_policy = policy("mirror")
        if args.concurrency:
            fetch_policy = dataclasses.replace(fetch_policy, per_host_concurrency=args.concurrency)

        def fetch_once() -> list:
            return asyncio.run(fetch_sources(cfg, cfg.sources, {s.id: Cursor() for s in cfg.sources},
                                             policy=fetch_policy, page_cap=1))

        fetch_once()
        for _ in range(args.rounds):
            wall, cpu, mirror_cpu = time.perf_counter(), time.process_time(), mirror.cpu_seconds()
            pages = sum(len(f.pages) for f in fetch_once())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            mirror_after = mirror.cpu_seconds()
            mirror_text = "n/a" if mirror_cpu is None or mirror_after is None else f"{mirror_after - mirror_cpu:.2f} s"
            print(f"{pages} pages at {fetch_policy.per_host_concurrency} at once: {wall:.2f} s wall, {cpu:.2f} s CPU; "
                  f"mirror {mirror_text} CPU; load {os.getloadavg()[0]:.2f}", flush=True)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(fetch_once)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        mirror.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
