"""The whole hourly run against the local mirror at N synthetic channels (~20 new posts each).

For each size the mirror (`python -m bench.synthetic serve`) runs in its own process, so its work does
not share the pipeline's interpreter. A first run at T-1h lands the channels' earlier hour (not
measured); then, at T, each measurement is a fresh process running the `hourly` flow once, against one
Prefect API server the benchmark starts for all runs (as a deployment's worker has one):

- with Prefect, the hour's new posts; then again with nothing new (the incremental case);
- plain, the hour's new posts: the same flow body with every task called as its plain function
  (`task.fn`), no Prefect engine, logger or artifact.

Prefect's overhead is measured inside each Prefect run, where it is free of run-to-run noise: every
top-level task call is timed and so is the task's own function within it, and the flow call against
the flow function; the plain run's wall gives the same figure by subtraction, as a cross-check. Stage
times come from those task calls, so stages added to the flow show up here unchanged. Peak memory is
the run's process `ru_maxrss`; CPU is its user + system time. `--quick` (CI) skips the first run and
runs both cases in one process per mode.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.measure import INFO, MISSED, Row, judged, process_cpu_seconds, run_measured
from bench.synthetic import HOUR, MEASURED_CLOCK, synthetic_outlets, write_config
from mirror.smtp import LocalSmtpServer

ROOT = Path(__file__).resolve().parent.parent
FULL_SIZES, QUICK_SIZES = (100, 1000), (5,)     # `./run bench --channels N` adds points to the cost curve
TARGET_CHANNELS = 1000
WALL_TARGET_S, MEMORY_TARGET_MIB, NO_CHANGE_TARGET_S = 20.0, 1024.0, 8.0
CHILD_TIMEOUT_S = 900
MODES = ("prefect", "plain")


# ---- one measured run, in its own process ---------------------------------------------------------------

def _without_prefect() -> None:
    """Make Prefect's decorators inert before the flow module is imported: tasks run as plain calls."""
    import logging

    import prefect
    import prefect.artifacts
    import prefect.logging
    import prefect.logging.loggers
    from prefect.tasks import Task

    logger = logging.getLogger("hourly")

    def run_logger(*_args, **_kwargs) -> logging.Logger:
        return logger

    for module in (prefect, prefect.logging, prefect.logging.loggers):
        module.get_run_logger = run_logger
    for name in dir(prefect.artifacts):
        if name.startswith("create_") and name.endswith("artifact"):
            setattr(prefect.artifacts, name, lambda *_a, **_k: None)
    from prefect.utilities.annotations import BaseAnnotation

    def plain(value):
        return value.unwrap() if isinstance(value, BaseAnnotation) else value

    Task.__call__ = lambda self, *args, **kwargs: self.fn(*map(plain, args), **{k: plain(v) for k, v in kwargs.items()})


def _time_stages(stages: list[dict], flow_started: list[float]) -> None:
    """Record every top-level task call: name, start (from the flow call), duration, and how much of it
    the task's own function took (the rest is the Prefect engine's, measured within the same call)."""
    from prefect.tasks import Task

    call = Task.__call__
    depth = [0]

    def timed(self, *args, **kwargs):
        if depth[0]:
            return call(self, *args, **kwargs)
        own = [0.0]
        fn = self.fn

        @functools.wraps(fn)
        def timed_fn(*fn_args, **fn_kwargs):
            started_fn = time.perf_counter()
            try:
                return fn(*fn_args, **fn_kwargs)
            finally:
                own[0] += time.perf_counter() - started_fn

        depth[0] += 1
        self.fn = timed_fn
        started = time.perf_counter()
        try:
            return call(self, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            self.fn = fn
            depth[0] -= 1
            stages.append({"name": self.name, "start_s": started - flow_started[0], "seconds": seconds,
                           "fn_seconds": own[0]})

    Task.__call__ = timed


def child(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.hourly_bench child")
    ap.add_argument("--mode", choices=MODES, required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--runs", type=int, default=1, help="flow runs in this process, one after the other")
    ap.add_argument("--result", required=True)
    args = ap.parse_args(argv)
    process_started = time.perf_counter()
    if args.mode == "plain":
        _without_prefect()
    from flows.hourly import hourly
    stages: list[dict] = []
    flow_started = [0.0]
    _time_stages(stages, flow_started)
    imported = time.perf_counter()
    flow_fn_seconds = [0.0]
    body = hourly.fn

    @functools.wraps(body)
    def timed_body(*fn_args, **fn_kwargs):
        started_body = time.perf_counter()
        try:
            return body(*fn_args, **fn_kwargs)
        finally:
            flow_fn_seconds[0] += time.perf_counter() - started_body

    hourly.fn = timed_body
    run = hourly if args.mode == "prefect" else timed_body

    results = []
    for _ in range(args.runs):
        stages.clear()
        flow_fn_seconds[0] = 0.0
        before = resource.getrusage(resource.RUSAGE_SELF)
        flow_started[0] = time.perf_counter()
        summary = run(config_dir=args.config, db_path=args.db, as_of=datetime.fromisoformat(args.as_of),
                      politeness="mirror")
        wall = time.perf_counter() - flow_started[0]
        after = resource.getrusage(resource.RUSAGE_SELF)
        sources = summary.get("sources", [])
        results.append({
            "mode": args.mode,
            "import_s": imported - process_started,
            "flow_wall_s": wall,
            "flow_fn_s": flow_fn_seconds[0],          # the flow function's own time (wall less Prefect's flow run)
            "flow_cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak_rss_mib": after.ru_maxrss / 1024,       # of the process so far
            "stages": list(stages),
            "status": summary.get("status"),
            "items_new": sum(r.get("items_new", 0) for r in sources),
            "items_updated": sum(r.get("items_updated", 0) for r in sources),
            "pages_fetched": sum(r.get("pages_fetched", 0) for r in sources),
            "source_errors": [f"{r['source_id']}: {r.get('error')}" for r in sources
                              if r.get("status") == "error"][:5],
            "summary_sections": {k: v for k, v in summary.items() if k != "sources"},
        })
    Path(args.result).write_text(json.dumps(results, default=str), encoding="utf-8")


# ---- the processes the parent runs ------------------------------------------------------------------------

@dataclass(slots=True)
class Measured:
    channels: int
    case: str                       # "new posts" | "no change"
    mode: str
    result: dict
    process_wall_s: float
    process_cpu_s: float            # the run's process and whatever it started and waited for
    mirror_cpu_s: float | None
    prefect_server_cpu_s: float | None


class Mirror:
    """The synthetic mirror in its own process."""

    def __init__(self, channels: int, log: Path):
        self.log = log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.synthetic", "serve", "--channels", str(channels)],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode().strip() if self.proc.stdout else ""
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the synthetic mirror did not start (see {log}): {line!r}")
        self.base_url = line

    def set_clock(self, as_of: datetime) -> None:
        import httpx
        httpx.post(f"{self.base_url}/_mirror/clock", json={"as_of": as_of.isoformat()}, timeout=10).raise_for_status()

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def start_prefect_server() -> tuple[object, float]:
    """One Prefect API server for every measured run (a deployment's worker has one too); returns it and
    how long it took to come up, which is what a `./run hourly` without a server pays on every start."""
    from prefect.server.api.server import SubprocessASGIServer
    started = time.perf_counter()
    server = SubprocessASGIServer()
    server.start(timeout=300)      # a fresh Prefect database migrates first; on a busy machine that takes minutes
    return server, time.perf_counter() - started


def run_child(mode: str, *, config: Path, db: Path, as_of: datetime, env: dict, work: Path,
              label: str, runs: int = 1) -> tuple[list[dict], float, float]:
    result_file = work / f"{label}.json"
    log_file = work / f"{label}.log"
    wall, cpu, code = run_measured([sys.executable, "-m", "bench.hourly_bench", "child", "--mode", mode,
                                    "--config", str(config), "--db", str(db), "--as-of", as_of.isoformat(),
                                    "--runs", str(runs), "--result", str(result_file)],
                                   cwd=ROOT, env=env, log=log_file, timeout_s=CHILD_TIMEOUT_S)
    if code != 0 or not result_file.exists():
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{label}: exited with {code}:\n{tail}")
    return json.loads(result_file.read_text(encoding="utf-8")), wall, cpu


def child_env(mirror_url: str, api_url: str | None) -> dict:
    env = dict(os.environ, MIRROR_URL=mirror_url, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL=os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING"))
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def measure_size(channels: int, *, work: Path, api_url: str, server_pid: int | None,
                 quick: bool) -> list[Measured]:
    """Full: prime at T-1h, then one process per measurement. Quick (for CI, not timed): no priming, and
    each mode runs both cases in one process."""
    folder = work / f"{channels}-channels"
    folder.mkdir(parents=True)
    config = write_config(folder / "config", synthetic_outlets(channels))
    mirror = Mirror(channels, folder / "mirror.log")
    smtp = LocalSmtpServer(folder / "inbox").start()     # the demo's watch lists send signal alerts
    measured: list[Measured] = []
    cases = ("new posts", "no change")
    try:
        env = {**child_env(mirror.base_url, api_url), **smtp.desk_settings()}
        primed = folder / "primed.duckdb"
        if not quick:
            mirror.set_clock(MEASURED_CLOCK - HOUR)
            run_child("plain", config=config, db=primed, as_of=MEASURED_CLOCK - HOUR, env=env, work=folder,
                      label="prime")
        dbs = {}
        for mode in MODES:
            dbs[mode] = folder / f"{mode}.duckdb"
            if primed.exists():
                shutil.copyfile(primed, dbs[mode])
        mirror.set_clock(MEASURED_CLOCK)
        # Prefect's overhead is measured inside each Prefect run; the plain run cross-checks it once.
        # The plain cross-check only at the target size: the other sizes are points on the cost curve.
        plan = ([(cases, mode) for mode in MODES] if quick
                else [(("new posts",), "prefect"), (("new posts",), "plain"), (("no change",), "prefect")]
                if channels == TARGET_CHANNELS else [(("new posts",), "prefect"), (("no change",), "prefect")])
        for run_cases, mode in plan:
            mirror_cpu, server_cpu = mirror.cpu_seconds(), process_cpu_seconds(server_pid) if server_pid else None
            label = "-".join(c.replace(" ", "-") for c in run_cases) + f"-{mode}"
            results, wall, cpu = run_child(mode, config=config, db=dbs[mode], as_of=MEASURED_CLOCK, env=env,
                                           work=folder, label=label, runs=len(run_cases))
            mirror_after = mirror.cpu_seconds()
            server_after = process_cpu_seconds(server_pid) if server_pid else None
            for case, result in zip(run_cases, results):
                measured.append(Measured(
                    channels, case, mode, result, wall, cpu,
                    None if mirror_cpu is None or mirror_after is None else mirror_after - mirror_cpu,
                    None if server_cpu is None or server_after is None else server_after - server_cpu))
    finally:
        mirror.stop()
        smtp.stop()
    return measured


# ---- the table ---------------------------------------------------------------------------------------------

def _stage_totals(result: dict) -> tuple[dict[str, float], dict[str, float]]:
    calls: dict[str, float] = {}
    own: dict[str, float] = {}
    for st in result["stages"]:
        calls[st["name"]] = calls.get(st["name"], 0.0) + st["seconds"]
        own[st["name"]] = own.get(st["name"], 0.0) + st.get("fn_seconds", st["seconds"])
    return calls, own


def _rows(measured: list[Measured], command: str, stages_at: int) -> list[Row]:
    rows: list[Row] = []
    by_key = {(m.channels, m.case, m.mode): m for m in measured}
    for channels in sorted({m.channels for m in measured}):
        judged_size = channels == TARGET_CHANNELS
        for case in ("new posts", "no change"):
            flow = by_key.get((channels, case, "prefect"))
            if not flow:
                continue
            plain = by_key.get((channels, case, "plain"))
            r = flow.result
            what = f"{channels} ch, {case}"

            def row(name: str, value: float | None, unit: str, **kw) -> None:
                rows.append(Row("hourly", f"{what}: {name}", value, unit, command=command, **kw))

            wall_target = NO_CHANGE_TARGET_S if case == "no change" else WALL_TARGET_S
            row("wall", r["flow_wall_s"], "s", target=f"< {wall_target:g} s" if judged_size else "",
                status=judged(r["flow_wall_s"] < wall_target) if judged_size else INFO,
                note=f"{r['items_new']} new, {r['items_updated']} updated items, {r['pages_fetched']} pages; "
                     f"process incl. imports {flow.process_wall_s:.1f} s; status {r['status']}")
            row("CPU time", r["flow_cpu_s"], "s",
                note=f"whole process {flow.process_cpu_s:.1f} s; mirror {flow.mirror_cpu_s or 0:.1f} s; "
                     f"Prefect API server {flow.prefect_server_cpu_s or 0:.1f} s")
            if case == "new posts":
                row("peak memory", r["peak_rss_mib"], "MiB",
                    target=f"< {MEMORY_TARGET_MIB / 1024:g} GiB" if judged_size else "",
                    status=judged(r["peak_rss_mib"] < MEMORY_TARGET_MIB) if judged_size else INFO,
                    note=f"plain run {plain.result['peak_rss_mib']:.0f} MiB" if plain else "")
            calls, own = _stage_totals(r)
            engine = sum(calls.values()) - sum(own.values())
            flow_run = r["flow_wall_s"] - r.get("flow_fn_s", r["flow_wall_s"])
            cross_check = ""
            if plain:
                cross_check = (f"; plain run (tasks as plain calls) {plain.result['flow_wall_s']:.1f} s, "
                               f"{r['flow_wall_s'] - plain.result['flow_wall_s']:+.1f} s by subtraction")
            row("Prefect overhead (wall)", engine + flow_run, "s",
                note=f"task engine {engine:.2f} s over {len(r['stages'])} task calls + flow run {flow_run:.2f} s"
                     f"{cross_check}; Prefect API server CPU {flow.prefect_server_cpu_s or 0:.1f} s")
            if channels == stages_at:
                plain_calls = _stage_totals(plain.result)[0] if plain else {}
                for name, seconds in calls.items():
                    row(f"stage {name}", seconds, "s",
                        note=f"its own work {own[name]:.2f} s, Prefect {seconds - own[name]:.2f} s"
                             + (f"; plain run {plain_calls.get(name, 0.0):.2f} s" if plain else ""))
                row("outside the tasks (flow run, config, summary)", r["flow_wall_s"] - sum(calls.values()), "s")
    return rows


def run(*, quick: bool, command: str, sizes: tuple[int, ...] | None = None) -> tuple[list[Row], dict]:
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    work = Path(tempfile.mkdtemp(prefix="signal-desk-bench-hourly-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    rows: list[Row] = []
    measured: list[Measured] = []
    errors: dict[str, str] = {}
    server = None
    try:
        server, server_start_s = start_prefect_server()
        rows.append(Row("hourly", "Prefect API server start (paid by a run with no server up)", server_start_s, "s",
                        command=command, note="the measured runs share one server, as a deployment's do"))
        server_pid = getattr(getattr(server, "server_process", None), "pid", None)
        for channels in sizes:
            try:
                measured += measure_size(channels, work=work, api_url=server.api_url, server_pid=server_pid,
                                         quick=quick)
            except Exception as e:      # one size failing still reports the others
                errors[str(channels)] = f"{type(e).__name__}: {e}"
                rows.append(Row("hourly", f"{channels} ch: run", None, "s", status=MISSED, command=command,
                                note=errors[str(channels)][:400]))
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    rows += _rows(measured, command, TARGET_CHANNELS if TARGET_CHANNELS in sizes else max(sizes))
    details = {
        "sizes": list(sizes),
        "clock": MEASURED_CLOCK.isoformat(),
        "runs": [{"channels": m.channels, "case": m.case, "mode": m.mode, "process_wall_s": m.process_wall_s,
                  "process_cpu_s": m.process_cpu_s, "mirror_cpu_s": m.mirror_cpu_s,
                  "prefect_server_cpu_s": m.prefect_server_cpu_s, **m.result} for m in measured],
        "errors": errors,
    }
    return rows, details


if __name__ == "__main__":
    if sys.argv[1:2] != ["child"]:
        raise SystemExit("usage: python -m bench.hourly_bench child --mode prefect|plain ... (run by python -m bench)")
    child(sys.argv[2:])
