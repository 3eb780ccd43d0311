"""Load a mirror scenario from its folder under mirror/scenarios/<name>/.

scenario.yaml (window and demo run times), outlets.yaml, seed_posts.yaml (the hand-written story),
markets.yaml and background.yaml (unrelated traffic, see mirror.background) make one `Scenario`.
Post ids are assigned after seed and background posts are merged, so they rise with time per
outlet the way real ids do: Telegram message numbers, X snowflakes, feed item numbers.
"""
from __future__ import annotations

import random
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from mirror.background import BackgroundConfigError, generate_background
from mirror.scenario_types import Outlet, Post, PricePoint, Scenario, ScenarioMarket, ScenarioPoll

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
KINDS = ("telegram", "x", "rss")
REGISTERS = ("state-aligned", "western-wire", "western-media", "osint", "official", "partisan",
             "regional-media", "independent")
VENUES = ("polymarket", "kalshi", "manifold")
TWITTER_EPOCH_MS = 1288834974657
_URL_REFERENCE = re.compile(r"\{url:([a-z0-9-]+)\}")
_SEED_KEYS = {"seed_fact", "outlet", "at", "text", "title", "author", "views", "media", "links",
              "forward_of", "reply_to", "edited_at", "edited_text", "post_id", "poll"}


class ScenarioError(ValueError):
    """Scenario data that does not fit; the message names the file and the entry."""


def load_scenario(name: str = "iran_talks") -> Scenario:
    folder = SCENARIOS_DIR / name
    if not folder.is_dir():
        known = sorted(p.name for p in SCENARIOS_DIR.iterdir() if p.is_dir())
        raise ScenarioError(f"no scenario {name!r}; known: {', '.join(known) or 'none'}")
    meta = _read_yaml(folder, "scenario.yaml")
    start = _timestamp(_field(meta, "start", "scenario.yaml"), "scenario.yaml: start")
    end = _timestamp(_field(meta, "end", "scenario.yaml"), "scenario.yaml: end")
    run_times = sorted(_timestamp(t, "scenario.yaml: run_times") for t in _field(meta, "run_times", "scenario.yaml"))
    if not start < end or any(not start <= t <= end for t in run_times):
        raise ScenarioError("scenario.yaml: need start < end and every run time inside [start, end]")

    outlets, first_ids = _parse_outlets(_read_yaml(folder, "outlets.yaml"))
    by_handle = {o.handle: o for o in outlets}
    seeds = _parse_seed_posts(_read_yaml(folder, "seed_posts.yaml"), by_handle, start, end)
    try:
        background = generate_background(_read_yaml(folder, "background.yaml"), by_handle)
    except BackgroundConfigError as err:
        raise ScenarioError(str(err)) from err

    posts = [post for post, _ in seeds] + background.posts
    _assign_ids(posts, by_handle, first_ids, random.Random(f"{name}|ids"))
    _resolve_seed_references(seeds, by_handle)
    for forward, original in background.forwards:
        forward.forwarded_from = f"{by_handle[original.outlet].title}|{canonical_url(original)}"
    posts.sort(key=lambda p: (p.published_at, p.outlet, p.post_id))
    markets = _parse_markets(_read_yaml(folder, "markets.yaml"))
    return Scenario(name=str(meta.get("name", name)), start=start, end=end, run_times=run_times,
                    outlets=outlets, posts=posts, markets=markets)


def canonical_url(post: Post) -> str:
    """The URL a reader would cite for the post (for feed items, the item's link)."""
    if post.kind == "telegram":
        return f"https://t.me/{post.outlet}/{post.post_id}"
    if post.kind == "x":
        return f"https://x.com/{post.outlet}/status/{post.post_id}"
    return post.links[0] if post.links else ""


def snowflake(at: datetime, ms_in_second: int = 0, low_bits: int = 0) -> int:
    """An X status id for a post made at `at`: milliseconds since Twitter's epoch, shifted past
    the 22 worker/sequence bits."""
    ms = int(at.timestamp()) * 1000 + ms_in_second
    return ((ms - TWITTER_EPOCH_MS) << 22) | (low_bits & 0x3FFFFF)


def snowflake_time(status_id: int) -> datetime:
    return datetime.fromtimestamp(((status_id >> 22) + TWITTER_EPOCH_MS) / 1000, tz=timezone.utc)


# ---- files ----------------------------------------------------------------------------------------

def _read_yaml(folder: Path, filename: str) -> Mapping[str, Any]:
    path = folder / filename
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ScenarioError(f"{folder.name}/{filename}: missing") from err
    except yaml.YAMLError as err:
        raise ScenarioError(f"{folder.name}/{filename}: not valid YAML: {err}") from err
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{folder.name}/{filename}: expected a mapping at the top")
    return data


def _field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or mapping.get(key) is None:
        raise ScenarioError(f"{where}: missing {key!r}")
    return mapping[key]


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError as err:
            raise ScenarioError(f"{where}: {value!r} is not a timestamp") from err
    if value.tzinfo is None:
        raise ScenarioError(f"{where}: {value!r} has no time zone (write ...Z for UTC)")
    return value.astimezone(timezone.utc)


# ---- outlets --------------------------------------------------------------------------------------

def _parse_outlets(data: Mapping[str, Any]) -> tuple[list[Outlet], dict[str, int]]:
    outlets: list[Outlet] = []
    first_ids: dict[str, int] = {}
    for i, row in enumerate(_field(data, "outlets", "outlets.yaml")):
        where = f"outlets.yaml: outlets[{i}]"
        handle = str(_field(row, "handle", where))
        where = f"{where} ({handle})"
        kind = _field(row, "kind", where)
        register = _field(row, "register", where)
        if kind not in KINDS:
            raise ScenarioError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if register not in REGISTERS:
            raise ScenarioError(f"{where}: register {register!r} is not one of {', '.join(REGISTERS)}")
        if any(o.handle == handle for o in outlets):
            raise ScenarioError(f"{where}: duplicate handle")
        if kind != "x":
            first_ids[handle] = int(_field(row, "first_post_id", where))
        created = row.get("created_at")
        outlets.append(Outlet(
            kind=kind, handle=handle, title=str(_field(row, "title", where)),
            language=str(_field(row, "language", where)), register=register,
            description=str(row.get("description", "")), subscribers=row.get("subscribers"),
            created_at=_timestamp(created, f"{where}: created_at") if created is not None else None,
        ))
    return outlets, first_ids


# ---- seed posts -----------------------------------------------------------------------------------

def _parse_seed_posts(data: Mapping[str, Any], outlets: Mapping[str, Outlet],
                      start: datetime, end: datetime) -> list[tuple[Post, Mapping[str, Any]]]:
    seeds: list[tuple[Post, Mapping[str, Any]]] = []
    for i, row in enumerate(_field(data, "posts", "seed_posts.yaml")):
        key = row.get("seed_fact") if isinstance(row, Mapping) else None
        where = f"seed_posts.yaml: posts[{i}] ({key})"
        if not key:
            raise ScenarioError(f"{where}: missing 'seed_fact'")
        unknown = set(row) - _SEED_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        handle = _field(row, "outlet", where)
        if handle not in outlets:
            raise ScenarioError(f"{where}: no outlet {handle!r} in outlets.yaml")
        outlet = outlets[handle]
        at = _timestamp(_field(row, "at", where), f"{where}: at")
        if not start <= at <= end:
            raise ScenarioError(f"{where}: {at.isoformat()} is outside the scenario window")
        if not (row.get("text") or row.get("media") or row.get("forward_of") or row.get("poll")):
            raise ScenarioError(f"{where}: needs text, media, forward_of or poll")
        poll = _parse_poll(row["poll"], outlet, where) if row.get("poll") is not None else None
        if outlet.kind == "rss" and not (row.get("title") and row.get("links")):
            raise ScenarioError(f"{where}: feed items need a title and links")
        if (row.get("forward_of") or row.get("views") is not None) and outlet.kind != "telegram":
            raise ScenarioError(f"{where}: forward_of and views exist on Telegram only")
        edited_at = row.get("edited_at")
        if (edited_at is None) != (row.get("edited_text") is None):
            raise ScenarioError(f"{where}: edited_at and edited_text go together")
        post = Post(
            outlet=handle, kind=outlet.kind, post_id=int(row.get("post_id") or 0), published_at=at,
            text=str(row.get("text") or ""), author=row.get("author"), views=row.get("views"),
            title=row.get("title"), media=list(row.get("media") or []), links=list(row.get("links") or []),
            edited_at=_timestamp(edited_at, f"{where}: edited_at") if edited_at is not None else None,
            edited_text=row.get("edited_text"), seed_fact=str(key), poll=poll,
        )
        if post.edited_at is not None and post.edited_at <= at:
            raise ScenarioError(f"{where}: edited_at must come after the post")
        if outlet.kind == "x" and post.author is None:
            post.author = outlet.title
        seeds.append((post, row))
    return seeds


def _parse_poll(data: Any, outlet: Outlet, where: str) -> ScenarioPoll:
    if outlet.kind != "telegram":
        raise ScenarioError(f"{where}: polls exist on Telegram only")
    if not isinstance(data, Mapping) or not data.get("question") or not data.get("options"):
        raise ScenarioError(f"{where}: a poll needs a question and options")
    options = []
    for j, option in enumerate(data["options"]):
        if not isinstance(option, Mapping) or not option.get("text") or not 0 <= int(option.get("percent", -1)) <= 100:
            raise ScenarioError(f"{where}: poll options[{j}] needs a text and a percent in [0, 100]")
        options.append((str(option["text"]), int(option["percent"])))
    voters = int(_field(data, "voters", f"{where}: poll"))
    return ScenarioPoll(question=str(data["question"]), options=options, voters=voters,
                        anonymous=bool(data.get("anonymous", True)), multiple_choice=bool(data.get("multiple_choice")),
                        quiz=bool(data.get("quiz")))


def _resolve_seed_references(seeds: list[tuple[Post, Mapping[str, Any]]], outlets: Mapping[str, Outlet]) -> None:
    by_fact: dict[str, list[Post]] = {}
    for post, _ in seeds:
        by_fact.setdefault(post.seed_fact or "", []).append(post)

    def target(fact: str, where: str) -> Post:
        found = by_fact.get(fact, [])
        if len(found) != 1:
            raise ScenarioError(f"{where}: reference to {fact!r} matches {len(found)} posts, needs exactly one")
        return found[0]

    def expand(text: str, where: str) -> str:
        return _URL_REFERENCE.sub(lambda m: canonical_url(target(m.group(1), where)), text)

    for i, (post, row) in enumerate(seeds):
        where = f"seed_posts.yaml: posts[{i}] ({post.seed_fact})"
        if row.get("forward_of"):
            original = target(row["forward_of"], where)
            if original.kind != "telegram" or original.published_at >= post.published_at:
                raise ScenarioError(f"{where}: forward_of must name an earlier Telegram post")
            post.forwarded_from = f"{outlets[original.outlet].title}|{canonical_url(original)}"
            post.text = post.text or original.text
            post.media = post.media or list(original.media)
        if row.get("reply_to"):
            parent = target(row["reply_to"], where)
            if parent.outlet != post.outlet or parent.published_at >= post.published_at:
                raise ScenarioError(f"{where}: reply_to must name an earlier post of the same outlet")
            post.reply_to = parent.post_id
        post.text = expand(post.text, where)
        post.links = [expand(link, where) for link in post.links]
        if post.edited_text:
            post.edited_text = expand(post.edited_text, where)


# ---- ids ------------------------------------------------------------------------------------------

def _assign_ids(posts: Iterable[Post], outlets: Mapping[str, Outlet], first_ids: Mapping[str, int],
                rng: random.Random) -> None:
    by_outlet: dict[str, list[Post]] = {}
    for post in posts:
        by_outlet.setdefault(post.outlet, []).append(post)
    for handle in sorted(by_outlet):
        outlet = outlets[handle]
        previous = 0
        for post in sorted(by_outlet[handle], key=lambda p: (p.published_at, p.seed_fact is None)):
            if post.post_id:                       # fixed by the scenario data
                if post.post_id <= previous:
                    raise ScenarioError(f"seed_posts.yaml ({post.seed_fact}): post_id {post.post_id} does "
                                        f"not rise with time in {handle} (previous id {previous})")
            elif outlet.kind == "x":
                post.post_id = max(previous + 1, snowflake(post.published_at, rng.randrange(1000),
                                                           rng.getrandbits(22)))
            elif previous == 0:
                post.post_id = first_ids[handle]
            else:
                # Telegram albums and deleted messages leave gaps in the message numbers.
                gap = rng.choice((1, 1, 2, 3)) if outlet.kind == "telegram" and rng.random() < 0.08 else 0
                post.post_id = previous + 1 + gap
            previous = post.post_id
            if outlet.kind == "telegram" and post.views is None and outlet.subscribers:
                post.views = int(outlet.subscribers * rng.uniform(0.05, 0.3))


# ---- markets --------------------------------------------------------------------------------------

def _parse_markets(data: Mapping[str, Any]) -> list[ScenarioMarket]:
    markets: list[ScenarioMarket] = []
    for i, row in enumerate(_field(data, "markets", "markets.yaml")):
        where = f"markets.yaml: markets[{i}] ({row.get('market_id') if isinstance(row, Mapping) else None})"
        venue = _field(row, "venue", where)
        if venue not in VENUES:
            raise ScenarioError(f"{where}: venue {venue!r} is not one of {', '.join(VENUES)}")
        history: list[PricePoint] = []
        for j, point in enumerate(_field(row, "history", where)):
            if not isinstance(point, list) or len(point) != 2:
                raise ScenarioError(f"{where}: history[{j}] should be [time, probability]")
            t = _timestamp(point[0], f"{where}: history[{j}]")
            p = float(point[1])
            if not 0.0 <= p <= 1.0 or (history and t <= history[-1].t):
                raise ScenarioError(f"{where}: history[{j}] needs a probability in [0, 1] and a later time")
            history.append(PricePoint(t=t, p=p))
        outcomes = [str(o) for o in _field(row, "outcomes", where)]
        token_ids = [str(t) for t in row.get("token_ids") or []]
        if venue == "polymarket" and len(token_ids) != len(outcomes):
            raise ScenarioError(f"{where}: Polymarket needs one CLOB token id per outcome")
        markets.append(ScenarioMarket(
            venue=venue, market_id=str(_field(row, "market_id", where)),
            question=str(_field(row, "question", where)), slug=str(_field(row, "slug", where)),
            outcomes=outcomes, end_date=_timestamp(_field(row, "end_date", where), f"{where}: end_date"),
            created_at=_timestamp(_field(row, "created_at", where), f"{where}: created_at"),
            history=history, event_id=str(row["event_id"]) if row.get("event_id") is not None else None,
            volume=float(row.get("volume", 0.0)), liquidity=float(row.get("liquidity", 0.0)),
            resolved=row.get("resolved"), token_ids=token_ids, archived=bool(row.get("archived", False)),
        ))
    return markets
