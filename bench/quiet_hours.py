"""The hour with no new posts, side by side: checkouts measured in turn, round by round, each a fresh
process running the `hourly` flow on a copy of one primed database, against one synthetic mirror and
one Prefect API server (as `./run bench --only hourly` runs it). Prints every run's wall and CPU time,
its stages and the load average, then the medians.

    PYTHONPATH=. .venv/bin/python bench/quiet_hours.py 1000 3 . ../other-checkout

CHANNELS ROUNDS CHECKOUT...: each checkout's code is what runs (the mirror and the priming are this
checkout's), so a change is timed against the code before it on the same data. Checkouts whose watch
lists or claim matching differ (claims `VERSION`) from this one's re-read the open window in their
run, which is then no quiet hour: compare those with `./run bench --only hourly` in each checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.hourly_bench import Mirror, child_env, run_child, start_prefect_server
from bench.measure import run_measured
from bench.synthetic import HOUR, MEASURED_CLOCK, synthetic_outlets, write_config
from mirror.smtp import LocalSmtpServer


def stage_seconds(result: dict) -> dict[str, float]:
    totals: dict[str, float] = {}
    for stage in result["stages"]:
        totals[stage["name"]] = totals.get(stage["name"], 0.0) + stage["seconds"]
    return totals


def main(channels: int, rounds: int, checkouts: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="signal-desk-quiet-hours-"))
    os.environ["PREFECT_HOME"] = str(work / "prefect")
    Path(os.environ["PREFECT_HOME"]).mkdir()
    runs: dict[str, list[tuple[float, float, float, float]]] = {c: [] for c in checkouts}
    server = mirror = smtp = None
    try:
        server, _ = start_prefect_server()
        mirror = Mirror(channels, work / "mirror.log")
        smtp = LocalSmtpServer(work / "inbox").start()
        config = write_config(work / "config", synthetic_outlets(channels))
        env = {**child_env(mirror.base_url, server.api_url), **smtp.desk_settings()}
        primed = work / "primed.duckdb"
        for as_of in (MEASURED_CLOCK - HOUR, MEASURED_CLOCK):     # two hours landed: the next finds nothing new
            mirror.set_clock(as_of)
            run_child("plain", config=config, db=primed, as_of=as_of, env=env, work=work, label=f"prime-{as_of:%H}")
        for r in range(rounds):
            for i, checkout in enumerate(checkouts):
                db, result = work / f"quiet-{i}.duckdb", work / f"round{r}-{i}.json"
                shutil.copyfile(primed, db)
                load = os.getloadavg()[0]
                wall, cpu, code = run_measured(
                    [sys.executable, "-m", "bench.hourly_bench", "child", "--mode", "prefect", "--config", str(config),
                     "--db", str(db), "--as-of", MEASURED_CLOCK.isoformat(), "--result", str(result)],
                    cwd=Path(checkout).resolve(), env=env, log=work / f"round{r}-{i}.log", timeout_s=900)
                if code:
                    raise SystemExit(f"{checkout}: exited with {code}:\n"
                                     + (work / f"round{r}-{i}.log").read_text(errors="replace")[-2000:])
                run = json.loads(result.read_text())[0]
                runs[checkout].append((run["flow_wall_s"], run["flow_cpu_s"], wall, cpu))
                print(f"round {r} {checkout}: flow {run['flow_wall_s']:.2f} s wall, {run['flow_cpu_s']:.2f} s CPU; "
                      f"process {wall:.2f} s wall, {cpu:.2f} s CPU; load {load:.2f}; {run['items_new']} new items, "
                      f"{run['pages_fetched']} pages", flush=True)
                print("    " + ", ".join(f"{k} {v:.2f}" for k, v in stage_seconds(run).items()), flush=True)
        for checkout, measured in runs.items():
            flow_wall, flow_cpu, wall, cpu = (statistics.median(m[k] for m in measured) for k in range(4))
            print(f"{checkout}: medians: flow {flow_wall:.2f} s wall, {flow_cpu:.2f} s CPU; "
                  f"process {wall:.2f} s wall, {cpu:.2f} s CPU")
    finally:
        for running in (mirror, smtp, server):
            if running is not None:
                running.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
