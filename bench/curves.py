"""The cost curves of a bench result: an hourly run's cost against the channels it reads, and one hour's
signal computation against the history behind it, drawn as a PNG beside the JSON."""
from __future__ import annotations

import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def hourly_points(result: dict) -> dict[str, list[tuple[int, float, float]]]:
    """Per case: (channels, wall s, CPU s) of the Prefect runs."""
    points: dict[str, list[tuple[int, float, float]]] = {}
    for run in (result.get("sections", {}).get("hourly") or {}).get("runs", []):
        if run["mode"] == "prefect":
            points.setdefault(run["case"], []).append((run["channels"], run["flow_wall_s"], run["flow_cpu_s"]))
    return {case: sorted(p) for case, p in points.items()}


def growth_points(result: dict) -> list[tuple[int, float, float]]:
    """(items of history, median signals s, median landing s) for one hour's new items."""
    points = []
    for entry in ((result.get("sections", {}).get("growth") or {}).get("sizes") or {}).values():
        hours = entry.get("hours") or []
        if hours:
            points.append((entry["items"], statistics.median(h["signals_s"] for h in hours),
                           statistics.median(h["land_s"] for h in hours)))
    return sorted(points)


def draw(result: dict, out: Path) -> Path | None:
    """Write the curves the result has data for; None when it has neither section."""
    hourly, growth = hourly_points(result), growth_points(result)
    if not hourly and not growth:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for case, style in (("new posts", "-"), ("no change", "--")):
        pts = hourly.get(case) or []
        if pts:
            xs = [p[0] for p in pts]
            left.plot(xs, [p[1] for p in pts], style, marker="o", color="tab:blue", label=f"{case}: wall")
            left.plot(xs, [p[2] for p in pts], style, marker="s", color="tab:orange", label=f"{case}: CPU")
    left.set(title="Hourly run against channels", xlabel="channels", ylabel="seconds")
    left.set_ylim(bottom=0)
    if growth:
        xs = [p[0] for p in growth]
        right.plot(xs, [p[1] for p in growth], marker="o", color="tab:green", label="signals for one hour")
        right.plot(xs, [p[2] for p in growth], marker="s", color="tab:gray", label="landing one hour's items")
        right.set_xscale("log")
    right.set(title="One hour's cost against history", xlabel="items of history", ylabel="seconds (median)")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    load = result.get("machine", {}).get("load_average_1_5_15")
    fig.suptitle(f"{result.get('command', './run bench')}, {str(result.get('date', ''))[:10]}, "
                 f"{result.get('machine', {}).get('cores')} cores, load {load} at the start, "
                 f"{result.get('load_average_at_end')} at the end", fontsize=9)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
