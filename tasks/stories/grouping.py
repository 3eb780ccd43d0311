"""Online story grouping: each hourly batch of posts joins the open stories or starts new ones.

A story is a keyword sketch: how many of its posts carry each term. Term weights come from the
stream itself: a term concentrated in few stories (a name, a place, "titanfall") weighs much, a term
spread over many ("says", "new", "في") weighs little, so no stop-word list is needed in any
language. A post joins the story whose sketch is most similar to it (cosine, fading with the time
since the story was last active) when that similarity clears `threshold`; otherwise it starts a story
of its own, and later batches may still attach it.
Posts in different languages meet through language-independent evidence: canonical entity ids,
URLs and numbers, close in time. Stories that turn out to be one are merged, and the merge is
recorded (`merges`), never renumbered. Only stories active within `window_hours` are kept, so the
cost of a batch follows the batch, not the history.

    python -m tasks.stories.grouping --in posts.csv --out stories.csv \\
        --id-col ID --time-col TIMESTAMP --text-col TITLE [--lang-col LANG] [--entities-col ENTITIES]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.items import Item
from tasks.stories.text import (
    ENTITY_PREFIX,
    LANGUAGE_INDEPENDENT_PREFIXES,
    NUMBER_PREFIX,
    URL_PREFIX,
    normalise_url,
    text_features,
)

STATE_VERSION = 1
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROS_PER_HOUR = 3_600_000_000
ANCHOR_PREFIXES = (ENTITY_PREFIX, URL_PREFIX)
# A story's term counts enter its sketch damped (count ** 0.75), so the story is found by its recurring
# words, not mostly by the one every post carries (the company, "gas", "bankruptcy"): a post sharing
# only that word scores lower, one sharing several of the others higher.
COUNT_DAMPING = 0.75


@dataclass(frozen=True, slots=True)
class GroupingParams:
    threshold: float = 0.19         # post-to-story cosine needed to join a story
    merge_threshold: float = 0.24   # story-to-story cosine needed to merge two stories
    link_threshold: float = 0.50    # cosine over entities/URLs/numbers alone, for cross-language links
    window_hours: float = 72.0      # word matches fade to nothing over this quiet time, then the story closes
    link_hours: float = 12.0        # entity-only links need posts this close in time
    sketch_size: int = 48           # terms kept per story for matching

    def __post_init__(self) -> None:
        for name in ("threshold", "merge_threshold", "link_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"GroupingParams.{name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.window_hours <= 0 or self.link_hours <= 0 or self.sketch_size < 1:
            raise ValueError(f"GroupingParams needs positive hours and sketch_size, got {self}")


@dataclass(frozen=True, slots=True)
class StoryItem:
    """One post as the grouper sees it. `entities` are canonical ids (one id for every spelling)."""

    id: str
    time: datetime
    text: str = ""
    lang: str | None = None
    entities: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

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
            )
        else:
            raise TypeError(f"story item must be a StoryItem or a mapping, got {type(value).__name__}")
        if not isinstance(item.time, datetime) or item.time.tzinfo is None:
            raise ValueError(f"story item {item.id!r}: time must be a timezone-aware datetime, got {item.time!r}")
        return item


def story_item_from(item: Item, entities: Sequence[str] = ()) -> StoryItem:
    """The grouper's view of a landed post: its text, link preview title and outlinks."""
    text = "\n".join(part for part in (item.text, item.link_preview_title) if part)
    urls = [*item.outlinks, *([item.link_preview_url] if item.link_preview_url else [])]
    return StoryItem(
        id=f"{item.source_id}/{item.item_id}", time=item.published_at, text=text, lang=item.lang,
        entities=tuple(entities), urls=tuple(urls),
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


def _is_language_independent(term: str) -> bool:
    return term.startswith(LANGUAGE_INDEPENDENT_PREFIXES)


def _is_anchor(term: str) -> bool:
    return term.startswith(ANCHOR_PREFIXES)


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

    def span_gap(self, other: _Story) -> int:
        return max(0, self.first - other.last, other.first - self.last)


@dataclass(slots=True)
class _Post:
    terms: list[str]
    micros: int
    lang: str | None


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

    # ---- public API -----------------------------------------------------------------------------

    def assign(self, batch: Iterable[StoryItem | Mapping[str, Any]]) -> list[str | None]:
        """Story id of each post of the batch, in order; None for a post with no usable text."""
        items = [StoryItem.coerce(x) for x in batch]
        posts = [_Post(item_terms(it), _micros(it.time), it.lang) for it in items]
        placed = [p for p in posts if p.terms]
        if not placed:
            return [None] * len(posts)
        self._watermark = max(self._watermark or placed[0].micros, *(p.micros for p in placed))
        self._retire_quiet_stories()
        self._refresh(batch_terms=[p.terms for p in placed])
        numbers: list[int | None] = []
        touched: dict[int, None] = {}
        for post in posts:
            if not post.terms:
                numbers.append(None)
                continue
            number = self._best_story_for(self._post_vectors(post.terms), post.micros, exclude=None)
            number = self._add(post, number)
            touched[number] = None
            numbers.append(number)
        self._refresh(batch_terms=[])
        self._merge_stories(touched)
        self._attach_singletons()
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

    # ---- state ----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue later, as JSON-ready plain data."""
        return {
            "version": STATE_VERSION,
            "params": asdict(self.params),
            "next_number": self._next_number,
            "watermark": None if self._watermark is None else _moment(self._watermark).isoformat(),
            "stories": [
                {
                    "story_id": story_id(s.number), "size": s.size,
                    "first_time": _moment(s.first).isoformat(), "last_time": _moment(s.last).isoformat(),
                    "terms": dict(s.terms), "langs": dict(s.langs),
                }
                for s in self._stories.values()
            ],
            "merges": [
                {"absorbed_id": a, "into_id": b, "at": at.isoformat()} for a, b, at in self.merges
            ],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StoryGrouper:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"story grouper state version {state.get('version')!r}, expected {STATE_VERSION}")
        grouper = cls(GroupingParams(**state["params"]))
        grouper._next_number = int(state["next_number"])
        watermark = state.get("watermark")
        grouper._watermark = None if watermark is None else _micros(_parse_time(watermark))
        for row in state["stories"]:
            number = cls._number_of(row["story_id"])
            grouper._stories[number] = _Story(
                number=number, size=int(row["size"]),
                first=_micros(_parse_time(row["first_time"])), last=_micros(_parse_time(row["last_time"])),
                terms={str(t): int(c) for t, c in row["terms"].items()},
                langs={str(k): int(v) for k, v in (row.get("langs") or {}).items()},
            )
        for merge in state["merges"]:
            grouper._record_merge(merge["absorbed_id"], merge["into_id"], _parse_time(merge["at"]))
        return grouper

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The state as three tables (stories, merges, meta) for a database."""
        state = self.to_state()
        stories = pd.DataFrame(
            [
                {**row, "first_time": pd.Timestamp(row["first_time"]), "last_time": pd.Timestamp(row["last_time"]),
                 "terms": json.dumps(row["terms"], ensure_ascii=False), "langs": json.dumps(row["langs"])}
                for row in state["stories"]
            ],
            columns=["story_id", "size", "first_time", "last_time", "terms", "langs"],
        )
        merges = pd.DataFrame(
            [{**m, "at": pd.Timestamp(m["at"])} for m in state["merges"]], columns=["absorbed_id", "into_id", "at"]
        )
        meta = pd.DataFrame(
            [{"version": state["version"], "params": json.dumps(state["params"]),
              "next_number": state["next_number"], "watermark": state["watermark"]}]
        )
        return {"stories": stories, "merges": merges, "meta": meta}

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> StoryGrouper:
        meta = frames["meta"].iloc[0]
        watermark = meta["watermark"]
        state = {
            "version": int(meta["version"]), "params": json.loads(meta["params"]),
            "next_number": int(meta["next_number"]),
            "watermark": None if watermark is None or pd.isna(watermark) else str(watermark),
            "stories": [
                {"story_id": r.story_id, "size": r.size, "first_time": _iso(r.first_time),
                 "last_time": _iso(r.last_time), "terms": json.loads(r.terms), "langs": json.loads(r.langs)}
                for r in frames["stories"].itertuples(index=False)
            ],
            "merges": [
                {"absorbed_id": r.absorbed_id, "into_id": r.into_id, "at": _iso(r.at)}
                for r in frames["merges"].itertuples(index=False)
            ],
        }
        return cls.from_state(state)

    # ---- weights and sketches -------------------------------------------------------------------

    def _refresh(self, batch_terms: list[list[str]]) -> None:
        """Recompute term weights from the open stories (and the batch, for new terms), then sketches."""
        totals: dict[str, int] = {}
        count_logs: dict[str, float] = {}
        for story in self._stories.values():
            for term, count in story.terms.items():
                totals[term] = totals.get(term, 0) + count
                count_logs[term] = count_logs.get(term, 0.0) + count * math.log(count)
        unplaced: dict[str, int] = {}
        for terms in batch_terms:
            for term in terms:
                unplaced[term] = unplaced.get(term, 0) + 1
        documents = len(self._stories) + len(batch_terms) + 1
        weights: dict[str, float] = {}
        for term, total in totals.items():
            # Effective number of stories holding the term: exp of the entropy of its spread.
            spread = math.exp(math.log(total) - count_logs[term] / total)
            weights[term] = math.log(documents / (spread + 0.5))
        # Only terms no open story holds are weighed by how many of the batch's posts carry them (the cold
        # start): a story's own words are frequent in a batch because the story is busy, not because
        # they are common, so counting those posts would weaken exactly the words that find the story.
        for term, count in unplaced.items():
            if term not in weights:
                weights[term] = math.log(documents / (count + 0.5))
        self._weights = weights
        self._index = {}
        self._anchor_index = {}
        for story in self._stories.values():
            self._sketch(story)

    def _weight(self, term: str) -> float:
        found = self._weights.get(term)
        if found is None:
            found = math.log((len(self._stories) + 1) / 0.5)
        return found

    def _term_scores(self, story: _Story) -> dict[str, float]:
        return {t: c ** COUNT_DAMPING * self._weight(t) for t, c in story.terms.items()}

    def _sketch(self, story: _Story, changed: list[str] | None = None) -> None:
        """Rank the story's terms into its sketches and index it. `changed`: the only terms whose count
        moved since the last sketch under the same weights; None rescores every term."""
        if story.sketch is not None:
            self._unindex(story)
        limit = self.params.sketch_size
        if changed is None or not self._rescore(story, changed):
            scored = story.scores = self._term_scores(story)
            story.positions = {t: i for i, t in enumerate(story.terms)}
            story.anchors = dict.fromkeys(t for t in story.terms if _is_anchor(t))
            story.defaulted = any(t not in self._weights for t in story.terms)
            ranked = sorted(scored, key=scored.__getitem__, reverse=True)
            top = ranked[:limit]
            independent = [t for t in ranked if _is_language_independent(t)][:limit]
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
            story.scores[term] = story.terms[term] ** COUNT_DAMPING * self._weights[term]
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
        self, vectors: tuple[_Vector, _Vector], micros: int, exclude: int | None,
        threshold: float | None = None, span: _Story | None = None, min_size: int = 1,
    ) -> int | None:
        """The open story this post (or story) belongs to, if any clears its threshold."""
        text, independent = vectors
        threshold = threshold or self.params.threshold
        window = self.params.window_hours * MICROS_PER_HOUR
        link_window = self.params.link_hours * MICROS_PER_HOUR
        best, best_strength = None, 1.0
        if text.norm > 0:
            dots: dict[int, float] = {}
            index = self._index
            for term, weight in text.weights.items():
                holders = index.get(term)
                if holders:
                    for number, story_weight in holders.items():
                        dots[number] = dots.get(number, 0.0) + weight * story_weight
            for number, dot in dots.items():
                story = self._stories[number]
                if number == exclude or story.size < min_size:
                    continue
                gap = self._gap(story, micros, span)
                if gap > window:
                    continue
                # Word evidence fades linearly over the window (time-decayed single pass, as in TDT): a
                # story quiet for a day needs a closer match than one still running.
                fading = 1 - gap / window
                strength = dot / (text.norm * story.sketch.norm) * fading / threshold
                if strength >= best_strength and (strength > best_strength or best is None):
                    best, best_strength = number, strength
        anchors = [t for t in independent.weights if _is_anchor(t)]
        # One entity id names someone; it does not make a story. Linking without shared words takes a URL
        # (one article) or at least two ids on the post.
        if len(anchors) >= 2 or any(t.startswith(URL_PREFIX) for t in anchors):
            linked: dict[int, None] = {}
            for term in anchors:
                linked.update(dict.fromkeys(self._anchor_index.get(term, ())))
            for number in linked:
                story = self._stories[number]
                if number == exclude or story.size < min_size or story.independent.norm == 0:
                    continue
                if self._gap(story, micros, span) > link_window:
                    continue
                dot = sum(w * story.independent.weights.get(t, 0.0) for t, w in independent.weights.items())
                strength = dot / (independent.norm * story.independent.norm) / self.params.link_threshold
                if strength >= best_strength and (strength > best_strength or best is None):
                    best, best_strength = number, strength
        return best

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
        story = self._stories[number]
        story.size += 1
        story.first = min(story.first, post.micros)
        story.last = max(story.last, post.micros)
        for term in post.terms:
            story.terms[term] = story.terms.get(term, 0) + 1
        if post.lang:
            story.langs[post.lang] = story.langs.get(post.lang, 0) + 1
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
        self._sketch(into)
        assert self._watermark is not None
        self._record_merge(story_id(absorbed.number), story_id(into.number), _moment(self._watermark))
        return into.number

    def _record_merge(self, absorbed: str, into: str, at: datetime) -> None:
        self.merges.append((absorbed, into, at))
        self._absorbed[absorbed] = into

    def _merge_stories(self, touched: dict[int, None]) -> None:
        """Merge each story that grew this batch with its closest open story, while any is close enough."""
        pending = [n for n in touched if n in self._stories]
        while pending:
            number = pending.pop(0)
            story = self._stories.get(number)
            if story is None or story.size < 2:
                continue
            assert story.sketch is not None and story.independent is not None
            partner = self._best_story_for(
                (story.sketch, story.independent), story.last, exclude=number,
                threshold=self.params.merge_threshold, span=story, min_size=2,
            )
            if partner is not None:
                survivor = self._merge(number, partner)
                pending = [n for n in pending if n in self._stories and n != survivor]
                pending.insert(0, survivor)

    def _attach_singletons(self) -> None:
        """A post left alone may fit a story that has since grown; attaching it is a merge too."""
        for number in [n for n, s in self._stories.items() if s.size == 1]:
            story = self._stories.get(number)
            if story is None or story.size != 1:
                continue
            partner = self._best_story_for(
                self._post_vectors(story.terms), story.last, exclude=number, span=story,
            )
            if partner is not None:
                self._merge(number, partner)

    def _retire_quiet_stories(self) -> None:
        assert self._watermark is not None
        horizon = self._watermark - self.params.window_hours * MICROS_PER_HOUR
        for number in [n for n, s in self._stories.items() if s.last < horizon]:
            story = self._stories.pop(number)
            if story.sketch is not None:
                self._unindex(story)

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
        prog="python -m tasks.stories.grouping", description="Group posts into stories; write id,story_id."
    )
    parser.add_argument("--in", dest="source", required=True, type=Path, help="posts, .csv or .jsonl")
    parser.add_argument("--out", required=True, type=Path, help="CSV to write: id,story_id")
    parser.add_argument("--id-col", default="id")
    parser.add_argument("--time-col", default="time", help="ISO-8601 or epoch milliseconds")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--lang-col", default=None)
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
