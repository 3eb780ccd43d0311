"""How well story grouping recovers labelled stories, fed as the hourly runs would feed it.

    python -m bench.eval_grouping --labelled ../shared/eval/clustering/uci-news-aggregator-subset/uci-news-aggregator_first6367rows.csv
    python -m bench.eval_grouping --crisislex ../shared/eval/clustering/crisislext26-dev

Two labelled streams:

- `--labelled`: a CSV of posts with a story label (the UCI news-aggregator subset). The file lists
  each story's posts together with rising timestamps, so its own order would give the answer away:
  the posts are shuffled (seeds 0..4), cut into batches of one hour's worth of posts, and fed in that
  shuffled order with their timestamps as given. Mean and minimum over the seeds are printed.
  `--half even|odd` keeps the stories whose label hashes even (or odd), to tune on one half of the
  stories and check the settings on the other.
- `--crisislex`: a folder of CrisisLexT26 events (one folder per event, `<event>-tweets_labeled.csv`),
  following its PROVENANCE.md: the rows whose Informativeness starts with "Related", the event
  folder as the gold story, time from the tweet id, hourly batches in time order, no language given
  (a tweet id in two events is kept in the first). One run (the order is the stream's own). Also
  printed: B-cubed precision and recall per language (detected here, from script and stop words:
  the grouper gets no language) and how pure the large stories are (share of a story's posts outside
  its majority event, for stories of 20+ posts).

- `--synthetic N`: not a quality measure but the hourly load: the synthetic scenario of the benchmarks
  (`bench.synthetic`, N Telegram channels posting 18-22 posts an hour, texts drawn from the demo
  scenario's English, Arabic and Persian posts), fed hour by hour (`--hours`, default 3); prints each
  hour's posts, grouping seconds, open stories and the saved state's size (JSON, and zlib-compressed as
  signal_desk/stories/assign.py stores it).

Each post's story is read after the last batch, following recorded merges. `--variants` picks what
is measured: `text` (the grouper on text terms alone: `use_vectors=False`), `embedding` (a plain
single pass over the post embeddings: cosine to running centroids, one threshold
`--single-pass-threshold`, stories closed after `window_hours` quiet) and `combined` (the grouper,
text terms and embeddings). Embeddings are computed once per run, outside the grouping time; the
encoder's own speed is printed apart.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import random
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from signal_desk.stories.grouping import GroupingParams, StoryGrouper, StoryItem, hourly_batches, items_from_frame

METRICS = ("bcubed_precision", "bcubed_recall", "bcubed_f1", "pairwise_f1", "nmi")
VARIANTS = ("text", "embedding", "combined")
TWITTER_EPOCH_MS = 1288834974657
PURE_MIN_POSTS = 20             # stories this large are checked for mixing events
PURE_MAX_SHARE = 0.05


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin): per-item overlap, averaged over items."""
    _check(predicted, gold)
    predicted_sizes, gold_sizes = Counter(predicted), Counter(gold)
    overlap = Counter(zip(predicted, gold))
    n = len(gold)
    precision = sum(overlap[(p, g)] / predicted_sizes[p] for p, g in zip(predicted, gold)) / n
    recall = sum(overlap[(p, g)] / gold_sizes[g] for p, g in zip(predicted, gold)) / n
    return precision, recall, _harmonic(precision, recall)


def bcubed_by_group(
    predicted: Sequence[Hashable], gold: Sequence[Hashable], groups: Sequence[Hashable]
) -> dict[Hashable, tuple[int, float, float]]:
    """B-cubed precision and recall averaged over the items of each group (a language), with the
    stories and events counted over all items: (items, precision, recall) per group."""
    _check(predicted, gold)
    predicted_sizes, gold_sizes = Counter(predicted), Counter(gold)
    overlap = Counter(zip(predicted, gold))
    sums: dict[Hashable, list[float]] = {}
    for p, g, group in zip(predicted, gold, groups):
        row = sums.setdefault(group, [0, 0.0, 0.0])
        row[0] += 1
        row[1] += overlap[(p, g)] / predicted_sizes[p]
        row[2] += overlap[(p, g)] / gold_sizes[g]
    return {group: (int(n), p / n, r / n) for group, (n, p, r) in sums.items()}


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


@dataclass(frozen=True, slots=True)
class Purity:
    """How much large stories mix events: for stories of `PURE_MIN_POSTS`+ posts, the share of each
    story's posts outside its majority event."""

    stories: int                # stories of PURE_MIN_POSTS+ posts
    worst_share: float          # the largest such share
    worst_size: int             # that story's posts
    mixed_stories: int          # stories above PURE_MAX_SHARE
    mixed_posts: int            # posts in those stories


def purity(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Purity:
    _check(predicted, gold)
    by_story: dict[Hashable, Counter] = {}
    for p, g in zip(predicted, gold):
        by_story.setdefault(p, Counter())[g] += 1
    large = [(sum(c.values()), 1 - max(c.values()) / sum(c.values())) for c in by_story.values()
             if sum(c.values()) >= PURE_MIN_POSTS]
    worst = max(large, key=lambda x: (x[1], x[0]), default=(0, 0.0))
    mixed = [(size, share) for size, share in large if share > PURE_MAX_SHARE]
    return Purity(len(large), worst[1], worst[0], len(mixed), sum(size for size, _ in mixed))


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


# ---- languages, for the per-language figures only (the grouper is never told) ---------------------

_STOPWORDS = {
    "en": ("the and of to in is for on that with are was this you at from be have it by not what will my "
           "after over as has says more up about out all we our your just can now still than into off who "
           "hits near amid death dead toll killed suspect its their been were how why").split(),
    "es": ("el los las y que por para como pero más fue sus este esta muy hay sin sobre ya también según "
           "tras desde hasta están se lo al").split(),
    "it": ("il di che della per gli sono alla nel dei questo anche è più dalla delle degli tra ancora dopo "
           "alle nella ci si da").split(),
    "fr": ("le les des du et est pour dans une sur au pas qui par ce avec sont aux ont été après cette "
           "leur entre selon où nous").split(),
    # Not languages of the set, but told apart so as not to count as English.
    "tl": "ang ng mga sa po naman yung kung lang ko kong niyo natin tayo kami namin nasa".split(),
    "id": "yang dan di ini itu dengan untuk dari tidak ada akan kita jadi sebuah".split(),
}
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|@\w+|#\w+|^RT\b", re.IGNORECASE)


def detect_language(text: str) -> str:
    """en, es, it, fr, ru or 'other': Cyrillic letters for Russian, else the most stop words (Tagalog and
    Indonesian ones too, so that those count as other)."""
    body = _NOISE.sub(" ", text)
    letters = [c for c in body if c.isalpha()]
    cyrillic = sum("\u0400" <= c <= "\u04ff" for c in letters)
    if letters and cyrillic > len(letters) / 2:
        return "ru"
    if letters and sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) < len(letters) / 2:
        return "other"
    words = _TOKEN.findall(body.lower())
    counts = {lang: sum(w in stops for w in words) for lang, stops in _STOPWORD_SETS.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == "en"))
    return best if counts[best] > 0 and best in ("en", "es", "it", "fr") else "other"


# A word in two lists ("di", "que", "per") tells nothing apart: each list keeps only its own words.
_SHARED = {w for w, n in Counter(w for words in _STOPWORDS.values() for w in set(words)).items() if n > 1}
_STOPWORD_SETS = {lang: frozenset(words) - _SHARED for lang, words in _STOPWORDS.items()}


# ---- the streams ----------------------------------------------------------------------------------

def hourly_batch_size(items: Sequence[StoryItem]) -> int:
    """Posts per hour of the stream: the size of each shuffled batch."""
    hours = (max(i.time for i in items) - min(i.time for i in items)).total_seconds() / 3600
    return max(1, round(len(items) / max(hours, 1.0)))


def shuffled_batches(count: int, seed: int, size: int) -> list[list[int]]:
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return [order[start : start + size] for start in range(0, count, size)]


def time_batches(items: Sequence[StoryItem]) -> list[list[int]]:
    """Positions in time order, cut at each clock hour (as `hourly_batches` cuts items)."""
    position = {id(item): i for i, item in enumerate(items)}
    return [[position[id(item)] for item in batch] for batch in hourly_batches(items)]


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


def tweet_time(tweet_id: str) -> datetime:
    """A tweet's time from its (snowflake) id."""
    millis = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=millis)


def load_crisislex(folder: Path) -> tuple[list[StoryItem], list[str]]:
    """The related tweets of every event folder, the event as the label, in time order."""
    files = sorted(folder.glob("*/*-tweets_labeled.csv"))
    if not files:
        raise ValueError(f"{folder}: no <event>/<event>-tweets_labeled.csv files")
    seen: set[str] = set()
    rows: list[tuple[datetime, str, str, str]] = []
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        frame.columns = [c.strip() for c in frame.columns]
        event = path.parent.name
        for tweet_id, text, informativeness in zip(frame["Tweet ID"], frame["Tweet Text"], frame["Informativeness"]):
            tweet_id = tweet_id.strip().strip('"')
            if not informativeness.startswith("Related") or tweet_id in seen:
                continue
            seen.add(tweet_id)
            rows.append((tweet_time(tweet_id), tweet_id, text, event))
    rows.sort()
    return [StoryItem(id=i, time=t, text=text) for t, i, text, _ in rows], [e for *_, e in rows]


def half_of(items: Sequence[StoryItem], gold: Sequence[str], parity: str) -> tuple[list[StoryItem], list[str]]:
    """The posts of the stories whose label's CRC-32 is even (or odd): a split that never cuts a story."""
    remainder = {"even": 0, "odd": 1}[parity]
    kept = [i for i, label in enumerate(gold) if zlib.crc32(label.encode("utf-8")) % 2 == remainder]
    return [items[i] for i in kept], [gold[i] for i in kept]


def with_vectors(items: Sequence[StoryItem]) -> tuple[list[StoryItem], float]:
    """The items with their embeddings attached (one encoder call); returns the encoder's seconds."""
    from signal_desk.embeddings import embed

    embed(["warm-up"])
    started = time.perf_counter()
    vectors = embed([item.text for item in items])
    seconds = time.perf_counter() - started
    return [dataclasses.replace(item, vector=vector) for item, vector in zip(items, vectors)], seconds


# ---- the baseline: a plain single pass over embeddings ---------------------------------------------

class SinglePass:
    """Each post joins the open story whose running centroid is closest by cosine, when that clears
    `threshold`, else starts a story; a story quiet for `window_hours` is closed. No text, no merges."""

    def __init__(self, threshold: float, window_hours: float) -> None:
        self.threshold = threshold
        self.window = timedelta(hours=window_hours)
        self.sums = np.zeros((0, 512), dtype=np.float32)
        self.centroids = np.zeros((0, 512), dtype=np.float32)
        self.last: list[datetime] = []
        self.open: list[int] = []

    def assign(self, batch: Sequence[StoryItem]) -> list[str]:
        out = []
        for item in batch:
            vector = np.asarray(item.vector, dtype=np.float32)
            self.open = [s for s in self.open if item.time - self.last[s] <= self.window]
            best = None
            if self.open and vector.any():
                sims = self.centroids[self.open] @ vector
                k = int(np.argmax(sims))
                if sims[k] >= self.threshold:
                    best = self.open[k]
            if best is None:
                best = len(self.last)
                self.sums = np.vstack([self.sums, vector[None, :]])
                self.centroids = np.vstack([self.centroids, vector[None, :]])
                self.last.append(item.time)
                self.open.append(best)
            else:
                self.sums[best] += vector
                norm = float(np.linalg.norm(self.sums[best]))
                self.centroids[best] = self.sums[best] / norm if norm else 0.0
                self.last[best] = max(self.last[best], item.time)
            out.append(f"p-{best}")
        return out

    def resolve(self, story: str) -> str:
        return story


def make_grouper(variant: str, params: GroupingParams, single_pass_threshold: float) -> object:
    if variant == "embedding":
        return SinglePass(single_pass_threshold, params.window_hours)
    if variant == "text":
        names = {f.name for f in fields(GroupingParams)}
        # `use_vectors` off: the grouper matches on text terms alone (older groupers have no such switch).
        return StoryGrouper(dataclasses.replace(params, use_vectors=False) if "use_vectors" in names else params)
    return StoryGrouper(params)


def run_batches(
    items: Sequence[StoryItem], gold: Sequence[Hashable], batches: Sequence[Sequence[int]], make: Callable[[], object]
) -> tuple[Scores, list[str]]:
    grouper = make()
    assigned: list[str | None] = [None] * len(items)
    started = time.perf_counter()
    for chunk in batches:
        for position, story in zip(chunk, grouper.assign([items[i] for i in chunk])):
            assigned[position] = story
    seconds = time.perf_counter() - started
    # A post with no story (no usable text) counts as a story of its own.
    predicted = [grouper.resolve(s) if s is not None else f"none-{i}" for i, s in enumerate(assigned)]
    return score(predicted, gold, len(set(predicted)), seconds), predicted


def run_seed(
    items: Sequence[StoryItem], gold: Sequence[Hashable], seed: int, params: GroupingParams, size: int,
    variant: str = "combined", single_pass_threshold: float = 0.2,
) -> Scores:
    batches = shuffled_batches(len(items), seed, size)
    return run_batches(items, gold, batches, lambda: make_grouper(variant, params, single_pass_threshold))[0]


# ---- the hourly load ----------------------------------------------------------------------------------

def synthetic_load(channels: int, hours: int, params: GroupingParams) -> int:
    """Group the synthetic scenario hour by hour; print time, open stories and state size per hour."""
    import json

    from bench.synthetic import synthetic_scenario

    scenario = synthetic_scenario(channels, hours=hours)
    language = {o.handle: o.language for o in scenario.outlets}
    items = [StoryItem(id=f"{p.outlet}/{p.post_id}", time=p.published_at, text=p.text, lang=language[p.outlet])
             for p in scenario.posts]
    print(f"{len(items)} posts from {channels} channels over {hours} hours; {params}")
    if params.use_vectors:
        items, seconds = with_vectors(items)
        print(f"encoder: {len(items)} posts in {seconds:.1f} s, {len(items) / seconds:,.0f} posts/s "
              f"(mean {sum(len(i.text) for i in items) / len(items):.0f} characters)")
    grouper = StoryGrouper(params)
    print(f"{'hour':<6}{'posts':>8}{'seconds':>9}{'posts/s':>9}{'open':>8}{'2+ posts':>10}{'state MB':>10}"
          f"{'zlib MB':>9}{'save s':>8}")
    for hour, batch in enumerate(hourly_batches(items), start=1):
        started = time.perf_counter()
        grouper.assign(batch)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        blob = json.dumps(grouper.to_state(), default=str, ensure_ascii=False).encode("utf-8")
        packed = zlib.compress(blob, 6)
        save = time.perf_counter() - started
        sizes = grouper.story_sizes
        print(f"{hour:<6}{len(batch):>8}{seconds:>9.1f}{len(batch) / seconds:>9,.0f}{len(sizes):>8}"
              f"{sum(1 for n in sizes.values() if n >= 2):>10}{len(blob) / 1e6:>10.2f}{len(packed) / 1e6:>9.2f}"
              f"{save:>8.1f}", flush=True)
    return 0


# ---- printing ---------------------------------------------------------------------------------------

def format_table(rows: dict[str, Scores]) -> str:
    width = max(8, *(len(name) + 1 for name in rows))
    header = f"{'run':<{width}}" + "".join(f"{m:>18}" for m in METRICS) + f"{'stories':>9}{'seconds':>9}"
    lines = [header]
    for name, s in rows.items():
        lines.append(
            f"{name:<{width}}" + "".join(f"{getattr(s, m):>18.3f}" for m in METRICS)
            + f"{s.stories:>9}{s.seconds:>9.1f}"
        )
    return "\n".join(lines)


def summarise(per_seed: Sequence[Scores]) -> dict[str, Scores]:
    names = [f.name for f in fields(Scores)]

    def combine(pick) -> Scores:
        values = {n: pick([getattr(s, n) for s in per_seed]) for n in names}
        values["stories"] = round(values["stories"])
        return Scores(**values)

    return {"mean": combine(lambda v: sum(v) / len(v)), "min": combine(min)}


def format_languages(predicted: Sequence[str], gold: Sequence[str], langs: Sequence[str]) -> str:
    lines = [f"{'lang':<7}{'posts':>7}{'bcubed_p':>10}{'bcubed_r':>10}"]
    for lang, (n, p, r) in sorted(bcubed_by_group(predicted, gold, langs).items(), key=lambda kv: -kv[1][0]):
        lines.append(f"{lang:<7}{n:>7}{p:>10.3f}{r:>10.3f}")
    return "\n".join(lines)


def format_purity(found: Purity) -> str:
    return (f"stories of {PURE_MIN_POSTS}+ posts: {found.stories}; worst share outside its majority event "
            f"{found.worst_share:.3f} (a story of {found.worst_size} posts); above {PURE_MAX_SHARE:.0%}: "
            f"{found.mixed_stories} stories, {found.mixed_posts} posts")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_grouping", description=__doc__.split("\n\n")[0])
    stream = parser.add_mutually_exclusive_group(required=True)
    stream.add_argument("--labelled", type=Path, help="CSV of posts with a story label (shuffled, seeds)")
    stream.add_argument("--crisislex", type=Path, help="CrisisLexT26 folder of event folders (time order)")
    stream.add_argument("--synthetic", type=int, metavar="CHANNELS",
                        help="time the grouping of the benchmarks' synthetic hourly load of CHANNELS channels")
    parser.add_argument("--hours", type=int, default=3, help="hours of synthetic load (--synthetic only)")
    parser.add_argument("--variants", default="combined",
                        help=f"comma-separated, of {', '.join(VARIANTS)} (default combined); 'all' for the three")
    parser.add_argument("--single-pass-threshold", type=float, default=0.2,
                        help="cosine to join a story in the embedding baseline (default 0.2)")
    parser.add_argument("--seeds", type=int, default=5, help="shuffle seeds 0..N-1 (default 5; --labelled only)")
    parser.add_argument("--id-col", default="ID")
    parser.add_argument("--time-col", default="TIMESTAMP")
    parser.add_argument("--text-col", default="TITLE")
    parser.add_argument("--label-col", default="STORY")
    parser.add_argument("--half", choices=("even", "odd"), default=None,
                        help="keep only the stories whose label hashes even (or odd): a held-out split")
    parser.add_argument("--flat-time", action="store_true",
                        help="give every post the same time: shows how much of the score comes from text alone")
    for f in fields(GroupingParams):
        kind = type(f.default)
        if kind is bool:
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=lambda v: v.lower() in ("1", "true", "yes"),
                                default=f.default)
        else:
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)
    args = parser.parse_args(argv)
    params = GroupingParams(**{f.name: getattr(args, f.name) for f in fields(GroupingParams)})
    variants = VARIANTS if args.variants == "all" else tuple(v.strip() for v in args.variants.split(","))
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    if args.synthetic:
        return synthetic_load(args.synthetic, args.hours, params)
    try:
        if args.crisislex:
            items, gold = load_crisislex(args.crisislex)
            skipped: list[int] = []
        else:
            items, gold, skipped = load_labelled(
                args.labelled, args.id_col, args.time_col, args.text_col, args.label_col
            )
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.half:
        items, gold = half_of(items, gold, args.half)
    size = hourly_batch_size(items)
    if args.flat_time:
        first = min(i.time for i in items)
        items = [dataclasses.replace(i, time=first) for i in items]
    started = time.perf_counter()
    if args.crisislex:
        print(f"{len(items)} posts, {len(set(gold))} labelled events, hourly batches in time order "
              f"({len(hourly_batches(items))} batches); {params}")
    else:
        print(f"{len(items)} posts, {len(set(gold))} labelled stories, batches of {size} posts; {params}")
    if skipped:
        print(f"left out {len(skipped)} rows without a {args.label_col} (data rows {skipped})")
    encoder_seconds = 0.0
    if any(v in ("embedding", "combined") for v in variants):
        items, encoder_seconds = with_vectors(items)
        print(f"encoder: {len(items)} posts in {encoder_seconds:.1f} s, {len(items) / encoder_seconds:,.0f} posts/s")
    summary: dict[str, Scores] = {}
    for variant in variants:
        make = lambda: make_grouper(variant, params, args.single_pass_threshold)  # noqa: E731
        print(f"\n== {variant} ==")
        if args.crisislex:
            result, predicted = run_batches(items, gold, time_batches(items), make)
            print(format_table({variant: result}))
            print(format_purity(purity(predicted, gold)))
            print(format_languages(predicted, gold, [detect_language(i.text) for i in items]))
            summary[variant] = result
        else:
            per_seed = {}
            for seed in range(args.seeds):
                per_seed[f"seed {seed}"] = run_seed(items, gold, seed, params, size, variant, args.single_pass_threshold)
                print(format_table({f"seed {seed}": per_seed[f"seed {seed}"]}).splitlines()[-1], flush=True)
            both = summarise(list(per_seed.values()))
            print(format_table({**per_seed, **both}))
            summary[f"{variant} mean"] = both["mean"]
            summary[f"{variant} min"] = both["min"]
    if len(variants) > 1:
        print("\n== summary ==")
        print(format_table(summary))
    grouping_seconds = [s.seconds for name, s in summary.items() if name.startswith("combined") and "min" not in name]
    if grouping_seconds and encoder_seconds:
        per_post = (grouping_seconds[0] + encoder_seconds) / len(items)
        print(f"combined with embeddings: {1 / per_post:,.0f} posts/s "
              f"(grouping {len(items) / grouping_seconds[0]:,.0f} posts/s, encoder {len(items) / encoder_seconds:,.0f})")
    print(f"wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
