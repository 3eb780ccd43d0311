"""The odds chart: each linked market's price over the report window, the story's statements marked.

A PNG drawn with matplotlib's Agg backend (no display needed), sized for a 600 px wide email column
and drawn at twice that for sharp phone screens. Statement markers carry the timeline numbers the
report prints beside each statement.
"""
from __future__ import annotations

import io
import textwrap
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

from tasks.report.build import Statement, Story  # noqa: E402

# Inches chosen so that, shown 600 px wide (or ~360 on a phone), a 10 pt label reads as 10-17 px.
WIDTH_IN, PLOT_IN, LEGEND_LINE_IN, DPI = 4.6, 2.9, 0.2, 260
LINE_COLOURS = ("#1f5fbf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c")
FIRST_REPORT, STATEMENT = "#c92a2a", "#868e96"


def story_chart_png(story: Story, window_start: datetime, window_end: datetime) -> bytes | None:
    """The chart for one story, or None when none of its markets has a price in the window."""
    series = [s for s in story.series if len(s.points) >= 1]
    if not series:
        return None
    labels = [_legend_label(s.venue, s.question, s.outcome) for s in series]
    legend_lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, PLOT_IN + LEGEND_LINE_IN * legend_lines), dpi=DPI,
                           layout="constrained")
    try:
        for i, (s, label) in enumerate(zip(series, labels)):
            times = [t for t, _ in s.points] + [window_end]
            probs = [p * 100 for _, p in s.points] + [s.points[-1][1] * 100]
            ax.step(times, probs, where="post", linewidth=1.8, color=LINE_COLOURS[i % len(LINE_COLOURS)],
                    label=label)
        _mark_statements(ax, story, window_start, window_end)
        ax.set_xlim(window_start, window_end)
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(0.0, lo - 2), min(100.0, hi + 8))
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=5))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%H:%M"))
        ax.tick_params(labelsize=10)
        ax.grid(axis="y", color="#e9ecef", linewidth=0.8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title("Odds (UTC). Numbered lines: statements of the\ntimeline; red: the first report",
                     fontsize=10, loc="left", color="#343a40")
        fig.legend(loc="outside lower left", ncol=1, fontsize=9.5, frameon=False, handlelength=1.5)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def _mark_statements(ax, story: Story, start: datetime, end: datetime) -> None:
    """A line per statement; statements close together share one label ("3–9") so numbers stay legible."""
    inside = [s for s in story.statements if start <= s.post.published_at <= end]
    close = (end - start) / 45
    clusters: list[list[Statement]] = []
    for s in inside:
        if clusters and s.post.published_at - clusters[-1][-1].post.published_at <= close:
            clusters[-1].append(s)
        else:
            clusters.append([s])
    for s in inside:
        colour = FIRST_REPORT if s.is_first_report else STATEMENT
        ax.axvline(s.post.published_at, color=colour, linewidth=1.2 if s.is_first_report else 0.6,
                   linestyle="-" if s.is_first_report else (0, (2, 2)), zorder=0)
    for i, group in enumerate(clusters):
        first, last = group[0].number, group[-1].number
        label = str(first) if first == last else f"{first}–{last}"
        colour = FIRST_REPORT if any(s.is_first_report for s in group) else "#495057"
        ax.annotate(label, xy=(group[0].post.published_at, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -9 - 13 * (i % 2)), textcoords="offset points", ha="left", va="center",
                    fontsize=9, color=colour, fontweight="bold",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=colour, lw=0.6))


def _legend_label(venue: str, question: str, outcome: str) -> str:
    q = question if len(question) <= 100 else question[:97] + "..."
    return textwrap.fill(f"{venue.capitalize()}: {q} ({outcome})", 52, subsequent_indent="  ")
