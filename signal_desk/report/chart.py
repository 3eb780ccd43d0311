"""The odds chart of a story: its markets' prices over the hours where its statements and the moves
after them are, the statements right before the largest moves named ("Iranian official 20:10"), the
story's other statements as unlabelled ticks.

A PNG drawn with matplotlib's Agg backend (no display needed). Sized in CSS pixels for a phone: the
figure is CSS_WIDTH px wide at 72 px per inch, so a point is a CSS pixel where the email shows it
CSS_WIDTH wide (the column of a 390 px phone is 366 px), and drawn at two device pixels per CSS pixel.
It is quantized to a small palette, which keeps the email small. What it shows is decided in build.py
(`Story.chart`); here it is only drawn.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402

from signal_desk.report.build import VENUE_NAMES, ChartPlan, OddsSeries, Story  # noqa: E402

CSS_WIDTH = 360                 # CSS px the chart is designed at (a phone's column is about 366 px)
SCALE = 2                       # device pixels per CSS pixel
DPI = 72 * SCALE
WIDTH_IN, PLOT_IN = CSS_WIDTH / 72, 3.2
TICK_PT = 12.5                  # = CSS px at CSS_WIDTH: at least 12 px on a 390 px phone
LABEL_PT = 12.5
LINE_COLOURS = ("#1f5fbf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c")
NAMED, TICK = "#c92a2a", "#868e96"
PALETTE = 48                    # colours kept in the PNG
MAX_MOVE_LABELS = 3             # the largest moves get their size ("−14") beside them


def story_chart_png(story: Story, window_start: datetime, window_end: datetime) -> bytes | None:
    """The chart for one story, or None when build.py planned none (no move came right after one of
    its statements) or no market has a price."""
    plan = story.chart
    series = [s for s in story.series if s.points]
    if plan is None or not series:
        return None
    fig = draw(plan, series)
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return _small_png(buf.getvalue())


def draw(plan: ChartPlan, series: list[OddsSeries]):
    """The figure (the caller closes it)."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, PLOT_IN), dpi=DPI, layout="constrained")
    lo, hi = 100.0, 0.0
    for i, s in enumerate(series):
        times, probs = _slice(s, plan.start, plan.end)
        if not times:
            continue
        lo, hi = min(lo, *probs), max(hi, *probs)
        ax.step(times, probs, where="post", linewidth=2.2, color=LINE_COLOURS[i % len(LINE_COLOURS)],
                label=VENUE_NAMES.get(s.venue, s.venue.capitalize()))
    span = max(hi - lo, 10.0)
    rows = _label_rows(plan)
    ax.set_ylim(max(0.0, lo - span * 0.08), min(100.0, hi + span * 0.08) + span * 0.22 * max(rows.values(), default=0))
    ax.set_xlim(plan.start, plan.end)
    for s in plan.ticks:
        ax.axvline(s.post.published_at, ymin=0, ymax=0.07, color=TICK, linewidth=1.4, zorder=1)
    for s in plan.labelled:
        t = s.post.published_at
        row = rows[s]
        ax.axvline(t, color=NAMED, linewidth=1.1, linestyle=(0, (3, 2)), zorder=1)
        right = (t - plan.start) / (plan.end - plan.start) > 0.62
        ax.annotate(s.short_name, xy=(t, 1.0 - 0.03 - 0.15 * (row - 1)), xycoords=("data", "axes fraction"),
                    xytext=(-3 if right else 3, 0), textcoords="offset points", ha="right" if right else "left",
                    va="top", fontsize=LABEL_PT, color=NAMED, fontweight="bold",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    colour = {s.venue + s.market_id: LINE_COLOURS[i % len(LINE_COLOURS)] for i, s in enumerate(series)}
    for m in plan.moves[:MAX_MOVE_LABELS]:
        if m.statement in rows and plan.start <= m.end <= plan.end:
            ax.annotate(f"{'+' if m.delta > 0 else '−'}{abs(m.delta) * 100:.0f}", xy=(m.end, m.after * 100),
                        xytext=(3, -3 if m.delta < 0 else 3), textcoords="offset points", ha="left",
                        va="top" if m.delta < 0 else "bottom", fontsize=LABEL_PT - 1, fontweight="bold",
                        color=colour.get(m.venue + m.market_id, "#495057"))
    ax.yaxis.set_major_locator(mticker.MaxNLocator(4))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:.0f}%"))
    hours = (plan.end - plan.start) / timedelta(hours=1)
    ax.xaxis.set_major_locator(mdates.HourLocator(interval=max(1, round(hours / 4))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.tick_params(labelsize=TICK_PT, length=4)
    days = sorted({plan.start.strftime("%d %b"), plan.end.strftime("%d %b")})
    ax.set_xlabel(f"{' – '.join(days)} (UTC)", fontsize=TICK_PT, color="#495057")
    ax.grid(axis="y", color="#e9ecef", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(loc="outside lower center", ncol=len(series), fontsize=TICK_PT, frameon=False, handlelength=1.2,
               columnspacing=1.0, handletextpad=0.4)
    return fig


def _slice(s: OddsSeries, start: datetime, end: datetime) -> tuple[list[datetime], list[float]]:
    """The series between start and end, with the price at start and held to end."""
    before = [p for t, p in s.points if t <= start]
    inside = [(t, p) for t, p in s.points if start < t <= end]
    pts = ([(start, before[-1])] if before else []) + inside
    if not pts:
        return [], []
    pts.append((end, pts[-1][1]))
    return [t for t, _ in pts], [p * 100 for _, p in pts]


def _label_rows(plan: ChartPlan) -> dict:
    """A row for each named statement so that labels close in time do not overlap (about 8 CSS px per
    character at LABEL_PT)."""
    rows: dict = {}
    ends: dict[int, float] = {}
    width = plan.end - plan.start
    for s in plan.labelled:
        x = (s.post.published_at - plan.start) / width * CSS_WIDTH
        w = len(s.short_name) * LABEL_PT * 0.62 + 8
        right = x / CSS_WIDTH > 0.62
        left_edge, right_edge = (x - w, x) if right else (x, x + w)
        row = next(r for r in range(1, len(plan.labelled) + 2) if ends.get(r, -1e9) < left_edge)
        rows[s] = row
        ends[row] = right_edge
    return rows


def _small_png(png: bytes) -> bytes:
    """The same picture with a small palette: a chart of a few flat colours loses nothing visible."""
    from PIL import Image
    img = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=PALETTE, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()
