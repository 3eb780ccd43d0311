"""Online story grouping: each hourly batch of posts joins the open stories or starts new ones.

A story is a keyword sketch (how many of its posts carry each term) and an embedding centroid (the
normalised sum of its posts' sentence embeddings, from one multilingual encoder). A post joins the
story it is most similar to, when that similarity clears a threshold; otherwise it starts a story of
its own, which later batches may still attach. The similarity adds the two kinds of evidence: the
cosine between the post's weighted terms and the story's sketch (names, places, hashtags: what tells
two stories of one subject apart) and the cosine between the post's embedding and the story's
centroid (what a post means, in any language: what holds a story together when its posts share few
words), both fading with the time since the story was last active.

Term weights come from the stream itself: a term concentrated in few stories weighs much, a term
spread over many ("the", "rt", "في") weighs little, so no stop-word list is needed in any language.
Closed stories leave their terms in a decayed background count, so that a stream with few open stories
still knows its function words. Posts in different languages meet through their embeddings and through
language-independent evidence (canonical entity ids, URLs, numbers) close in time. Stories that turn
out to be one are merged, and the merge is recorded (`merges`), never renumbered. Only stories active
within `window_hours` are kept, so the cost of a batch follows the batch and the open stories, not the
history.

    python -m signal_desk.stories.grouping --in posts.csv --out stories.csv \\
        --id-col ID --time-col TIMESTAMP --text-col TITLE [--lang-col LANG] [--entities-col ENTITIES]
"""
from __future__ import annotations

import argparse
import base64
import heapq
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from signal_desk.items import Item
from signal_desk.stories.text import (
    ENTITY_PREFIX,
    LANGUAGE_INDEPENDENT_PREFIXES,
    NUMBER_PREFIX,
    URL_PREFIX,
    dominant_script,
    normalise_url,
    text_features,
)

STATE_VERSION = 2
READABLE_STATE_VERSIONS = (1, 2)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROS_PER_HOUR = 3_600_000_000
ANCHOR_PREFIXES = (ENTITY_PREFIX, URL_PREFIX)
DIM = 512                       # the encoder's vector size (signal_desk.embeddings.DIM)
# A story's term counts enter its sketch damped (count ** 0.75), so the story is found by its recurring
# words, not mostly by the one every post carries (the company, "gas", "bankruptcy"): a post sharing
# only that word scores lower, one sharing several of the others higher.
COUNT_DAMPING = 0.75
_DAMPED = [c ** COUNT_DAMPING for c in range(4096)]
# Closed stories feed a background count of the stories holding each term, decayed so that it stands
# for about the last BACKGROUND_STORIES closed stories; it keeps the BACKGROUND_TERMS most held terms.
BACKGROUND_STORIES = 1000
BACKGROUND_TERMS = 20_000
BACKGROUND_FLOOR = 0.05
# Every post also counts into a decayed table of how many recent posts (about the last POST_HORIZON)
# carry each term; a term carried by a share q of them weighs at most log(1 / q) + log(1 + D / CAP_STORIES),
# D the stories the weights are counted over (open, closed in the background, and the batch's posts). On
# a young or sparse stream, where few stories inform the weights, this is what keeps "rt", "the" and "in"
# light; on a busy one the cap is loose and the stories decide. The table is decayed every
# POST_DECAY_EVERY posts, keeping terms seen about twice or more, at most POST_TERMS.
CAP_STORIES = 20
POST_HORIZON = 20000
POST_DECAY_EVERY = 100
POST_TERMS = 5000
ENTITY_AGREEMENT = 0.3
SCRIPT_OVERLAP = 0.2
# A story keeps the counts of its TERM_CAP most frequent terms (pruned when it holds twice as many).
TERM_CAP = 256
# Posts are compared with the open stories' centroids a block at a time (one matrix product per block).
BLOCK = 256


@dataclass(frozen=True, slots=True)
class GroupingParams:
    # With embeddings: a post joins a story when
    #   fading x ((1 - vector_weight) x text cosine + vector_weight x embedding cosine) >= joint_threshold.
    joint_threshold: float = 0.275
    joint_merge_threshold: float = 0.45     # the same, story to story
    vector_weight: float = 0.5
    # Posts and stories written in different scripts share no words: for them an embedding cosine of
    # cross_threshold (post to story) or cross_merge_threshold (story to story) is enough on its own.
    cross_threshold: float = 0.50
    cross_merge_threshold: float = 0.65
    # The thresholds above hold for a stream as busy as `busy_stories`: open stories of two or more posts
    # plus the batch's posts. With n, they are scaled by (1 + busy_slope x ln(1 + n)) / (1 + busy_slope x
    # ln(1 + busy_stories)): the more stories run side by side, the closer the best of them comes by chance.
    busy_stories: int = 250
    # Canonical entity ids (from the annotation) agreeing or not: when the post (story) carries ids, the
    # joint score with a story is multiplied by 1 + entity_factor if their ids agree (cosine over the ids
    # of at least ENTITY_AGREEMENT), by 1 - entity_factor if they do not (other ids, or none). A post
    # without ids, and a stream without ids like the labelled ones, is untouched.
    entity_factor: float = 0.20
    # Two stories of one script, of two or more posts each, merge only when their sketches' cosine is at
    # least this: close meanings in different words ("flood" and "train crash") are two stories.
    merge_text_floor: float = 0.10
    busy_slope: float = 0.08
    # On text terms alone (use_vectors off, or a post or story without an embedding).
    threshold: float = 0.19         # post-to-story cosine needed to join a story
    merge_threshold: float = 0.24   # story-to-story cosine needed to merge two stories
    link_threshold: float = 0.50    # cosine over entities/URLs/numbers alone, for cross-language links
    window_hours: float = 168.0     # matches fade to nothing over this quiet time, then the story closes
    link_hours: float = 12.0        # entity-only links need posts this close in time
    sketch_size: int = 48           # terms kept per story for matching
    use_vectors: bool = True        # match on embeddings too (computed with signal_desk.embeddings when absent)

    def __post_init__(self) -> None:
        for name in ("threshold", "merge_threshold", "link_threshold", "joint_threshold", "joint_merge_threshold",
                     "cross_threshold", "cross_merge_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"GroupingParams.{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not 0.0 <= self.vector_weight <= 1.0:
            raise ValueError(f"GroupingParams.vector_weight must be in [0, 1], got {self.vector_weight!r}")
        if self.window_hours <= 0 or self.link_hours <= 0 or self.sketch_size < 1:
            raise ValueError(f"GroupingParams needs positive hours and sketch_size, got {self}")


@dataclass(frozen=True, slots=True)
class StoryItem:
    """One post as the grouper sees it. `entities` are canonical ids (one id for every spelling);
    `vector` is the post's embedding (signal_desk.embeddings.embed of its text), computed when absent."""

    id: str
    time: datetime
    text: str = ""
    lang: str | None = None
    entities: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    vector: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def coerce(cls, value: StoryItem | Mapping[str, Any]) -> StoryItem:
        if isinstance(value, StoryItem):
            item = value
        elif isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise ValueError(f"story item {value.get('id')!r}: unknown keys {sorted(unknown)}")
            item = cls(
                id=value["id"], time=value["time"], text=value.get("text") or "", lang=value.get("lang"),
                entities=tuple(value.get("entities") or ()), urls=tuple(value.get("urls") or ()),
                vector=value.get("vector"),
            )
        else:
            raise TypeError(f"story item must be a StoryItem or a mapping, got {type(value).__name__}")
        if not isinstance(item.time, datetime) or item.time.tzinfo is None:
            raise ValueError(f"story item {item.id!r}: time must be a timezone-aware datetime, got {item.time!r}")
        if item.vector is not None and np.shape(item.vector) != (DIM,):
            raise ValueError(f"story item {item.id!r}: vector must have {DIM} values, got shape {np.shape(item.vector)}")
        return item


def story_item_from(item: Item, entities: Sequence[str] = (), vector: Any = None) -> StoryItem:
    """The grouper's view of a landed post: its text, link preview title and outlinks."""
    text = "\n".join(part for part in (item.text, item.link_preview_title) if part)
    urls = [*item.outlinks, *([item.link_preview_url] if item.link_preview_url else [])]
    return StoryItem(
        id=f"{item.source_id}/{item.item_id}", time=item.published_at, text=text, lang=item.lang,
        entities=tuple(entities), urls=tuple(urls), vector=vector,
    )


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def story_id(number: int) -> str:
    return f"s-{number:06d}"


def item_terms(item: StoryItem) -> list[str]:
    """The features of one post: words, then numbers, URLs and entity ids, prefixed."""
    found = text_features(item.text)
    urls = [*found.urls, *(normalise_url(u) for u in item.urls if u and u.strip())]
    terms = [
        *found.words,
        *(NUMBER_PREFIX + n for n in found.numbers),
        *(URL_PREFIX + u for u in urls if u),
        *(ENTITY_PREFIX + e.strip() for e in item.entities if e and e.strip()),
    ]
    return list(dict.fromkeys(terms))


def _damped(count: int) -> float:
    return _DAMPED[count] if count < len(_DAMPED) else count ** COUNT_DAMPING


def _is_language_independent(term: str) -> bool:
    return term.startswith(LANGUAGE_INDEPENDENT_PREFIXES)


def _is_anchor(term: str) -> bool:
    return term.startswith(ANCHOR_PREFIXES)


def encode_centroid(centroid: np.ndarray) -> str:
    """A unit vector as base64 of its float16 values (1 KB for 512 values)."""
    return base64.b64encode(np.asarray(centroid, dtype="<f2").tobytes()).decode("ascii")


def decode_centroid(text: str) -> np.ndarray:
    values = np.frombuffer(base64.b64decode(text), dtype="<f2")
    if values.shape != (DIM,):
        raise ValueError(f"story centroid has {values.size} values, expected {DIM}")
    return values.astype(np.float32)


@dataclass(slots=True)
class _Vector:
    weights: dict[str, float]
    norm: float

    @classmethod
    def of(cls, weights: dict[str, float]) -> _Vector:
        return cls(weights, math.sqrt(sum(w * w for w in weights.values())))


@dataclass(slots=True)
class _Story:
    number: int
    size: int
    first: int                      # microseconds since the epoch, UTC
    last: int
    terms: dict[str, int]           # posts of the story carrying each term
    langs: dict[str, int] = field(default_factory=dict)
    scripts: dict[str, int] = field(default_factory=dict)   # posts per dominant script (text.dominant_script)
    # Sum of the story's post embeddings (float32), None until a post with an embedding joins. Between
    # batches it is kept as its saved form: the float16 unit centroid times `vector_norm`.
    vector_sum: np.ndarray | None = None
    vector_norm: float = 0.0
    sketch: _Vector | None = None   # top terms by count x weight, all kinds
    independent: _Vector | None = None  # entities, URLs and numbers only
    # Kept between sketches so that adding a post rescores its own terms only: each term's score under
    # the current weights, its position in `terms` (ties rank in that order), and the anchor terms.
    scores: dict[str, float] | None = None
    positions: dict[str, int] = field(default_factory=dict)
    anchors: dict[str, None] = field(default_factory=dict)
    defaulted: bool = False         # some term had no weight of its own (its score moves with the story count)

    def gap(self, micros: int) -> int:
        return max(0, self.first - micros, micros - self.last)

    @property
    def script_shares(self) -> np.ndarray:
        """The share of the story's posts written in each script (script_index), zeros without letters."""
        return script_shares(self.scripts)

    def span_gap(self, other: _Story) -> int:
        return max(0, self.first - other.last, other.first - self.last)

    def settle_vector(self) -> None:
        """Round the embedding sum to what the saved state holds, so a restored grouper continues exactly."""
        if self.vector_sum is None:
            return
        norm = float(np.sqrt(np.dot(self.vector_sum, self.vector_sum)))
        if norm == 0.0:
            self.vector_sum, self.vector_norm = None, 0.0
            return
        centroid = (self.vector_sum / np.float32(norm)).astype(np.float16)
        self.vector_norm = norm
        self.vector_sum = centroid.astype(np.float32) * np.float32(norm)

    def prune_terms(self) -> None:
        """Keep a large story's TERM_CAP most frequent terms (the latest first among equals) once it holds
        twice as many: its rare words never reach its sketch, and they would cost every batch."""
        if len(self.terms) <= 2 * TERM_CAP:
            return
        order = sorted(enumerate(self.terms.items()), key=lambda x: (-x[1][1], -x[0]))
        kept = {term for _, (term, _) in order[:TERM_CAP]}
        self.terms = {t: c for t, c in self.terms.items() if t in kept}
        self.scores = None

    def restore_vector(self, centroid: str | None, norm: float | None) -> None:
        if centroid and norm:
            self.vector_norm = float(norm)
            self.vector_sum = decode_centroid(centroid) * np.float32(self.vector_norm)


@dataclass(slots=True)
class _Post:
    terms: list[str]
    micros: int
    lang: str | None
    vector: np.ndarray | None       # unit vector; None without one (or with use_vectors off)
    script: str | None = None


_SCRIPT_CODES: dict[str, int] = {}


SCRIPTS = 16


def script_shares(counts: Mapping[str, int]) -> np.ndarray:
    """Posts per script as shares, one slot per script name (in order of first use; 16 slots)."""
    shares = np.zeros(SCRIPTS, dtype=np.float32)
    total = sum(counts.values())
    for script, count in counts.items():
        shares[min(_SCRIPT_CODES.setdefault(script, len(_SCRIPT_CODES)), SCRIPTS - 1)] += count / total
    return shares


class _Columns:
    """The open stories of one batch as arrays, one column each, for matching on embeddings.

    `sums` holds each story's embedding sum. Posts are matched a block at a time: at a block's start
    one matrix product gives each post's dot product with every story's sum, and the block's own Gram
    matrix is kept; when a post joins (or starts) a story, its Gram column is added to the story's
    column, so the block's later posts see the story as it now is without another product."""

    def __init__(self, stories: list[_Story], posts: int) -> None:
        capacity = len(stories) + posts
        self.sums = np.zeros((capacity, DIM), dtype=np.float32)
        self.norm2 = np.zeros(capacity, dtype=np.float64)
        self.first = np.zeros(capacity, dtype=np.int64)
        self.last = np.zeros(capacity, dtype=np.int64)
        self.size = np.zeros(capacity, dtype=np.int64)
        self.alive = np.zeros(capacity, dtype=bool)
        self.scripts = np.zeros((capacity, SCRIPTS), dtype=np.float32)   # script_shares
        self.named = np.zeros(capacity, dtype=bool)     # the story carries canonical entity ids
        self.numbers: list[int] = []
        self.col: dict[int, int] = {}
        self.count = 0
        self._block: tuple[int, int, np.ndarray, np.ndarray] | None = None   # start, end, dots, gram
        for story in stories:
            self.add(story)

    def add(self, story: _Story) -> int:
        c = self.count
        self.count += 1
        self.numbers.append(story.number)
        self.col[story.number] = c
        if story.vector_sum is not None:
            self.sums[c] = story.vector_sum
            self.norm2[c] = float(np.dot(self.sums[c], self.sums[c]))
        self.sync(story)
        return c

    def sync(self, story: _Story) -> None:
        c = self.col[story.number]
        self.first[c], self.last[c], self.size[c] = story.first, story.last, story.size
        self.scripts[c] = story.script_shares
        self.named[c] = any(t.startswith(ENTITY_PREFIX) for t in story.anchors)
        self.alive[c] = True

    def post_dots(self, vectors: np.ndarray, index: int) -> np.ndarray:
        """Dot products of post `index` of the batch with every column's sum (a view: do not keep)."""
        if self._block is None or not self._block[0] <= index < self._block[1]:
            start, end = index, min(index + BLOCK, len(vectors))
            block = vectors[start:end]
            # Columns the block's posts may start are zero rows until then: their dots start at zero.
            width = min(self.count + (end - start), len(self.sums))
            dots = block @ self.sums[:width].T
            self._block = (start, end, dots, block @ block.T)
        start, _, dots, _ = self._block
        return dots[index - start, : self.count]

    def join(self, c: int, vectors: np.ndarray, index: int) -> None:
        """Post `index` (whose dots were just read) joins column c."""
        start, _, dots, gram = self._block
        dots[:, c] += gram[:, index - start]
        self.sums[c] += vectors[index]
        self.norm2[c] = float(np.dot(self.sums[c], self.sums[c]))

    def cosines(self, dots: np.ndarray) -> np.ndarray:
        norms = np.sqrt(self.norm2[: self.count])
        out = np.zeros(self.count, dtype=np.float64)
        np.divide(dots, norms, out=out, where=norms > 0)
        return out


class StoryGrouper:
    """Keeps the open stories between batches; `assign` places a batch of posts into them."""

    def __init__(self, params: GroupingParams | None = None) -> None:
        self.params = params or GroupingParams()
        self.merges: list[tuple[str, str, datetime]] = []
        self._stories: dict[int, _Story] = {}
        self._next_number = 1
        self._watermark: int | None = None
        self._absorbed: dict[str, str] = {}
        self._weights: dict[str, float] = {}
        self._index: dict[str, dict[int, float]] = {}     # term -> stories whose sketch has it, with its weight there
        self._anchor_index: dict[str, dict[int, None]] = {}
        self._background: dict[str, float] = {}            # term -> decayed count of closed stories holding it
        self._background_stories = 0.0                     # decayed count of closed stories
        self._post_terms: dict[str, float] = {}            # term -> decayed count of recent posts carrying it
        self._posts_seen = 0.0                              # decayed count of recent posts
        self._posts_pending = 0                             # posts counted since the last decay step
        self._columns: _Columns | None = None
        self._changed: dict[int, None] = {}                # stories that changed this batch
        self._scale = 1.0                                  # the joint thresholds' factor for this batch

    # ---- public API -----------------------------------------------------------------------------

    def assign(self, batch: Iterable[StoryItem | Mapping[str, Any]]) -> list[str | None]:
        """Story id of each post of the batch, in order; None for a post with no usable text."""
        items = [StoryItem.coerce(x) for x in batch]
        vectors = self._vectors(items)
        posts = [
            _Post(item_terms(it), _micros(it.time), it.lang,
                  None if vectors is None or not vectors[i].any() else vectors[i], dominant_script(it.text))
            for i, it in enumerate(items)
        ]
        placed = [p for p in posts if p.terms]
        if not placed:
            return [None] * len(posts)
        self._watermark = max(self._watermark or placed[0].micros, *(p.micros for p in placed))
        self._retire_quiet_stories()
        self._count_posts([p.terms for p in placed])
        self._refresh(batch_terms=[p.terms for p in placed])
        columns = self._columns = _Columns([self._stories[n] for n in sorted(self._stories)], len(posts))
        busy = sum(1 for story in self._stories.values() if story.size >= 2) + len(placed)
        self._scale = ((1 + self.params.busy_slope * math.log1p(busy))
                       / (1 + self.params.busy_slope * math.log1p(self.params.busy_stories)))
        numbers: list[int | None] = []
        touched: dict[int, None] = {}
        for index, post in enumerate(posts):
            if not post.terms:
                numbers.append(None)
                continue
            cosines = None
            if post.vector is not None:
                cosines = columns.cosines(columns.post_dots(vectors, index))
            number = self._best_story_for(
                self._post_vectors(post.terms), cosines, post.micros, exclude=None, span=None, size=1,
                scripts=script_shares({post.script: 1}) if post.script else None,
            )
            number = self._add(post, number)
            if post.vector is not None:
                columns.join(columns.col[number], vectors, index)
            touched[number] = None
            numbers.append(number)
        self._refresh(batch_terms=[])
        self._merge_stories(touched)
        for number in self._changed:
            story = self._stories.get(number)
            if story is not None:
                story.settle_vector()
                story.prune_terms()
        self._changed = {}
        self._columns = None
        return [None if n is None else self.resolve(story_id(n)) for n in numbers]

    def resolve(self, story: str) -> str:
        """The story that `story` now lives in, following recorded merges."""
        while story in self._absorbed:
            story = self._absorbed[story]
        return story

    @property
    def story_sizes(self) -> dict[str, int]:
        """Posts per open story."""
        return {story_id(s.number): s.size for s in self._stories.values()}

    def story_keywords(self, story: str, limit: int = 10) -> list[str]:
        """The heaviest terms of an open story's sketch, for labelling it."""
        found = self._stories.get(self._number_of(self.resolve(story)))
        if found is None:
            raise KeyError(f"no open story {story!r}")
        scored = self._term_scores(found)
        return sorted(scored, key=scored.__getitem__, reverse=True)[:limit]

    def story_centroid(self, story: str) -> np.ndarray | None:
        """An open story's embedding centroid (unit length), None when none of its posts had one."""
        found = self._stories.get(self._number_of(self.resolve(story)))
        if found is None:
            raise KeyError(f"no open story {story!r}")
        if found.vector_sum is None:
            return None
        return found.vector_sum / np.float32(np.sqrt(np.dot(found.vector_sum, found.vector_sum)))

    # ---- state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue later, as JSON-ready plain data. A story's centroid is its unit
        embedding centroid as base64 float16 (1,368 characters), `vector_norm` the length of the sum."""
        return {
            "version": STATE_VERSION,
            "params": asdict(self.params),
            "next_number": self._next_number,
            "watermark": None if self._watermark is None else _moment(self._watermark).isoformat(),
            "stories": [self._story_row(s) for s in self._stories.values()],
            "merges": [
                {"absorbed_id": a, "into_id": b, "at": at.isoformat()} for a, b, at in self.merges
            ],
            "background": {"stories": self._background_stories, "terms": dict(self._background),
                           "posts": self._posts_seen, "posts_pending": self._posts_pending,
                           "post_terms": dict(self._post_terms)},
        }

    @staticmethod
    def _story_row(s: _Story) -> dict[str, Any]:
        centroid = None
        if s.vector_sum is not None:
            centroid = encode_centroid(s.vector_sum / np.float32(s.vector_norm))
        return {
            "story_id": story_id(s.number), "size": s.size,
            "first_time": _moment(s.first).isoformat(), "last_time": _moment(s.last).isoformat(),
            "terms": dict(s.terms), "langs": dict(s.langs), "scripts": dict(s.scripts),
            "centroid": centroid, "vector_norm": s.vector_norm if centroid else None,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StoryGrouper:
        """A grouper continuing from `to_state()`; version-1 states (no centroids, no background) load
        too, their stories taking a centroid from their next posts."""
        if state.get("version") not in READABLE_STATE_VERSIONS:
            raise ValueError(f"story grouper state version {state.get('version')!r}, expected one of "
                             f"{READABLE_STATE_VERSIONS}")
        known = {f.name for f in fields(GroupingParams)}
        grouper = cls(GroupingParams(**{k: v for k, v in state["params"].items() if k in known}))
        grouper._next_number = int(state["next_number"])
        watermark = state.get("watermark")
        grouper._watermark = None if watermark is None else _micros(_parse_time(watermark))
        for row in state["stories"]:
            number = cls._number_of(row["story_id"])
            story = grouper._stories[number] = _Story(
                number=number, size=int(row["size"]),
                first=_micros(_parse_time(row["first_time"])), last=_micros(_parse_time(row["last_time"])),
                terms={str(t): int(c) for t, c in row["terms"].items()},
                langs={str(k): int(v) for k, v in (row.get("langs") or {}).items()},
                scripts={str(k): int(v) for k, v in (row.get("scripts") or {}).items()},
            )
            story.restore_vector(row.get("centroid"), row.get("vector_norm"))
        for merge in state["merges"]:
            grouper._record_merge(merge["absorbed_id"], merge["into_id"], _parse_time(merge["at"]))
        background = state.get("background") or {}
        grouper._background_stories = float(background.get("stories", 0.0))
        grouper._background = {str(t): float(v) for t, v in (background.get("terms") or {}).items()}
        grouper._posts_seen = float(background.get("posts", 0.0))
        grouper._posts_pending = int(background.get("posts_pending", 0))
        grouper._post_terms = {str(t): float(v) for t, v in (background.get("post_terms") or {}).items()}
        return grouper

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The state as three tables (stories, merges, meta) for a database."""
        state = self.to_state()
        stories = pd.DataFrame(
            [
                {**row, "first_time": pd.Timestamp(row["first_time"]), "last_time": pd.Timestamp(row["last_time"]),
                 "terms": json.dumps(row["terms"], ensure_ascii=False), "langs": json.dumps(row["langs"]),
                 "scripts": json.dumps(row["scripts"])}
                for row in state["stories"]
            ],
            columns=["story_id", "size", "first_time", "last_time", "terms", "langs", "scripts", "centroid",
                     "vector_norm"],
        )
        stories["vector_norm"] = stories["vector_norm"].astype("float64")
        stories["centroid"] = stories["centroid"].astype("object")
        merges = pd.DataFrame(
            [{**m, "at": pd.Timestamp(m["at"])} for m in state["merges"]], columns=["absorbed_id", "into_id", "at"]
        )
        meta = pd.DataFrame(
            [{"version": state["version"], "params": json.dumps(state["params"]),
              "next_number": state["next_number"], "watermark": state["watermark"],
              "background": json.dumps(state["background"], ensure_ascii=False)}]
        )
        return {"stories": stories, "merges": merges, "meta": meta}

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> StoryGrouper:
        meta = frames["meta"].iloc[0]
        watermark = meta["watermark"]
        background = meta.get("background")
        stories = frames["stories"]
        has_centroids = "centroid" in stories.columns

        def vector_of(row) -> dict[str, Any]:
            if not has_centroids or row.centroid is None or (isinstance(row.centroid, float) and math.isnan(row.centroid)):
                return {"centroid": None, "vector_norm": None}
            return {"centroid": str(row.centroid), "vector_norm": float(row.vector_norm)}

        state = {
            "version": int(meta["version"]), "params": json.loads(meta["params"]),
            "next_number": int(meta["next_number"]),
            "watermark": None if watermark is None or pd.isna(watermark) else str(watermark),
            "stories": [
                {"story_id": r.story_id, "size": r.size, "first_time": _iso(r.first_time),
                 "last_time": _iso(r.last_time), "terms": json.loads(r.terms), "langs": json.loads(r.langs),
                 "scripts": json.loads(r.scripts) if "scripts" in stories.columns else {}, **vector_of(r)}
                for r in stories.itertuples(index=False)
            ],
            "merges": [
                {"absorbed_id": r.absorbed_id, "into_id": r.into_id, "at": _iso(r.at)}
                for r in frames["merges"].itertuples(index=False)
            ],
            "background": None if background is None or (isinstance(background, float) and math.isnan(background))
            else json.loads(background),
        }
        return cls.from_state(state)

    # ---- embeddings -----------------------------------------------------------------------------

    def _vectors(self, items: list[StoryItem]) -> np.ndarray | None:
        """One unit vector per item (zero rows for items without text), embedding in one call those
        that came without; None with use_vectors off."""
        if not self.params.use_vectors or not items:
            return None
        out = np.zeros((len(items), DIM), dtype=np.float32)
        missing = []
        for i, item in enumerate(items):
            if item.vector is None:
                missing.append(i)
            else:
                out[i] = np.asarray(item.vector, dtype=np.float32)
        if missing:
            from signal_desk.embeddings import embed

            out[missing] = embed([items[i].text for i in missing])
        norms = np.sqrt(np.einsum("ij,ij->i", out, out))
        np.divide(out, norms[:, None], out=out, where=norms[:, None] > 0)
        return out

    # ---- weights and sketches -------------------------------------------------------------------

    def _refresh(self, batch_terms: list[list[str]]) -> None:
        """Recompute term weights from the open stories, the background of closed ones (and the batch, for
        new terms), then the sketches."""
        totals: dict[str, int] = {}
        squares: dict[str, int] = {}
        for story in self._stories.values():
            for term, count in story.terms.items():
                totals[term] = totals.get(term, 0) + count
                squares[term] = squares.get(term, 0) + count * count
        unplaced: dict[str, int] = {}
        for terms in batch_terms:
            for term in terms:
                unplaced[term] = unplaced.get(term, 0) + 1
        background, post_terms = self._background, self._post_terms
        documents = len(self._stories) + len(batch_terms) + 1 + self._background_stories
        posts = (self._posts_seen + 1) * (1 + documents / CAP_STORIES)
        weights: dict[str, float] = {}
        log = math.log
        for term, total in totals.items():
            # Effective number of stories holding the term (inverse Simpson: a term held evenly by k
            # stories counts k, one held mostly by one story little more than 1), plus the closed
            # stories of the background that held it.
            spread = total * total / squares[term]
            weight = log(documents / (spread + background.get(term, 0.0) + 0.5))
            carried = post_terms.get(term)
            weights[term] = weight if carried is None else min(weight, log(posts / (carried + 0.5)))
        # Only terms no open story holds are weighed by how many of the batch's posts carry them (the cold
        # start): a story's own words are frequent in a batch because the story is busy, not because
        # they are common, so counting those posts would weaken exactly the words that find the story.
        for term, count in unplaced.items():
            if term not in weights:
                weight = log(documents / (count + background.get(term, 0.0) + 0.5))
                carried = post_terms.get(term)
                weights[term] = weight if carried is None else min(weight, log(posts / (carried + 0.5)))
        self._weights = weights
        self._index = {}
        self._anchor_index = {}
        for story in self._stories.values():
            self._sketch(story)

    def _weight(self, term: str) -> float:
        found = self._weights.get(term)
        if found is None:
            found = math.log((len(self._stories) + 1 + self._background_stories)
                             / (self._background.get(term, 0.0) + 0.5))
            carried = self._post_terms.get(term)
            if carried is not None:
                documents = len(self._stories) + 1 + self._background_stories
                found = min(found, math.log((self._posts_seen + 1) * (1 + documents / CAP_STORIES) / (carried + 0.5)))
        return found

    def _count_posts(self, batch_terms: list[list[str]]) -> None:
        """Count the batch's posts into the recent-posts table, decaying it every POST_DECAY_EVERY posts."""
        table = self._post_terms
        for terms in batch_terms:
            for term in terms:
                table[term] = table.get(term, 0.0) + 1.0
        self._posts_seen += len(batch_terms)
        self._posts_pending += len(batch_terms)
        if self._posts_pending < POST_DECAY_EVERY:
            return
        keep = (1.0 - 1.0 / POST_HORIZON) ** self._posts_pending
        kept = {t: round(v * keep, 4) for t, v in table.items() if v * keep >= 1.5}
        if len(kept) > POST_TERMS:
            kept = dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))[:POST_TERMS])
        self._post_terms = kept
        self._posts_seen = round(self._posts_seen * keep, 4)
        self._posts_pending = 0

    def _term_scores(self, story: _Story) -> dict[str, float]:
        return {t: _damped(c) * self._weight(t) for t, c in story.terms.items()}

    def _sketch(self, story: _Story, changed: list[str] | None = None) -> None:
        """Rank the story's terms into its sketches and index it. `changed`: the only terms whose count
        moved since the last sketch under the same weights; None rescores every term."""
        if story.sketch is not None:
            self._unindex(story)
        limit = self.params.sketch_size
        if changed is None or not self._rescore(story, changed):
            weights = self._weights
            scored: dict[str, float] = {}
            defaulted = False
            for term, count in story.terms.items():
                weight = weights.get(term)
                if weight is None:
                    weight, defaulted = self._weight(term), True
                scored[term] = (_DAMPED[count] if count < len(_DAMPED) else count ** COUNT_DAMPING) * weight
            story.scores = scored
            story.defaulted = defaulted
            story.positions = {t: i for i, t in enumerate(story.terms)}
            marked = [t for t in scored if t[1:2] == ":"]      # entities, URLs, numbers (prefixed)
            story.anchors = dict.fromkeys(t for t in marked if _is_anchor(t))
            # (nlargest and sorted rank ties alike: in term order)
            top = heapq.nlargest(limit, scored, key=scored.__getitem__) if len(scored) > limit else \
                sorted(scored, key=scored.__getitem__, reverse=True)
            independent = sorted(marked, key=scored.__getitem__, reverse=True)[:limit]
        else:
            # Scores only rose, and only the changed terms': the new leaders are among the old ones and those.
            scored = story.scores
            assert scored is not None and story.sketch is not None and story.independent is not None
            top = self._leaders(story, [*story.sketch.weights, *changed])
            independent = self._leaders(story, [*story.independent.weights,
                                                *(t for t in changed if _is_language_independent(t))])
        story.sketch = _Vector.of({t: scored[t] for t in top})
        story.independent = _Vector.of({t: scored[t] for t in independent})
        for term, weight in story.sketch.weights.items():
            self._index.setdefault(term, {})[story.number] = weight
        for term in story.anchors:
            self._anchor_index.setdefault(term, {})[story.number] = None

    def _rescore(self, story: _Story, changed: list[str]) -> bool:
        """Update the kept scores for the changed terms; False when they must all be recomputed."""
        # A full sort is needed when the weights are not all positive (a higher count would lower a score).
        if (story.scores is None or story.defaulted
                or not all(self._weights.get(t, 0.0) > 0.0 for t in changed)):
            return False
        for term in changed:
            if term not in story.positions:
                story.positions[term] = len(story.positions)
                if _is_anchor(term):
                    story.anchors[term] = None
            story.scores[term] = _damped(story.terms[term]) * self._weights[term]
        return True

    def _leaders(self, story: _Story, candidates: list[str]) -> list[str]:
        """The sketch's terms among `candidates`: highest score first, ties in term order (as a full sort)."""
        scores, positions = story.scores, story.positions
        assert scores is not None
        unique = dict.fromkeys(candidates)
        return sorted(unique, key=lambda t: (-scores[t], positions[t]))[:self.params.sketch_size]

    def _unindex(self, story: _Story) -> None:
        assert story.sketch is not None
        for term in story.sketch.weights:
            self._index.get(term, {}).pop(story.number, None)
        for term in story.anchors:
            self._anchor_index.get(term, {}).pop(story.number, None)

    def _post_vectors(self, terms: Iterable[str]) -> tuple[_Vector, _Vector]:
        weights = {t: self._weight(t) for t in terms}
        independent = {t: w for t, w in weights.items() if _is_language_independent(t)}
        return _Vector.of(weights), _Vector.of(independent)

    # ---- matching -------------------------------------------------------------------------------

    def _best_story_for(
        self, vectors: tuple[_Vector, _Vector], cosines: np.ndarray | None, micros: int, exclude: int | None,
        span: _Story | None, size: int, scripts: np.ndarray | None = None,
    ) -> int | None:
        """The open story this post (or story, `span`) belongs to, if any clears its threshold.

        `cosines`: the embedding cosine with every column of the batch's `_Columns`, or None when the
        post (story) has no embedding. `size`: the probe's posts; two stories of two or more posts need
        the merge thresholds, a post (or a story of one) the joining ones."""
        text, independent = vectors
        p = self.params
        window = p.window_hours * MICROS_PER_HOUR
        columns = self._columns
        text_cos: dict[int, float] = {}
        if text.norm > 0:
            dots: dict[int, float] = {}
            index = self._index
            for term, weight in text.weights.items():
                holders = index.get(term)
                if holders:
                    for number, story_weight in holders.items():
                        dots[number] = dots.get(number, 0.0) + weight * story_weight
            for number, dot in dots.items():
                text_cos[number] = dot / (text.norm * self._stories[number].sketch.norm)
        best, best_strength = None, 1.0
        if cosines is not None and columns is not None and columns.count:
            # Every open story, on both kinds of evidence at once.
            n = columns.count
            first, last = columns.first[:n], columns.last[:n]
            if span is None:
                gap = np.maximum(np.maximum(first - micros, micros - last), 0)
            else:
                gap = np.maximum(np.maximum(first - span.last, span.first - last), 0)
            fading = 1.0 - gap / window
            has_vector = columns.norm2[:n] > 0
            merging = (columns.size[:n] >= 2) & (size >= 2)
            joint = np.where(merging, p.joint_merge_threshold, p.joint_threshold) * self._scale
            text_only = np.where(merging, p.merge_threshold, p.threshold)
            score = p.vector_weight * np.maximum(cosines, 0.0)
            if text_cos:
                cols = np.fromiter((columns.col[k] for k in text_cos), dtype=np.int64, count=len(text_cos))
                score[cols] += (1.0 - p.vector_weight) * np.fromiter(text_cos.values(), dtype=np.float64,
                                                                      count=len(text_cos))
                words_only = np.zeros(n, dtype=np.float64)
                words_only[cols] = np.fromiter(text_cos.values(), dtype=np.float64, count=len(text_cos))
            else:
                words_only = np.zeros(n, dtype=np.float64)
            entities = {t: w for t, w in independent.weights.items() if t.startswith(ENTITY_PREFIX)}
            if entities and p.entity_factor > 0:
                agree = np.zeros(n, dtype=bool)
                for number in self._entity_agreement(entities, exclude):
                    agree[columns.col[number]] = True
                named = np.where(agree, 1 + p.entity_factor, 1 - p.entity_factor)
            else:
                named = 1.0
            score = score * named
            strength = np.where(has_vector, score / joint, words_only / text_only) * fading
            if size >= 2 and p.merge_text_floor > 0:
                strength[merging & has_vector & (words_only < p.merge_text_floor)] = 0.0
            if scripts is not None:
                # Words cannot match between posts of different scripts: where the two share under
                # SCRIPT_OVERLAP of their posts' scripts, the embedding may carry the match alone.
                col_scripts = columns.scripts[:n]
                overlap = np.minimum(col_scripts, scripts).sum(axis=1)
                across = has_vector & (col_scripts.sum(axis=1) > 0) & (overlap < SCRIPT_OVERLAP)
                if across.any():
                    cross = np.where(merging, p.cross_merge_threshold, p.cross_threshold) * self._scale
                    strength = np.where(across, np.maximum(strength, cosines * named / cross * fading), strength)
            strength[~columns.alive[:n] | (fading <= 0)] = -1.0
            if exclude is not None:
                strength[columns.col[exclude]] = -1.0
            k = int(np.argmax(strength))
            if strength[k] >= best_strength:
                best, best_strength = columns.numbers[k], float(strength[k])
        else:
            for number, cos in text_cos.items():
                story = self._stories[number]
                if number == exclude:
                    continue
                gap = self._gap(story, micros, span)
                if gap > window:
                    continue
                # Evidence fades linearly over the window (time-decayed single pass, as in TDT): a story
                # quiet for a day needs a closer match than one still running.
                threshold = p.merge_threshold if size >= 2 and story.size >= 2 else p.threshold
                strength = cos * (1 - gap / window) / threshold
                if strength >= best_strength and (strength > best_strength or best is None):
                    best, best_strength = number, strength
        anchors = [t for t in independent.weights if _is_anchor(t)]
        # One entity id names someone; it does not make a story. Linking without shared words takes a URL
        # (one article) or at least two ids on the post.
        if len(anchors) >= 2 or any(t.startswith(URL_PREFIX) for t in anchors):
            link_window = p.link_hours * MICROS_PER_HOUR
            linked: dict[int, None] = {}
            for term in anchors:
                linked.update(dict.fromkeys(self._anchor_index.get(term, ())))
            for number in linked:
                story = self._stories[number]
                if number == exclude or story.independent.norm == 0:
                    continue
                if self._gap(story, micros, span) > link_window:
                    continue
                dot = sum(w * story.independent.weights.get(t, 0.0) for t, w in independent.weights.items())
                strength = dot / (independent.norm * story.independent.norm) / p.link_threshold
                if strength > best_strength or (strength == best_strength and best is None):
                    best, best_strength = number, strength
        return best

    def _entity_agreement(self, entities: dict[str, float], exclude: int | None) -> list[int]:
        """The stories whose entity ids agree with these: cosine over the ids of at least ENTITY_AGREEMENT
        (one id in common among many, a claim that two stories both mention, is not agreement)."""
        norm = math.sqrt(sum(w * w for w in entities.values()))
        shared: dict[int, float] = {}
        for term, weight in entities.items():
            for number in self._anchor_index.get(term, ()):
                if number != exclude:
                    shared[number] = shared.get(number, 0.0) + weight * self._stories[number].scores[term]
        agreeing = []
        for number, dot in shared.items():
            scores = self._stories[number].scores
            story_norm = math.sqrt(sum(scores[t] ** 2 for t in self._stories[number].anchors
                                       if t.startswith(ENTITY_PREFIX)))
            if story_norm > 0 and dot / (norm * story_norm) >= ENTITY_AGREEMENT:
                agreeing.append(number)
        return agreeing

    @staticmethod
    def _gap(story: _Story, micros: int, span: _Story | None) -> int:
        return story.span_gap(span) if span is not None else story.gap(micros)

    # ---- changing stories -----------------------------------------------------------------------

    def _add(self, post: _Post, number: int | None) -> int:
        if number is None:
            number = self._next_number
            self._next_number += 1
            story = _Story(number=number, size=0, first=post.micros, last=post.micros, terms={})
            self._stories[number] = story
            if self._columns is not None:
                self._columns.add(story)
        story = self._stories[number]
        story.size += 1
        story.first = min(story.first, post.micros)
        story.last = max(story.last, post.micros)
        for term in post.terms:
            story.terms[term] = story.terms.get(term, 0) + 1
        if post.lang:
            story.langs[post.lang] = story.langs.get(post.lang, 0) + 1
        if post.script:
            story.scripts[post.script] = story.scripts.get(post.script, 0) + 1
        if post.vector is not None:
            story.vector_sum = post.vector.copy() if story.vector_sum is None else story.vector_sum + post.vector
        self._changed[number] = None
        if self._columns is not None:
            self._columns.sync(story)
        self._sketch(story, changed=post.terms)
        return number

    def _merge(self, first: int, second: int) -> int:
        """Fold the smaller story into the larger (the older on a tie); return the survivor."""
        a, b = self._stories[first], self._stories[second]
        into, absorbed = (a, b) if (a.size, -a.number) >= (b.size, -b.number) else (b, a)
        self._unindex(absorbed)
        del self._stories[absorbed.number]
        into.size += absorbed.size
        into.first = min(into.first, absorbed.first)
        into.last = max(into.last, absorbed.last)
        for term, count in absorbed.terms.items():
            into.terms[term] = into.terms.get(term, 0) + count
        for lang, count in absorbed.langs.items():
            into.langs[lang] = into.langs.get(lang, 0) + count
        for script, count in absorbed.scripts.items():
            into.scripts[script] = into.scripts.get(script, 0) + count
        if absorbed.vector_sum is not None:
            into.vector_sum = (absorbed.vector_sum.copy() if into.vector_sum is None
                               else into.vector_sum + absorbed.vector_sum)
        self._changed[into.number] = None
        self._sketch(into)
        columns = self._columns
        if columns is not None:
            kept, gone = columns.col[into.number], columns.col[absorbed.number]
            columns.alive[gone] = False
            if into.vector_sum is not None:
                columns.sums[kept] = into.vector_sum
                columns.norm2[kept] = float(np.dot(into.vector_sum, into.vector_sum))
            columns.sync(into)
        assert self._watermark is not None
        self._record_merge(story_id(absorbed.number), story_id(into.number), _moment(self._watermark))
        return into.number

    def _record_merge(self, absorbed: str, into: str, at: datetime) -> None:
        self.merges.append((absorbed, into, at))
        self._absorbed[absorbed] = into

    def _story_cosines(self, story: _Story) -> np.ndarray | None:
        columns = self._columns
        if columns is None or story.vector_sum is None:
            return None
        c = columns.col[story.number]
        norm = math.sqrt(columns.norm2[c])
        if norm == 0:
            return None
        return columns.cosines(columns.sums[: columns.count] @ (columns.sums[c] / np.float32(norm)))

    def _merge_stories(self, touched: dict[int, None]) -> None:
        """Each story the batch touched tries its closest open story, and they merge while one is close
        enough: a story of two or more posts with another such on the merge thresholds, a story of one
        (a post left alone, or one a grown story may now take) on the joining ones."""
        pending = [n for n in touched if n in self._stories]
        while pending:
            number = pending.pop(0)
            story = self._stories.get(number)
            if story is None:
                continue
            assert story.sketch is not None and story.independent is not None
            partner = self._best_story_for(
                (story.sketch, story.independent), self._story_cosines(story), story.last, exclude=number,
                span=story, size=story.size, scripts=story.script_shares if story.scripts else None,
            )
            if partner is not None:
                survivor = self._merge(number, partner)
                pending = [n for n in pending if n in self._stories and n != survivor]
                pending.insert(0, survivor)

    def _retire_quiet_stories(self) -> None:
        """Close the stories quiet for longer than the window; their terms go to the background."""
        assert self._watermark is not None
        horizon = self._watermark - self.params.window_hours * MICROS_PER_HOUR
        retired = [n for n, s in self._stories.items() if s.last < horizon]
        if not retired:
            return
        keep = (1.0 - 1.0 / BACKGROUND_STORIES) ** len(retired)
        background = {t: v * keep for t, v in self._background.items()}
        for number in retired:
            story = self._stories.pop(number)
            if story.sketch is not None:
                self._unindex(story)
            for term in story.terms:
                background[term] = background.get(term, 0.0) + 1.0
        kept = {t: round(v, 4) for t, v in background.items() if v >= BACKGROUND_FLOOR}
        if len(kept) > BACKGROUND_TERMS:
            kept = dict(sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))[:BACKGROUND_TERMS])
        self._background = kept
        self._background_stories = round(self._background_stories * keep + len(retired), 4)

    @staticmethod
    def _number_of(story: str) -> int:
        if not story.startswith("s-") or not story[2:].isdigit():
            raise ValueError(f"not a story id: {story!r}")
        return int(story[2:])


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no timezone")
    return moment.astimezone(timezone.utc)


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()


# ---- command line ---------------------------------------------------------------------------------


def parse_time_value(value: Any, where: str) -> datetime:
    """ISO-8601 (with a zone, or taken as UTC) or epoch milliseconds, as a UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if not text or text.lower() == "nan":
            raise ValueError(f"{where}: empty time")
        if text.lstrip("-").replace(".", "", 1).isdigit():
            return EPOCH + timedelta(milliseconds=float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: time {text!r} is neither ISO-8601 nor epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def parse_entities(value: Any) -> tuple[str, ...]:
    """A JSON list or a ';'-separated string of entity ids."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("["):
        return tuple(str(v) for v in json.loads(text))
    return tuple(part.strip() for part in text.split(";") if part.strip())


def read_posts(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    raise ValueError(f"{path}: expected a .csv or .jsonl file")


def items_from_frame(
    frame: pd.DataFrame, source: str, id_col: str, time_col: str, text_col: str,
    lang_col: str | None = None, entities_col: str | None = None,
) -> list[StoryItem]:
    """Rows as story items; a bad row is an error naming the file and the row."""
    for column in (id_col, time_col, text_col, lang_col, entities_col):
        if column is not None and column not in frame.columns:
            raise ValueError(f"{source}: no column {column!r} (columns: {', '.join(map(str, frame.columns))})")
    items = []
    for row_number, row in enumerate(frame.to_dict("records"), start=1):
        where = f"{source} row {row_number}"
        raw_id = row[id_col]
        if raw_id is None or str(raw_id).strip() == "":
            raise ValueError(f"{where}: empty {id_col}")
        text = row[text_col]
        lang = row[lang_col] if lang_col else None
        try:
            entities = parse_entities(row[entities_col]) if entities_col else ()
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: {entities_col} is not a JSON list: {error}") from None
        items.append(StoryItem(
            id=str(raw_id), time=parse_time_value(row[time_col], where),
            text="" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text),
            lang=str(lang) if lang not in (None, "") else None, entities=entities,
        ))
    return items


def hourly_batches(items: Sequence[StoryItem]) -> list[list[StoryItem]]:
    """Posts in time order, cut at each clock hour: what the hourly runs would have seen."""
    batches: dict[datetime, list[StoryItem]] = {}
    for item in sorted(items, key=lambda it: it.time):
        batches.setdefault(item.time.replace(minute=0, second=0, microsecond=0), []).append(item)
    return list(batches.values())


def group_items(items: Sequence[StoryItem], grouper: StoryGrouper | None = None) -> dict[str, str | None]:
    """Item id to final story id (merges followed), feeding hourly batches in time order."""
    grouper = grouper or StoryGrouper()
    assigned: dict[str, str | None] = {}
    for batch in hourly_batches(items):
        for item, story in zip(batch, grouper.assign(batch)):
            assigned[item.id] = story
    return {item_id: None if s is None else grouper.resolve(s) for item_id, s in assigned.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./run group", description="Group posts into stories; write id,story_id.",
    )
    parser.add_argument("--in", dest="source", required=True, type=Path, help="posts, .csv or .jsonl")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write: id,story_id")
    parser.add_argument("--id-col", default="id", help="column of the post id (default: %(default)s)")
    parser.add_argument("--time-col", default="time", help="column of the time, ISO-8601 or epoch milliseconds (default: %(default)s)")
    parser.add_argument("--text-col", default="text", help="column of the text (default: %(default)s)")
    parser.add_argument("--lang-col", default=None, help="column of the language code, if the stream has one")
    parser.add_argument("--entities-col", default=None, help="JSON list or ';'-separated canonical ids")
    parser.add_argument("--state-in", type=Path, default=None, help="continue from a saved state (JSON)")
    parser.add_argument("--state-out", type=Path, default=None, help="save the state after the run (JSON)")
    args = parser.parse_args(argv)
    try:
        frame = read_posts(args.source)
        items = items_from_frame(
            frame, str(args.source), args.id_col, args.time_col, args.text_col, args.lang_col, args.entities_col
        )
        grouper = (
            StoryGrouper.from_state(json.loads(args.state_in.read_text(encoding="utf-8")))
            if args.state_in else StoryGrouper()
        )
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    assigned = group_items(items, grouper)
    pd.DataFrame({"id": list(assigned), "story_id": list(assigned.values())}).to_csv(args.out, index=False)
    if args.state_out:
        args.state_out.write_text(json.dumps(grouper.to_state(), ensure_ascii=False), encoding="utf-8")
    grouped = pd.Series(list(assigned.values())).value_counts()
    print(f"{len(assigned)} posts -> {len(grouped)} stories ({int((grouped > 1).sum())} with 2+ posts), "
          f"{len(grouper.merges)} merges; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
