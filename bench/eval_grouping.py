"""How well story grouping recovers labelled stories, fed as the hourly runs would feed it.

    python -m bench.eval_grouping --labelled ../shared/eval/clustering/uci-news-aggregator-subset/uci-news-aggregator_first6367rows.csv

The labelled file lists each story's posts together with rising timestamps, so its own order would
give the answer away: the posts are shuffled (seeds 0..4), cut into batches of one hour's worth of
posts, and fed in that shuffled order with their timestamps as given. Each post's story is read
after the last batch, following recorded merges. Prints B-cubed precision/recall/F1, pairwise F1
and NMI for each seed, then their mean and minimum. `--half even|odd` keeps the stories whose label
hashes even (or odd), to tune on one half of the stories and check the settings on the other.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from tasks.stories.grouping import GroupingParams, StoryGrouper, StoryItem, items_from_frame

METRICS = ("bcubed_precision", "bcubed_recall", "bcubed_f1", "pairwise_f1", "nmi")


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin): per-item overlap, averaged over items."""
    _check(predicted, gold)
    predicted_sizes, gold_sizes = Counter(predicted), Counter(gold)
    overlap = Counter(zip(predicted, gold))
    n = len(gold)
    precision = sum(overlap[(p, g)] / predicted_sizes[p] for p, g in zip(predicted, gold)) / n
    recall = sum(overlap[(p, g)] / gold_sizes[g] for p, g in zip(predicted, gold)) / n
    return precision, recall, _harmonic(precision, recall)


def pairwise_f1(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    """F1 over item pairs: a pair is predicted together, and truly together."""
    _check(predicted, gold)

    def pairs(counts: Counter) -> int:
        return sum(k * (k - 1) // 2 for k in counts.values())

    together = pairs(Counter(zip(predicted, gold)))
    predicted_pairs, gold_pairs = pairs(Counter(predicted)), pairs(Counter(gold))
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / gold_pairs if gold_pairs else 1.0
    return _harmonic(precision, recall)


def nmi(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    """Mutual information over the arithmetic mean of the two entropies (scikit-learn's default)."""
    _check(predicted, gold)
    n = len(gold)
    predicted_sizes, gold_sizes = Counter(predicted), Counter(gold)

    def entropy(counts: Counter) -> float:
        return -sum(c / n * math.log(c / n) for c in counts.values())

    mutual = sum(
        c / n * math.log(c * n / (predicted_sizes[p] * gold_sizes[g]))
        for (p, g), c in Counter(zip(predicted, gold)).items()
    )
    mean_entropy = (entropy(predicted_sizes) + entropy(gold_sizes)) / 2
    return mutual / mean_entropy if mean_entropy > 0 else 1.0


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0


def _check(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> None:
    if len(predicted) != len(gold) or not gold:
        raise ValueError(f"need two equal, non-empty labelings, got {len(predicted)} and {len(gold)} items")


@dataclass(frozen=True, slots=True)
class Scores:
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    pairwise_f1: float
    nmi: float
    stories: int
    seconds: float


def score(predicted: Sequence[Hashable], gold: Sequence[Hashable], stories: int, seconds: float) -> Scores:
    p, r, f = bcubed(predicted, gold)
    return Scores(p, r, f, pairwise_f1(predicted, gold), nmi(predicted, gold), stories, seconds)


def hourly_batch_size(items: Sequence[StoryItem]) -> int:
    """Posts per hour of the stream: the size of each shuffled batch."""
    hours = (max(i.time for i in items) - min(i.time for i in items)).total_seconds() / 3600
    return max(1, round(len(items) / max(hours, 1.0)))


def run_seed(
    items: Sequence[StoryItem], gold: Sequence[Hashable], seed: int, params: GroupingParams, size: int
) -> Scores:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    grouper = StoryGrouper(params)
    assigned: list[str | None] = [None] * len(items)
    started = time.perf_counter()
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        for position, story in zip(chunk, grouper.assign([items[i] for i in chunk])):
            assigned[position] = story
    seconds = time.perf_counter() - started
    # A post with no story (no usable text) counts as a story of its own.
    predicted = [grouper.resolve(s) if s is not None else f"none-{i}" for i, s in enumerate(assigned)]
    return score(predicted, gold, len(set(predicted)), seconds)


def load_labelled(
    path: Path, id_col: str, time_col: str, text_col: str, label_col: str
) -> tuple[list[StoryItem], list[str], list[int]]:
    """Posts and their labels; rows without a label (a truncated last line) are left out and listed."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if label_col not in frame.columns:
        raise ValueError(f"{path}: no label column {label_col!r}")
    unlabelled = frame[label_col].str.strip() == ""
    skipped = [int(i) + 1 for i in frame.index[unlabelled]]
    frame = frame[~unlabelled]
    items = items_from_frame(frame, str(path), id_col, time_col, text_col)
    return items, list(frame[label_col]), skipped


def half_of(items: Sequence[StoryItem], gold: Sequence[str], parity: str) -> tuple[list[StoryItem], list[str]]:
    """The posts of the stories whose label's CRC-32 is even (or odd): a split that never cuts a story."""
    remainder = {"even": 0, "odd": 1}[parity]
    kept = [i for i, label in enumerate(gold) if zlib.crc32(label.encode("utf-8")) % 2 == remainder]
    return [items[i] for i in kept], [gold[i] for i in kept]


def format_table(rows: dict[str, Scores]) -> str:
    header = f"{'run':<8}" + "".join(f"{m:>18}" for m in METRICS) + f"{'stories':>9}{'seconds':>9}"
    lines = [header]
    for name, s in rows.items():
        lines.append(
            f"{name:<8}" + "".join(f"{getattr(s, m):>18.3f}" for m in METRICS) + f"{s.stories:>9}{s.seconds:>9.1f}"
        )
    return "\n".join(lines)


def summarise(per_seed: Sequence[Scores]) -> dict[str, Scores]:
    names = [f.name for f in fields(Scores)]

    def combine(pick) -> Scores:
        values = {n: pick([getattr(s, n) for s in per_seed]) for n in names}
        values["stories"] = round(values["stories"])
        return Scores(**values)

    return {"mean": combine(lambda v: sum(v) / len(v)), "min": combine(min)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_grouping", description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", required=True, type=Path, help="CSV of posts with a story label")
    parser.add_argument("--seeds", type=int, default=5, help="shuffle seeds 0..N-1 (default 5)")
    parser.add_argument("--id-col", default="ID")
    parser.add_argument("--time-col", default="TIMESTAMP")
    parser.add_argument("--text-col", default="TITLE")
    parser.add_argument("--label-col", default="STORY")
    parser.add_argument("--half", choices=("even", "odd"), default=None,
                        help="keep only the stories whose label hashes even (or odd): a held-out split")
    parser.add_argument("--flat-time", action="store_true",
                        help="give every post the same time: shows how much of the score comes from text alone")
    for f in fields(GroupingParams):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    args = parser.parse_args(argv)
    params = GroupingParams(**{f.name: getattr(args, f.name) for f in fields(GroupingParams)})
    try:
        items, gold, skipped = load_labelled(
            args.labelled, args.id_col, args.time_col, args.text_col, args.label_col
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.half:
        items, gold = half_of(items, gold, args.half)
    size = hourly_batch_size(items)
    if args.flat_time:
        first = min(i.time for i in items)
        items = [StoryItem(i.id, first, i.text, i.lang, i.entities, i.urls) for i in items]
    started = time.perf_counter()
    print(f"{len(items)} posts, {len(set(gold))} labelled stories, batches of {size} posts; {params}")
    if skipped:
        print(f"left out {len(skipped)} rows without a {args.label_col} (data rows {skipped})")
    per_seed = {}
    for seed in range(args.seeds):
        per_seed[f"seed {seed}"] = run_seed(items, gold, seed, params, size)
        print(format_table({f"seed {seed}": per_seed[f"seed {seed}"]}).splitlines()[-1], flush=True)
    print(format_table({**per_seed, **summarise(list(per_seed.values()))}))
    print(f"wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
