"""Ordinary unrelated traffic around a scenario's story, generated deterministically.

Every outlet posts its own news day (sport, weather, prices, regional news ...) from templates with
variable slots, at a daily rhythm in its local time, so the story is a small part of what a scraper
sees. The same configuration always yields the same posts: every random draw comes from a
`random.Random` seeded with a string (stable across processes, unlike `hash()`).
"""
from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from mirror.scenario_types import Outlet, Post

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_SLUG_DROP = re.compile(r"[^\w\s-]", re.UNICODE)
_FORWARD_MIN_AGE = timedelta(minutes=5)


class BackgroundConfigError(ValueError):
    """The background configuration is malformed; the message names the file and the entry."""


@dataclass(slots=True)
class BackgroundTraffic:
    posts: list[Post]
    # (forwarding post, original): Telegram forwards are linked by URL, known only once ids are assigned
    forwards: list[tuple[Post, Post]] = field(default_factory=list)


@dataclass(slots=True)
class _OutletPlan:
    outlet: Outlet
    per_day: tuple[int, int]
    utc_offset: float
    topics: dict[str, list[str]]
    language_share: dict[str, float]
    views_share: tuple[float, float] | None
    photo_share: float
    video_share: float
    media_only_share: float
    edit_share: float
    forward_share: float
    forward_from: list[str]
    author: str | None
    link: str | None
    link_share: float


def generate_background(config: Mapping[str, Any], outlets: Mapping[str, Outlet],
                        source: str = "background.yaml") -> BackgroundTraffic:
    """All background posts of all outlets named in `config`, with post_id 0 (ids come later)."""
    generator = _Generator(config, outlets, source)
    return generator.run()


class _Generator:
    def __init__(self, config: Mapping[str, Any], outlets: Mapping[str, Outlet], source: str):
        self.source = source
        self.seed = str(_require(config, "seed", source))
        self.days = [_as_date(d, f"{source}: days") for d in _require(config, "days", source)]
        self.rhythm = [float(w) for w in _require(config, "daily_rhythm", source)]
        if len(self.rhythm) != 24:
            raise BackgroundConfigError(f"{source}: daily_rhythm needs 24 weights, got {len(self.rhythm)}")
        self.persian_numerals = set(config.get("persian_numerals", []))
        self.edit_suffix: dict[str, str] = dict(config.get("edit_suffix", {}))
        self.weekdays: dict[str, list[str]] = dict(_require(config, "weekdays", source))
        self.slots: dict[str, Any] = dict(_require(config, "slots", source))
        self.templates: dict[str, dict[str, list]] = dict(_require(config, "templates", source))
        self.feed_templates: dict[str, dict[str, list]] = dict(config.get("feed_templates", {}))
        self.fixed_posts = list(config.get("fixed_posts", []))
        self.plans = [self._plan(handle, spec, outlets)
                      for handle, spec in dict(_require(config, "outlets", source)).items()]
        self.outlets = outlets

    # ---- configuration -------------------------------------------------------------------------

    def _plan(self, handle: str, spec: Mapping[str, Any], outlets: Mapping[str, Outlet]) -> _OutletPlan:
        where = f"{self.source}: outlets.{handle}"
        if handle not in outlets:
            raise BackgroundConfigError(f"{where}: no such outlet in outlets.yaml")
        outlet = outlets[handle]
        lo, hi = (int(n) for n in _require(spec, "per_day", where))
        if not 0 < lo <= hi:
            raise BackgroundConfigError(f"{where}: per_day must be [low, high] with 0 < low <= high")
        topics = {lang: list(names) for lang, names in dict(_require(spec, "topics", where)).items()}
        library = self.feed_templates if outlet.kind == "rss" else self.templates
        for lang, names in topics.items():
            for name in names:
                if not library.get(lang, {}).get(name):
                    kind = "feed_templates" if outlet.kind == "rss" else "templates"
                    raise BackgroundConfigError(f"{where}: topic {name!r} has no {kind}.{lang}.{name}")
        share = dict(spec.get("language_share") or {next(iter(topics)): 1.0})
        if set(share) != set(topics):
            raise BackgroundConfigError(f"{where}: language_share and topics name different languages")
        views = spec.get("views_share")
        if outlet.kind == "telegram" and (views is None or not outlet.subscribers):
            raise BackgroundConfigError(f"{where}: Telegram outlets need views_share and subscribers")
        for other in spec.get("forward_from", []):
            if other not in outlets or outlets[other].kind != "telegram":
                raise BackgroundConfigError(f"{where}: forward_from {other!r} is not a Telegram outlet")
        return _OutletPlan(
            outlet=outlet, per_day=(lo, hi), utc_offset=float(spec.get("utc_offset", 0)),
            topics=topics, language_share=share,
            views_share=(float(views[0]), float(views[1])) if views else None,
            photo_share=float(spec.get("photo_share", 0)), video_share=float(spec.get("video_share", 0)),
            media_only_share=float(spec.get("media_only_share", 0)),
            edit_share=float(spec.get("edit_share", 0)), forward_share=float(spec.get("forward_share", 0)),
            forward_from=list(spec.get("forward_from", [])), author=spec.get("author"),
            link=spec.get("link"), link_share=float(spec.get("link_share", 0)),
        )

    # ---- generation ----------------------------------------------------------------------------

    def run(self) -> BackgroundTraffic:
        posts: list[Post] = []
        pending_forwards: list[tuple[Post, _OutletPlan, random.Random]] = []
        for plan in self.plans:
            for day in self.days:
                rng = random.Random(f"{self.seed}|{plan.outlet.handle}|{day.isoformat()}")
                for at in self._post_times(plan, day, rng):
                    post = self._post(plan, at, rng)
                    posts.append(post)
                    if plan.forward_from and rng.random() < plan.forward_share:
                        pending_forwards.append((post, plan, rng))
        posts.extend(self._fixed_post(i, spec) for i, spec in enumerate(self.fixed_posts))
        forwards = self._link_forwards(posts, pending_forwards)
        posts.sort(key=lambda p: (p.published_at, p.outlet))
        return BackgroundTraffic(posts=posts, forwards=forwards)

    def _post_times(self, plan: _OutletPlan, day: date, rng: random.Random) -> list[datetime]:
        count = rng.randint(*plan.per_day)
        offset = plan.utc_offset
        weights = [self.rhythm[int((hour + offset) % 24)] for hour in range(24)]
        midnight = datetime.combine(day, time(0), tzinfo=timezone.utc)
        seconds = set()
        while len(seconds) < count:
            hour = rng.choices(range(24), weights=weights)[0]
            seconds.add(hour * 3600 + rng.randrange(3600))
        return [midnight + timedelta(seconds=s) for s in sorted(seconds)]

    def _post(self, plan: _OutletPlan, at: datetime, rng: random.Random) -> Post:
        outlet = plan.outlet
        lang = rng.choices(list(plan.language_share), weights=list(plan.language_share.values()))[0]
        topic = rng.choice(plan.topics[lang])
        title: str | None = None
        if outlet.kind == "rss":
            entry = rng.choice(self.feed_templates[lang][topic])
            values = self._slot_values([entry["title"], entry["text"]], lang, at, rng)
            title = self._localise(entry["title"].format_map(values), lang)
            text = self._localise(entry["text"].format_map(values), lang)
        else:
            template = rng.choice(self.templates[lang][topic])
            text = self._localise(template.format_map(self._slot_values([template], lang, at, rng)), lang)

        media: list[str] = []
        roll = rng.random()
        if outlet.kind == "telegram" and roll < plan.media_only_share:
            media, text = ["photo"], ""
        elif outlet.kind != "rss":
            roll -= plan.media_only_share
            if roll < plan.photo_share:
                media = ["photo"]
            elif roll < plan.photo_share + plan.video_share:
                media = ["video"]

        links: list[str] = []
        if plan.link and rng.random() < plan.link_share:
            values = self._slot_values([plan.link], lang, at, rng)
            values["slug"] = _slug(title or text)
            link = plan.link.format_map(values)
            links = [link]
            if outlet.kind == "x":
                text = f"{text} {link}"

        views = None
        if outlet.kind == "telegram" and plan.views_share and outlet.subscribers:
            views = int(outlet.subscribers * rng.uniform(*plan.views_share))

        edited_at = edited_text = None
        if outlet.kind == "telegram" and text and rng.random() < plan.edit_share:
            edited_at = at + timedelta(minutes=rng.randint(3, 45))
            edited_text = text + self.edit_suffix.get(lang, "")

        return Post(outlet=outlet.handle, kind=outlet.kind, post_id=0, published_at=at, text=text,
                    author=plan.author, views=views, title=title, media=media, links=links,
                    edited_at=edited_at, edited_text=edited_text)

    def _fixed_post(self, index: int, spec: Mapping[str, Any]) -> Post:
        where = f"{self.source}: fixed_posts[{index}]"
        handle = _require(spec, "outlet", where)
        if handle not in self.outlets:
            raise BackgroundConfigError(f"{where}: no such outlet {handle!r}")
        outlet = self.outlets[handle]
        at = _as_datetime(_require(spec, "at", where), where)
        return Post(outlet=handle, kind=outlet.kind, post_id=0, published_at=at,
                    text=str(_require(spec, "text", where)), author=spec.get("author"),
                    views=spec.get("views"), title=spec.get("title"), media=list(spec.get("media", [])),
                    links=list(spec.get("links", [])))

    def _link_forwards(self, posts: list[Post],
                       pending: list[tuple[Post, _OutletPlan, random.Random]]) -> list[tuple[Post, Post]]:
        by_outlet: dict[str, list[Post]] = {}
        for post in posts:
            by_outlet.setdefault(post.outlet, []).append(post)
        forwarding = {id(post) for post, _, _ in pending}
        forwards: list[tuple[Post, Post]] = []
        for post, plan, rng in pending:
            source_handle = rng.choice(plan.forward_from)
            candidates = [p for p in by_outlet.get(source_handle, [])
                          if p.published_at <= post.published_at - _FORWARD_MIN_AGE
                          and id(p) not in forwarding and (p.text or p.media)]
            if not candidates:
                continue
            original = rng.choice(sorted(candidates, key=lambda p: p.published_at)[-3:])
            post.text, post.media = original.text, list(original.media)
            post.edited_at = post.edited_text = None
            forwards.append((post, original))
        return forwards

    # ---- templates -----------------------------------------------------------------------------

    def _slot_values(self, templates: list[str], lang: str, at: datetime, rng: random.Random) -> dict[str, str]:
        values: dict[str, str] = {
            "weekday": self.weekdays[lang][at.weekday()],
            "yyyy": f"{at.year:04d}", "mm": f"{at.month:02d}", "dd": f"{at.day:02d}",
            "m": str(at.month), "d": str(at.day), "month_day": f"{at:%B} {at.day}",
        }
        for name in _field_names(templates):
            if name not in values:
                values[name] = self._draw(name, values, rng)
        return values

    def _draw(self, name: str, values: dict[str, str], rng: random.Random) -> str:
        if name == "slug":
            return ""
        spec = self.slots.get(name)
        where = f"{self.source}: slots.{name}"
        if spec is None:
            raise BackgroundConfigError(f"{where}: used in a template but not defined")
        if isinstance(spec, list):
            return str(rng.choice(spec))
        if "distinct_from" in spec:
            base = spec["distinct_from"]
            taken = values.get(base) or self._draw(base, values, rng)
            values.setdefault(base, taken)
            return str(rng.choice([v for v in self.slots[base] if str(v) != taken]))
        if "int" in spec:
            lo, hi = spec["int"]
            number = rng.randint(int(lo), int(hi))
            return f"{number:,}" if spec.get("grouping") else str(number)
        if "float" in spec:
            lo, hi = spec["float"]
            return f"{rng.uniform(float(lo), float(hi)):.{int(spec.get('digits', 1))}f}"
        if "code" in spec:
            return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(int(spec["code"])))
        raise BackgroundConfigError(f"{where}: expected a list or one of int, float, code, distinct_from")

    def _localise(self, text: str, lang: str) -> str:
        if lang not in self.persian_numerals:
            return text
        # Persian writes its own digits, with ٫ for the decimal point and ٬ between thousands.
        text = re.sub(r"(?<=\d)\.(?=\d)", "٫", text)
        text = re.sub(r"(?<=\d),(?=\d)", "٬", text)
        return text.translate(PERSIAN_DIGITS)


def _field_names(templates: list[str]) -> list[str]:
    names: list[str] = []
    for template in templates:
        for _, name, _, _ in string.Formatter().parse(template):
            if name and name not in names:
                names.append(name)
    return names


def _slug(text: str, words: int = 9) -> str:
    cleaned = _SLUG_DROP.sub(" ", text.lower())
    return "-".join(cleaned.split()[:words])


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping or mapping[key] is None:
        raise BackgroundConfigError(f"{where}: missing {key!r}")
    return mapping[key]


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as err:
        raise BackgroundConfigError(f"{where}: {value!r} is not a date") from err


def _as_datetime(value: Any, where: str) -> datetime:
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError as err:
            raise BackgroundConfigError(f"{where}: {value!r} is not a timestamp") from err
    if value.tzinfo is None:
        raise BackgroundConfigError(f"{where}: {value!r} has no time zone (write ...Z for UTC)")
    return value.astimezone(timezone.utc)
