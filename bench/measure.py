"""What every benchmark figure carries: a row in the printed table and the JSON, with the machine's
core count and the command that produced it; plus the small timing helpers the sections share."""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

MET, MISSED, INFO, UNAVAILABLE = "met", "MISSED", "info", "not available"
FAILED = "failed"     # the section broke, or measured something that cannot be right: the bench exits 1


@dataclass(slots=True)
class Row:
    section: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    status: str = INFO
    note: str = ""
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    command: str = ""

    def __post_init__(self) -> None:
        self.note = " ".join(self.note.split())     # error messages span lines; a table cell must not

    def as_dict(self) -> dict:
        return asdict(self)


def judged(ok: bool) -> str:
    return MET if ok else MISSED


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gib": _memory_gib(),
        "load_average_1_5_15": [round(x, 2) for x in load] if load else None,
    }


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def command_line(argv: list[str] | None = None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["./run bench", *args]).strip()


@dataclass(slots=True)
class CallTimes:
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)      # this thread's CPU time: what load cannot inflate


def interleaved_calls(calls: dict[str, Callable[[], object]], *, min_seconds: float, min_rounds: int = 5,
                      max_rounds: int = 10_000) -> dict[str, CallTimes]:
    """Time several calls round by round, each once a round in an order that rotates, so that a busy
    spell of the machine falls on all of them alike; wall and CPU time per call, after one warm-up
    round. Timing each call in its own block instead lets a short call slip between interruptions
    that a long one always meets: the ratio of the two then follows the machine's load."""
    names = list(calls)
    for name in names:
        calls[name]()
    times = {name: CallTimes() for name in names}
    started = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - started < min_seconds):
        shift = rounds % len(names)
        for name in names[shift:] + names[:shift]:
            w0, c0 = time.perf_counter(), time.thread_time()
            calls[name]()
            c1, w1 = time.thread_time(), time.perf_counter()
            times[name].wall_s.append(w1 - w0)
            times[name].cpu_s.append(c1 - c0)
        rounds += 1
    return times


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def median(values: list[float]) -> float:
    return statistics.median(values)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of another process so far (Linux /proc), for the mirror and the Prefect server."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError, IndexError):
        return None


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or (float(value).is_integer() and unit not in ("s", "ms")):
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    """A plain-text table, section by section."""
    headers = ("section", "measure", "value", "target", "status")
    cells = [(r.section, r.name, fmt(r.value, r.unit), r.target, r.status) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    widths[1] = min(widths[1], 64)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for c in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip())
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    lines = ["| section | measure | value | target | status |", "|---|---|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r.section} | {r.name} | {fmt(r.value, r.unit)} | {r.target} | {r.status} |")
    return "\n".join(lines)


def run_measured(args: list[str], *, cwd, env: dict, log, timeout_s: float) -> tuple[float, float, int]:
    """Run a command to its end, its output in `log` (a Path); returns wall seconds, CPU seconds of it and
    of everything it waited for (`wait4`), and its exit code. Killed, and an error, after `timeout_s`."""
    import subprocess
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"{log.stem}: no result after {timeout_s:.0f} s (log: {log})")
            time.sleep(0.02)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)
