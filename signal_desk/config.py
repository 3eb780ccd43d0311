"""Sources and watch lists, loaded from YAML and validated before anything runs.

A bad file fails with one message naming the file, the line and the field. `${VAR}` and
`${VAR:-default}` in values are expanded from the environment, so the same files point at the
internet or at the local mirror.
"""
from __future__ import annotations

import functools
import os
import re
import threading
import warnings
import zlib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Register = Literal[
    "state-aligned", "western-wire", "western-media", "osint", "official",
    "partisan", "regional-media", "independent",
]
SourceKind = Literal["telegram", "x", "rss"]
Venue = Literal["polymarket", "kalshi", "manifold"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+")]
LangMap = dict[str, list[str]]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoints(_Strict):
    telegram: HttpUrl = "https://t.me"
    x_mirrors: list[HttpUrl] = Field(default_factory=lambda: ["https://nitter.net"], min_length=1)
    polymarket_gamma: HttpUrl = "https://gamma-api.polymarket.com"
    polymarket_clob: HttpUrl = "https://clob.polymarket.com"
    kalshi: HttpUrl = "https://api.elections.kalshi.com/trade-api/v2"
    manifold: HttpUrl = "https://api.manifold.markets/v0"

    @field_validator("telegram", "polymarket_gamma", "polymarket_clob", "kalshi", "manifold")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @field_validator("x_mirrors")
    @classmethod
    def _strip_all(cls, v: list[str]) -> list[str]:
        return [u.rstrip("/") for u in v]


# `register` is the desk's word for a source's voice; it shadows BaseModel.register (an ABC hook) harmlessly.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class Source(_Strict):
    id: Slug
    kind: SourceKind
    handle: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{3,64}$")] | None = None
    url: HttpUrl | None = None
    name: str
    register: Register
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
    enabled: bool = True

    @model_validator(mode="after")
    def _handle_or_url(self) -> "Source":
        if self.kind == "rss" and not self.url:
            raise ValueError("an rss source needs a url")
        if self.kind != "rss" and not self.handle:
            raise ValueError(f"a {self.kind} source needs a handle")
        return self


class SourcesFile(_Strict):
    endpoints: Endpoints = Field(default_factory=Endpoints)
    # How many ingest parts the sources are split into, one hourly deployment each (docs/runbook.md,
    # section 8); a source's part follows from its id alone, so adding a source moves no other.
    partitions: Annotated[int, Field(ge=1, le=256)] = 1
    sources: list[Source]

    def cross_problems(self) -> list[tuple[tuple, str]]:
        """Checks across entries, as (location, message) so the error can name the line."""
        seen: set[str] = set()
        problems = []
        for i, s in enumerate(self.sources):
            if s.id in seen:
                problems.append((("sources", i, "id"), f"duplicate source id {s.id!r}"))
            seen.add(s.id)
        return problems

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]


Country = Literal["iran", "us", "israel", "other"]


class Office(_Strict):
    """A post an actor holds, by the titles outlets use for it: "the foreign minister" names Araqchi on
    a post dated within `since`..`until` that names Iran (or calls the minister Iranian)."""
    titles: LangMap
    country: Country
    since: date | None = None
    until: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Office":
        if self.since and self.until and self.until < self.since:
            raise ValueError(f"office ends ({self.until}) before it starts ({self.since})")
        return self


class Actor(_Strict):
    id: Slug
    name: str
    title: str | None = None
    side: Country = "other"
    aliases: LangMap = Field(default_factory=dict)
    offices: list[Office] = Field(default_factory=list)


class Place(_Strict):
    id: Slug
    name: str
    aliases: LangMap = Field(default_factory=dict)


class Claim(_Strict):
    """A claim as an analyst states it: a description and example sentences in any language, matched
    by meaning. `near_misses` are sentences close to it that do not make it (the same kind of event
    elsewhere, say); `patterns` (regular expressions per language) are optional rules that also fire
    it; `threshold` overrides the probability a sentence needs."""
    id: Slug
    description: str = ""
    examples: LangMap = Field(default_factory=dict)
    near_misses: LangMap = Field(default_factory=dict)
    patterns: LangMap = Field(default_factory=dict)
    threshold: float | None = Field(default=None, gt=0, lt=1)
    # the act a statement of this claim performs when no reporting verb names one ("Araqchi: the US
    # violated the memorandum" accuses)
    act: Literal["said", "accused", "denied", "warned", "confirmed", "announced", "claimed", "insisted"] | None = None

    @model_validator(mode="after")
    def _something_to_match(self) -> "Claim":
        if not (self.description.strip() or any(self.examples.values()) or any(self.patterns.values())):
            raise ValueError(f"claim {self.id!r} needs a description, examples or patterns")
        return self

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, v: LangMap) -> LangMap:
        for lang, pats in v.items():
            for p in pats:
                try:
                    re.compile(p)
                except re.error as e:
                    raise ValueError(f"pattern {p!r} ({lang}) is not a valid regular expression: {e}") from None
        return v


class MarketRef(_Strict):
    venue: Venue
    slug: str | None = None
    ticker: str | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> "MarketRef":
        if not (self.slug or self.ticker or self.id):
            raise ValueError("a market needs a slug, ticker or id")
        return self

    @property
    def key(self) -> str:
        return self.slug or self.ticker or self.id or ""


class MarketRule(MarketRef):
    above: float | None = Field(default=None, ge=0, le=1)
    below: float | None = Field(default=None, ge=0, le=1)
    move_abs: float | None = Field(default=None, gt=0, le=1)


class SignalRule(_Strict):
    claims_any: list[Slug] = Field(default_factory=list)
    actors_any: list[Slug] = Field(default_factory=list)
    keywords_any: LangMap = Field(default_factory=dict)
    market: MarketRule | None = None


class Signal(_Strict):
    id: Slug
    title: str
    rule: SignalRule


class ReportSettings(_Strict):
    recipients: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    cron: str = "0 7 * * *"
    timezone: str = "UTC"
    odds_move_threshold: float = Field(default=0.05, gt=0, le=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError(f"cron {v!r} must have five fields")
        return v


# A signal's levels, lowest first (mart_signal_status.level): seen once its rule is met, corroborated once
# posts of two outlets meet it, neither relaying the other.
SIGNAL_LEVELS = ("not seen", "seen", "corroborated")
AlertLevel = Literal["seen", "corroborated"]
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
QuietMinutes = Annotated[int, Field(ge=0, le=7 * 24 * 60)]


class AlertOptions(_Strict):
    """What one recipient or webhook hears: unset fields take the watch list's `alerts:` values."""
    enabled: bool = True
    min_level: AlertLevel | None = None
    quiet_minutes: QuietMinutes | None = None


class AlertRecipient(AlertOptions):
    email: EmailAddress

    @model_validator(mode="before")
    @classmethod
    def _bare_address(cls, value: Any) -> Any:
        return {"email": value} if isinstance(value, str) else value


class Webhook(AlertOptions):
    """A Slack- or Teams-compatible incoming webhook. Its URL is a credential: it is read at send time
    from an environment variable or a Prefect Secret block, never written in this file."""
    url_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    secret_block: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_literal_url(cls, value: Any) -> Any:
        if isinstance(value, dict) and "url" in value:
            raise ValueError("a webhook URL is a secret and stays out of this file: name the environment "
                             "variable (url_env) or the Prefect Secret block (secret_block) that holds it")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> "Webhook":
        if bool(self.url_env) == bool(self.secret_block):
            raise ValueError("a webhook needs exactly one of url_env (an environment variable) or "
                             "secret_block (a Prefect Secret block) holding its URL")
        return self

    @property
    def label(self) -> str:
        """How the alerts table names this webhook: where its URL comes from, never the URL."""
        return f"env {self.url_env}" if self.url_env else f"block {self.secret_block}"


class AlertSettings(_Strict):
    """Alerts when one of the watch list's signals changes (docs/alerts.md): on or off, the lowest level
    worth an alert, and the quiet period after an alert in which further changes wait to go out as one."""
    enabled: bool = True
    min_level: AlertLevel = "seen"
    quiet_minutes: QuietMinutes = 60
    recipients: list[AlertRecipient] = Field(default_factory=list)
    webhook: Webhook | None = None


class Watchlist(_Strict):
    id: Slug
    title: str
    description: str = ""
    window_hours: int = Field(default=72, gt=0)
    keywords: LangMap = Field(default_factory=dict)
    actors: list[Actor] = Field(default_factory=list)
    roles: list[Actor] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    contradictions: list[tuple[Slug, Slug]] = Field(default_factory=list)
    sources: list[Slug] = Field(default_factory=list)
    markets: list[MarketRef] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)
    report: ReportSettings
    alerts: AlertSettings | None = None

    def cross_problems(self, at: tuple) -> list[tuple[tuple, str]]:
        claim_ids = {c.id for c in self.claims}
        speaker_ids = {a.id for a in self.actors} | {r.id for r in self.roles}
        problems = []
        for j, pair in enumerate(self.contradictions):
            for k, c in enumerate(pair):
                if c not in claim_ids:
                    problems.append(((*at, "contradictions", j, k), f"contradiction names unknown claim {c!r}"))
        for j, sig in enumerate(self.signals):
            for c in sig.rule.claims_any:
                if c not in claim_ids:
                    problems.append(((*at, "signals", j, "rule", "claims_any"),
                                     f"signal {sig.id!r} names unknown claim {c!r}"))
            for a in sig.rule.actors_any:
                if a not in speaker_ids:
                    problems.append(((*at, "signals", j, "rule", "actors_any"),
                                     f"signal {sig.id!r} names unknown actor {a!r}"))
        if self.alerts is not None:
            seen_addresses: set[str] = set()
            for j, rcpt in enumerate(self.alerts.recipients):
                where = (*at, "alerts", "recipients", j, "email")
                if rcpt.email not in self.report.recipients:
                    problems.append((where, f"{rcpt.email} is not one of this watch list's recipients "
                                            f"(report.recipients): only they can opt in to its alerts"))
                if rcpt.email in seen_addresses:
                    problems.append((where, f"{rcpt.email} is listed twice"))
                seen_addresses.add(rcpt.email)
        return problems


class WatchlistsFile(_Strict):
    watchlists: list[Watchlist]

    def cross_problems(self) -> list[tuple[tuple, str]]:
        problems, seen = [], set()
        for i, wl in enumerate(self.watchlists):
            if wl.id in seen:
                problems.append((("watchlists", i, "id"), f"duplicate watch list id {wl.id!r}"))
            seen.add(wl.id)
            problems += wl.cross_problems(("watchlists", i))
        return problems


class Config(BaseModel):
    """Both files, cross-checked."""

    sources_file: SourcesFile
    watchlists: list[Watchlist]
    directory: Path

    @property
    def endpoints(self) -> Endpoints:
        return self.sources_file.endpoints

    @property
    def sources(self) -> list[Source]:
        return self.sources_file.enabled

    def source(self, source_id: str) -> Source:
        for s in self.sources_file.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    @property
    def partitions(self) -> int:
        return self.sources_file.partitions

    def sources_of_part(self, part: int) -> list[Source]:
        """The enabled sources of ingest part `part` (1 .. partitions)."""
        if not 1 <= part <= self.partitions:
            raise ConfigError(f"{self.directory / 'sources.yaml'}: part {part} does not exist "
                              f"(partitions: {self.partitions})")
        return [s for s in self.sources if part_of(s.id, self.partitions) == part]


def part_of(source_id: str, partitions: int) -> int:
    """The ingest part (1 .. partitions) a source id belongs to: a stable hash, the same on every host
    and in every process (Python's own string hash is salted per process)."""
    return zlib.crc32(source_id.encode("utf-8")) % partitions + 1


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Variables with names like these hold credentials: they stay as ${NAME} in the configuration and are
# put into a URL only by the fetch layer, at request time, so no stored URL or log line carries them.
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)


def env_seconds(name: str, default: float, *, positive: bool = False) -> float:
    """A duration setting from the environment (unset or empty: `default`); a bad value is one line
    naming the variable."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds") from None
    if seconds < 0 or (positive and seconds == 0):
        raise ValueError(f"{name}={value!r} must be {'positive' if positive else 'zero or more'}")
    return seconds


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


# Every credential value expand_secrets has put into a request, with the placeholder it came from.
_FILLED_IN: dict[str, str] = {}
_FILLED_IN_LOCK = threading.Lock()
# Credential-named variables are redacted even when no URL used them, if long enough not to be a flag.
_MIN_ENV_SECRET_LEN = 8


def expand_secrets(text: str) -> str:
    """Fill in ${SECRET_NAME} placeholders from the environment (the fetch layer calls this)."""
    def sub(m: re.Match) -> str:
        name, default = m.group(1), m.group(2)
        if not is_secret_name(name):
            return m.group(0)
        if name in os.environ:
            value = os.environ[name]
            if value:
                with _FILLED_IN_LOCK:
                    _FILLED_IN[value] = f"${{{name}}}"
            return value
        if default is not None:
            return default          # written in the configuration itself, so not a secret
        raise ConfigError(f"environment variable {name} is not set (a credential the configuration refers to)")
    return _ENV_REF.sub(sub, text) if "${" in text else text


def _known_secrets() -> dict[str, str]:
    """value -> placeholder, for every credential value that could turn up in what a fetch returns."""
    with _FILLED_IN_LOCK:
        known = dict(_FILLED_IN)
    for name, value in os.environ.items():
        if len(value) >= _MIN_ENV_SECRET_LEN and is_secret_name(name):
            known.setdefault(value, f"${{{name}}}")
    return known


@functools.lru_cache(maxsize=16)
def _secret_pattern(known: tuple[tuple[str, str], ...], as_bytes: bool) -> tuple[re.Pattern, dict[str, str]]:
    """One pattern matching each value however a URL may have encoded it: every character as itself or
    as %XX (either case), a space also as '+'. Longest values first, so none is matched by a prefix."""
    alternatives, placeholders = [], {}
    for i, (value, placeholder) in enumerate(sorted(known, key=lambda kv: len(kv[0]), reverse=True)):
        chars = []
        for ch in value:
            percent = "".join(f"%(?i:{byte:02X})" for byte in ch.encode("utf-8"))
            options = [re.escape(ch), percent] + ([r"\+"] if ch == " " else [])
            chars.append("(?:" + "|".join(options) + ")")
        alternatives.append(f"(?P<s{i}>{''.join(chars)})")
        placeholders[f"s{i}"] = placeholder
    pattern = "|".join(alternatives)
    return re.compile(pattern.encode() if as_bytes else pattern), placeholders


def redact_secrets(text: str) -> str:
    """`text` with every credential value replaced by its ${NAME} placeholder: the values the fetch layer
    filled into URLs, and those of credential-named environment variables, plain or URL-encoded.
    Everything derived from a fetch (URLs, redirect targets, error messages) passes through here before
    it is stored or shown."""
    return redact_secrets_in({"": text})[""] if text else text


def redact_secrets_in(texts: dict[str, str]) -> dict[str, str]:
    """`redact_secrets` over the values of a mapping (a response's headers), reading the environment once."""
    known = _known_secrets()
    if not known:
        return texts
    pattern, placeholders = _secret_pattern(tuple(sorted(known.items())), False)
    return {k: pattern.sub(lambda m: placeholders[m.lastgroup], v) if v else v for k, v in texts.items()}


def redact_secrets_bytes(data: bytes) -> bytes:
    """`redact_secrets` for a response body (a server may echo the key, say in a next-page link)."""
    known = _known_secrets()
    if not data or not known:
        return data
    pattern, placeholders = _secret_pattern(tuple(sorted(known.items())), True)
    return pattern.sub(lambda m: placeholders[m.lastgroup].encode(), data)


def _expand_env(value: Any, path: Path, loc: tuple = (), unset: list | None = None) -> Any:
    """`value` with ${VAR} filled in. A variable that is not set (and has no default) is recorded in
    `unset` as (location, message) and left empty, so the rest of the file is still checked."""
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            if is_secret_name(name):
                if name not in os.environ and default is None:
                    _unset(name, m.group(0))
                return m.group(0)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            _unset(name, m.group(0))
            return ""

        def _unset(name: str, ref: str) -> None:
            if unset is None:
                raise ConfigError(f"{path}: environment variable {name} is not set (referenced as {ref})")
            unset.append((loc, name, ref))
        return _ENV_REF.sub(sub, value) if "${" in value else value
    if isinstance(value, list):
        return [_expand_env(v, path, (*loc, i), unset) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand_env(v, path, (*loc, k), unset) for k, v in value.items()}
    return value


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Walk the composed YAML tree along a pydantic error location; the deepest node found gives the line."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
            if nxt is None:
                nxt_key = next((k for k, _ in node.value if k.value == key), None)
                if nxt_key is not None:
                    return nxt_key.start_mark.line + 1
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


# libyaml when PyYAML was built with it: the pure-Python loader took seconds on a 1,000-source file.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The entries a problem is named by: "source alalamarabic", "watch list us-iran-talks".
_ENTRY_NAMES = {"sources": "source", "watchlists": "watch list"}


def _compose(text: str) -> yaml.Node | None:
    """The YAML tree with line marks, built only to place an error (the text already parsed once)."""
    return yaml.compose(text, Loader=_SAFE_LOADER)


def _item_id(item: Any) -> str | None:
    value = item.get("id") if isinstance(item, dict) else None
    return value if isinstance(value, str) and value else None


def _describe(loc: tuple, data: Any) -> tuple[str, str]:
    """(entry, field) for a location: ("source alalamarabic", "register") for ("sources", 0, "register").
    Inside an entry, list items with an id are named by it (`signals[suspended].rule`), others by index."""
    entry, parts, node = "", [], data
    for depth, key in enumerate(loc):
        child = None
        if isinstance(node, dict):
            child = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            child = node[key]
        if depth == 1 and isinstance(key, int) and loc[0] in _ENTRY_NAMES:
            entry = f"{_ENTRY_NAMES[loc[0]]} {_item_id(child) or f'#{key + 1} (no id)'}"
            parts = []
        elif isinstance(key, int):
            item_id = _item_id(child)
            if item_id and parts:
                parts[-1] += f"[{item_id}]"
            else:
                parts.append(str(key))
        else:
            parts.append(str(key))
        node = child
    return entry, ".".join(parts)


def _allowed_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names the model accepts at `loc` (the parent of an unknown field), for the message."""
    for key in loc:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            return []
        found = _model_in(field.annotation)
        if found is None:
            return []
        model = found
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if found := _model_in(arg):
            return found
    return None


def _message(err: dict, model: type[BaseModel]) -> str:
    """Pydantic's message, said as what was expected."""
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, tuple(err["loc"])[:-1])
        return "unknown field" + (f" (expected one of: {', '.join(allowed)})" if allowed else "")
    return msg.removeprefix("Value error, ")


def _located(path: Path, tree: yaml.Node | None, data: Any, loc: tuple, msg: str) -> str:
    entry, field = _describe(loc, data)
    where = ": ".join(part for part in (entry, field) if part) or "(top level)"
    return f"{path}: line {_line_of(tree, loc)}: {where}: {msg}"


def _unset_problems(unset: list[tuple[tuple, str, str]]) -> list[tuple[tuple, str]]:
    """One problem per unset variable, placed at its first use."""
    uses: dict[str, list[tuple[tuple, str]]] = {}
    for loc, name, ref in unset:
        uses.setdefault(name, []).append((loc, ref))
    problems = []
    for name, places in uses.items():
        (loc, ref), more = places[0], len(places) - 1
        also = f"; used in {more} more place{'s' if more > 1 else ''}" if more else ""
        problems.append((loc, f"environment variable {name} is not set (referenced as {ref}{also})"))
    return problems


def _check_file(path: Path, model: type[BaseModel]) -> tuple[BaseModel | None, Any, list[str]]:
    """(the validated file or None, its raw data, one line per problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None, [f"{path}: file not found"]
    except UnicodeDecodeError as e:
        return None, None, [f"{path}: not UTF-8 text ({e.reason} at byte {e.start})"]
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        return None, None, [f"{path}: {where}: invalid YAML: {getattr(e, 'problem', e)}"]
    if not isinstance(data, dict):
        return None, data, [f"{path}: line 1: expected a mapping at the top level"]
    unset: list[tuple[tuple, str, str]] = []
    expanded = _expand_env(data, path, (), unset)
    located = _unset_problems(unset)
    obj = None
    try:
        obj = model.model_validate(expanded)
    except ValidationError as e:
        # A value left empty by an unset variable fails validation too: the variable is the problem.
        located += [(tuple(err["loc"]), _message(err, model)) for err in e.errors()
                    if not any(tuple(err["loc"])[:len(at)] == at for at, _, _ in unset)]
    else:
        if hasattr(obj, "cross_problems"):
            located += obj.cross_problems()
    if not located:
        return obj, data, []
    tree = _compose(text)
    located.sort(key=lambda problem: _line_of(tree, problem[0]) or 0)
    return None, data, [_located(path, tree, data, loc, msg) for loc, msg in located]


def load_model(path: Path, model: type[BaseModel]) -> BaseModel:
    obj, _, problems = _check_file(path, model)
    if problems:
        raise ConfigError("\n".join(problems))
    return obj


def check_config(directory: Path | str) -> tuple[Config | None, list[str]]:
    """Both files of a configuration directory, cross-checked: (the configuration, or None and one line
    per problem, all of them). Light on imports, so `./run check` answers within a second."""
    directory = Path(directory)
    src_path, wl_path = directory / "sources.yaml", directory / "watchlists.yaml"
    sources, _, problems = _check_file(src_path, SourcesFile)
    watchlists, wl_data, wl_problems = _check_file(wl_path, WatchlistsFile)
    problems += wl_problems
    if sources is not None and watchlists is not None:
        known = {s.id for s in sources.sources}
        unknown = [(("watchlists", i, "sources", j), f"unknown source id {sid!r}")
                   for i, wl in enumerate(watchlists.watchlists) for j, sid in enumerate(wl.sources) if sid not in known]
        if unknown:
            tree = _compose(wl_path.read_text(encoding="utf-8"))
            problems += [_located(wl_path, tree, wl_data, loc, msg) for loc, msg in unknown]
    if problems:
        return None, problems
    return Config(sources_file=sources, watchlists=watchlists.watchlists, directory=directory), []


def load_config(directory: Path | str) -> Config:
    """Load `sources.yaml` and `watchlists.yaml` from a directory and cross-check them; every problem
    found is one line of the ConfigError."""
    config, problems = check_config(directory)
    if problems:
        raise ConfigError("\n".join(problems))
    return config
