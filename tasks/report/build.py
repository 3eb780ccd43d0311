"""From the signal marts to a report model: what changed, the stories, the odds, the signals.

Everything the renderers show is decided here; they only format. Times are UTC. A report covers the
window (window_start, window_end]; "what changed" counts from `since`, the previous report's window end.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb

from tasks.config import Watchlist

MAX_STORIES = 6            # stories shown in full; the rest are listed by headline
MAX_STATEMENTS = 30        # timeline rows per story: the first report and the most recent ones
MAX_NEW_STATEMENTS = 10    # rows listed under "what changed"

MARTS = ("mart_stories", "mart_story_timeline", "mart_story_registers", "mart_contradictions",
         "mart_story_odds", "mart_statement_odds", "mart_signal_status")


class ReportDataError(RuntimeError):
    """The database cannot give a report: a mart is missing or a row does not fit."""


@dataclass(frozen=True, slots=True)
class Post:
    """One post a report line rests on."""

    source_id: str
    item_id: str
    url: str
    outlet: str
    published_at: datetime
    text: str = ""
    register: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Statement:
    """One row of a story's timeline."""

    number: int                          # position in the story's timeline; the chart marks it with this number
    post: Post
    speaker: str | None
    speech_act: str | None
    attributed_to: str | None
    quotes: tuple[str, ...]
    claims: tuple[str, ...]
    is_first_report: bool
    relay_of: Post | None
    relay_lag_minutes: int | None
    is_new: bool


@dataclass(frozen=True, slots=True)
class RegisterCoverage:
    register: str
    first_seen_at: datetime
    items: int
    sources: int
    share: float


@dataclass(frozen=True, slots=True)
class Contradiction:
    claim_a: str
    post_a: Post
    claim_b: str
    post_b: Post
    is_new: bool


@dataclass(frozen=True, slots=True)
class MarketLink:
    venue: str
    market_id: str
    question: str
    outcome: str
    url: str | None
    price_at_first_report: float | None
    price_now: float | None
    move_since_first_report: float | None
    moved_before_first_report: bool
    move_before_first_report: float | None


@dataclass(frozen=True, slots=True)
class StatementOdds:
    statement_number: int
    venue: str
    market_id: str
    before: float | None
    at: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class OddsSeries:
    venue: str
    market_id: str
    question: str
    outcome: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Story:
    story_id: str
    headline: str
    first_seen_at: datetime
    last_seen_at: datetime
    items: int
    sources: int
    languages: tuple[str, ...]
    registers: tuple[str, ...]
    is_new: bool
    first_report: Post | None
    statements: tuple[Statement, ...]
    statements_omitted: int
    register_coverage: tuple[RegisterCoverage, ...]
    contradictions: tuple[Contradiction, ...]
    markets: tuple[MarketLink, ...]
    statement_odds: tuple[StatementOdds, ...]
    series: tuple[OddsSeries, ...]

    @property
    def relays(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.relay_of is not None)


@dataclass(frozen=True, slots=True)
class Evidence:
    published_at: datetime | None
    outlet: str
    url: str | None
    why: str
    source_id: str | None = None
    item_id: str | None = None


@dataclass(frozen=True, slots=True)
class SignalStatus:
    signal_id: str
    title: str
    status: str                          # seen | not seen
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    evidence_count: int
    evidence: tuple[Evidence, ...]
    newly_seen: bool


@dataclass(frozen=True, slots=True)
class OddsMove:
    venue: str
    market_id: str
    question: str
    outcome: str
    url: str | None
    then: float
    now: float

    @property
    def move(self) -> float:
        return self.now - self.then


@dataclass(frozen=True, slots=True)
class NewStatement:
    story_headline: str
    statement: Statement


@dataclass(frozen=True, slots=True)
class Changes:
    since: datetime
    first_report: bool                   # no earlier report of this watch list: everything in the window is new
    new_stories: tuple[Story, ...]
    new_statements: tuple[NewStatement, ...]
    new_statements_total: int
    contradictions: tuple[Contradiction, ...]
    odds_moves: tuple[OddsMove, ...]
    signals_newly_seen: tuple[SignalStatus, ...]

    @property
    def nothing(self) -> bool:
        return not (self.new_stories or self.new_statements or self.contradictions or self.odds_moves
                    or self.signals_newly_seen)


@dataclass(frozen=True, slots=True)
class Report:
    report_id: str
    watchlist_id: str
    title: str
    description: str
    window_start: datetime
    window_end: datetime
    since: datetime
    recipients: tuple[str, ...]
    odds_move_threshold: float
    changes: Changes
    stories: tuple[Story, ...]
    other_stories: tuple[Story, ...]     # in the window but not shown in full
    signals: tuple[SignalStatus, ...]
    claim_labels: dict[str, str] = field(default_factory=dict)
    built_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def subject(self) -> str:
        c = self.changes
        parts = []
        if c.new_stories:
            parts.append(f"{len(c.new_stories)} new {'story' if len(c.new_stories) == 1 else 'stories'}")
        if c.contradictions:
            parts.append(f"{len(c.contradictions)} contradiction{'s' * (len(c.contradictions) != 1)}")
        if c.signals_newly_seen:
            parts.append(f"{len(c.signals_newly_seen)} signal{'s' * (len(c.signals_newly_seen) != 1)} seen")
        if c.odds_moves:
            parts.append(f"{len(c.odds_moves)} odds move{'s' * (len(c.odds_moves) != 1)}")
        what = ", ".join(parts) if parts else "no change"
        return f"{self.title}: {what} ({self.window_end:%d %b %Y %H:%M} UTC)"

    def posts(self) -> list[Post]:
        """Every post the report rests on, oldest first, each once: the provenance list."""
        seen: dict[str, Post] = {}
        def add(p: Post | None) -> None:
            if p is not None and p.url and p.url not in seen:
                seen[p.url] = p
        for st in self.stories:
            add(st.first_report)
            for s in st.statements:
                add(s.post)
                add(s.relay_of)
            for c in st.contradictions:
                add(c.post_a)
                add(c.post_b)
        for c in self.changes.contradictions:
            add(c.post_a)
            add(c.post_b)
        for ns in self.changes.new_statements:
            add(ns.statement.post)
        for st in self.other_stories:
            add(st.first_report)
        for sig in self.signals:
            for e in sig.evidence:
                if e.url and e.published_at is not None:
                    add(Post(source_id=e.source_id or "", item_id=e.item_id or "", url=e.url, outlet=e.outlet,
                             published_at=e.published_at))
        return sorted(seen.values(), key=lambda p: (p.published_at, p.url))

    def summary(self) -> dict[str, int]:
        c = self.changes
        return dict(stories=len(self.stories) + len(self.other_stories), new_stories=len(c.new_stories),
                    new_statements=c.new_statements_total, contradictions=len(c.contradictions),
                    odds_moves=len(c.odds_moves), signals_seen=sum(s.status == "seen" for s in self.signals),
                    signals_newly_seen=len(c.signals_newly_seen))


def report_id_for(watchlist_id: str, window_end: datetime) -> str:
    """Deterministic: the same watch list and window end always give the same report."""
    return f"{watchlist_id}-{as_utc(window_end):%Y%m%dT%H%MZ}"


def as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def build_report(con: duckdb.DuckDBPyConnection, wl: Watchlist, window_end: datetime,
                 since: datetime | None = None) -> Report:
    """Read the marts for one watch list and window into a Report. `since` is the previous report's
    window end (None for the first report: everything in the window counts as new)."""
    _require_marts(con)
    window_end = as_utc(window_end).replace(second=0, microsecond=0)
    window_start = window_end - timedelta(hours=wl.window_hours)
    first = since is None
    since = window_start if since is None else max(as_utc(since), window_start)
    q = _Query(con, wl.id, window_start, window_end, since)

    story_rows = q.rows("""
        select * from mart_stories
        where watchlist_id = ? and first_seen_at <= ? and last_seen_at > ?
        """, wl.id, window_end, window_start)
    activity = {r["story_id"]: r["n"] for r in q.rows("""
        select story_id, count(*) as n from mart_story_timeline
        where watchlist_id = ? and published_at > ? and published_at <= ? group by story_id
        """, wl.id, window_start, window_end)}
    story_rows.sort(key=lambda r: (-activity.get(r["story_id"], 0), -int(r["items"] or 0), r["first_seen_at"]))
    stories = [q.story(r, full=i < MAX_STORIES) for i, r in enumerate(story_rows)]
    shown, others = tuple(stories[:MAX_STORIES]), tuple(stories[MAX_STORIES:])

    signals = q.signals([s.id for s in wl.signals])
    all_new = [NewStatement(st.headline, s) for st in stories for s in q.new_statements(st.story_id)]
    all_new.sort(key=lambda n: n.statement.post.published_at)
    new_contras = tuple(c for st in stories for c in st.contradictions if c.is_new)
    changes = Changes(
        since=since, first_report=first,
        new_stories=tuple(st for st in stories if st.is_new),
        new_statements=tuple(all_new[-MAX_NEW_STATEMENTS:]), new_statements_total=len(all_new),
        contradictions=new_contras,
        odds_moves=tuple(m for m in q.odds_moves(wl, stories) if abs(m.move) >= wl.report.odds_move_threshold - 1e-9),
        signals_newly_seen=tuple(s for s in signals if s.newly_seen),
    )
    return Report(
        report_id=report_id_for(wl.id, window_end), watchlist_id=wl.id, title=wl.title,
        description=wl.description, window_start=window_start, window_end=window_end, since=since,
        recipients=tuple(wl.report.recipients), odds_move_threshold=wl.report.odds_move_threshold,
        changes=changes, stories=shown, other_stories=others, signals=signals,
        claim_labels={c.id: c.description or c.id for c in wl.claims})


def _require_marts(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    missing = [m for m in MARTS if m not in present]
    if missing:
        raise ReportDataError(
            f"the database has no {', '.join(missing)}: run the hourly flow (its signals stage builds the marts) first")


class _Query:
    """The report's reads, sharing the watch list, window and source names."""

    def __init__(self, con: duckdb.DuckDBPyConnection, watchlist_id: str, window_start: datetime,
                 window_end: datetime, since: datetime):
        self.con, self.wl_id = con, watchlist_id
        self.start, self.end, self.since = window_start, window_end, since
        self.outlets = {r["source_id"]: r["name"] for r in self.rows("select source_id, name from sources")}

    def rows(self, sql: str, *params: Any) -> list[dict]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def story(self, r: dict, *, full: bool) -> Story:
        sid = r["story_id"]
        is_new = r["first_seen_at"] > self.since
        base = dict(story_id=sid, headline=_headline(r["headline"] or ""), first_seen_at=r["first_seen_at"],
                    last_seen_at=min(r["last_seen_at"], self.end), items=int(r["items"] or 0),
                    sources=int(r["sources"] or 0), languages=tuple(r["languages"] or ()),
                    registers=tuple(r["registers"] or ()), is_new=is_new)
        if not full:
            first = self.post(r["first_source_id"], r["first_item_id"], r["first_url"], r["first_seen_at"])
            return Story(**base, first_report=first, statements=(), statements_omitted=0, register_coverage=(),
                         contradictions=(), markets=(), statement_odds=(), series=())
        statements, omitted = self.timeline(sid)
        first = next((s.post for s in statements if s.is_first_report), None) or \
            self.post(r["first_source_id"], r["first_item_id"], r["first_url"], r["first_seen_at"])
        markets = self.markets(sid)
        return Story(**base, first_report=first, statements=statements, statements_omitted=omitted,
                     register_coverage=self.registers(sid), contradictions=self.contradictions(sid),
                     markets=markets, statement_odds=self.statement_odds(sid, statements),
                     series=tuple(self.series(m.venue, m.market_id, m.question, m.outcome) for m in markets))

    def post(self, source_id: str | None, item_id: str | None, url: str | None, at: datetime,
             text: str = "", register: str | None = None, lang: str | None = None,
             outlet: str | None = None) -> Post:
        return Post(source_id=source_id or "", item_id=item_id or "", url=url or "",
                    outlet=outlet or self.outlets.get(source_id or "", source_id or "unknown source"),
                    published_at=at, text=text or "", register=register, lang=lang)

    def _timeline_rows(self, story_id: str) -> list[dict]:
        return self.rows("""
            select * from mart_story_timeline
            where watchlist_id = ? and story_id = ? and published_at <= ?
            order by published_at, source_id, item_id
            """, self.wl_id, story_id, self.end)

    def timeline(self, story_id: str) -> tuple[tuple[Statement, ...], int]:
        rows = self._timeline_rows(story_id)
        by_key = {(r["source_id"], r["item_id"]): r for r in rows}
        statements = [self._statement(i + 1, r, by_key) for i, r in enumerate(rows)]
        if len(statements) <= MAX_STATEMENTS:
            return tuple(statements), 0
        keep = [s for s in statements if s.is_first_report][:1]
        keep += [s for s in statements[-(MAX_STATEMENTS - len(keep)):] if s not in keep]
        return tuple(sorted(keep, key=lambda s: s.number)), len(statements) - len(keep)

    def new_statements(self, story_id: str) -> list[Statement]:
        rows = self._timeline_rows(story_id)
        by_key = {(r["source_id"], r["item_id"]): r for r in rows}
        return [self._statement(i + 1, r, by_key) for i, r in enumerate(rows) if r["published_at"] > self.since]

    def _statement(self, number: int, r: dict, by_key: dict) -> Statement:
        relay = None
        if r.get("relay_of_source_id"):
            key = (r["relay_of_source_id"], r["relay_of_item_id"])
            orig = by_key.get(key) or next(iter(self.rows(
                """select i.source_id, i.item_id, i.url, i.published_at, i.text, i.lang, s.register,
                          s.name as outlet_name
                   from items i left join sources s using (source_id)
                   where i.source_id = ? and i.item_id = ?""", *key)), None)
            if orig:
                relay = self.post(orig["source_id"], orig["item_id"], orig["url"], orig["published_at"],
                                  orig["text"], orig.get("register"), orig.get("lang"), orig.get("outlet_name"))
        post = self.post(r["source_id"], r["item_id"], r["url"], r["published_at"], r["text"],
                         r.get("register"), r.get("lang"), r.get("outlet_name"))
        lag = r.get("relay_lag_minutes")
        return Statement(
            number=number, post=post, speaker=r.get("speaker_name"), speech_act=r.get("speech_act"),
            attributed_to=r.get("attributed_to"), quotes=tuple(q for q in (r.get("quotes") or ()) if q),
            claims=tuple(r.get("claims") or ()), is_first_report=bool(r.get("is_first_report")),
            relay_of=relay, relay_lag_minutes=None if lag is None else int(round(lag)),
            is_new=r["published_at"] > self.since)

    def registers(self, story_id: str) -> tuple[RegisterCoverage, ...]:
        rows = self.rows("""
            select register, first_seen_at, items, sources, share_of_volume from mart_story_registers
            where watchlist_id = ? and story_id = ? order by first_seen_at, register
            """, self.wl_id, story_id)
        return tuple(RegisterCoverage(r["register"] or "unknown", r["first_seen_at"], int(r["items"] or 0),
                                      int(r["sources"] or 0), float(r["share_of_volume"] or 0.0)) for r in rows)

    def contradictions(self, story_id: str) -> tuple[Contradiction, ...]:
        rows = self.rows("""
            select * from mart_contradictions
            where watchlist_id = ? and story_id = ? and published_at_a <= ? and published_at_b <= ?
            order by greatest(published_at_a, published_at_b), published_at_a, published_at_b
            """, self.wl_id, story_id, self.end, self.end)
        out = []
        for r in rows:
            a = self.post(r["source_id_a"], r["item_id_a"], r["url_a"], r["published_at_a"], r["text_a"],
                          outlet=r.get("outlet_a"))
            b = self.post(r["source_id_b"], r["item_id_b"], r["url_b"], r["published_at_b"], r["text_b"],
                          outlet=r.get("outlet_b"))
            out.append(Contradiction(r["claim_a"], a, r["claim_b"], b,
                                     is_new=max(a.published_at, b.published_at) > self.since))
        return tuple(out)

    def markets(self, story_id: str) -> tuple[MarketLink, ...]:
        rows = self.rows("""
            select o.*, m.url from mart_story_odds o
            left join markets m using (venue, market_id)
            where o.watchlist_id = ? and o.story_id = ? order by o.venue, o.market_id, o.outcome
            """, self.wl_id, story_id)
        return tuple(MarketLink(
            venue=r["venue"], market_id=r["market_id"], question=r["question"] or r["market_id"],
            outcome=r["outcome"] or "Yes", url=r.get("url"),
            price_at_first_report=_f(r["price_at_first_report_prob"]),
            price_now=self.price(r["venue"], r["market_id"], r["outcome"], self.end),
            move_since_first_report=_f(r["move_since_first_report_prob"]),
            moved_before_first_report=bool(r["moved_before_first_report"]),
            move_before_first_report=_f(r["move_before_first_report_prob"])) for r in rows)

    def statement_odds(self, story_id: str, statements: tuple[Statement, ...]) -> tuple[StatementOdds, ...]:
        number = {(s.post.source_id, s.post.item_id): s.number for s in statements}
        rows = self.rows("""
            select * from mart_statement_odds where watchlist_id = ? and story_id = ? and published_at <= ?
            order by published_at, venue, market_id
            """, self.wl_id, story_id, self.end)
        return tuple(StatementOdds(number[(r["source_id"], r["item_id"])], r["venue"], r["market_id"],
                                   _f(r["price_before_prob"]), _f(r["price_at_prob"]), _f(r["price_after_prob"]))
                     for r in rows if (r["source_id"], r["item_id"]) in number)

    def price(self, venue: str, market_id: str, outcome: str | None, at: datetime) -> float | None:
        row = self.con.execute("""
            select price_prob from odds_snapshots
            where venue = ? and market_id = ? and outcome = ? and venue_ts <= ?
            order by venue_ts desc limit 1
            """, [venue, market_id, outcome or "Yes", at]).fetchone()
        return None if row is None else float(row[0])

    def series(self, venue: str, market_id: str, question: str, outcome: str) -> OddsSeries:
        rows = self.con.execute("""
            select venue_ts, price_prob from odds_snapshots
            where venue = ? and market_id = ? and outcome = ? and venue_ts > ? and venue_ts <= ?
            order by venue_ts
            """, [venue, market_id, outcome, self.start, self.end]).fetchall()
        before = self.price(venue, market_id, outcome, self.start)
        points = ([(self.start, before)] if before is not None else []) + [(t, float(p)) for t, p in rows]
        return OddsSeries(venue, market_id, question, outcome, tuple(points))

    def odds_moves(self, wl: Watchlist, stories: list[Story]) -> list[OddsMove]:
        """Every market of the watch list (configured or linked to a story), priced at `since` and now."""
        markets: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        for st in stories:
            for m in st.markets:
                markets.setdefault((m.venue, m.market_id), (m.question, m.outcome, m.url))
        for ref in wl.markets:
            for r in self.rows("""
                    select market_id, question, outcomes, url from markets
                    where venue = ? and (slug = ? or market_id = ?)""", ref.venue, ref.key, ref.key):
                outcome = (r["outcomes"] or ["Yes"])[0]
                markets.setdefault((ref.venue, r["market_id"]), (r["question"], outcome, r["url"]))
        moves = []
        for (venue, market_id), (question, outcome, url) in sorted(markets.items()):
            then = self.price(venue, market_id, outcome, self.since)
            now = self.price(venue, market_id, outcome, self.end)
            if then is not None and now is not None:
                moves.append(OddsMove(venue, market_id, question, outcome, url, then, now))
        return moves

    def signals(self, configured_order: list[str]) -> tuple[SignalStatus, ...]:
        rows = self.rows("""
            select * from mart_signal_status where watchlist_id = ? order by signal_id
            """, self.wl_id)
        out = []
        for r in rows:
            evidence = tuple(e for e in (self._evidence(r, x) for x in _json_list(r["evidence"], r["signal_id"]))
                             if e.published_at is None or e.published_at <= self.end)
            seen = r["status"] == "seen" and r["first_seen_at"] is not None and r["first_seen_at"] <= self.end
            out.append(SignalStatus(
                signal_id=r["signal_id"], title=r["title"] or r["signal_id"],
                status="seen" if seen else "not seen",
                first_seen_at=r["first_seen_at"] if seen else None,
                last_seen_at=min(r["last_seen_at"], self.end) if seen and r["last_seen_at"] else None,
                evidence_count=max(len(evidence), int(r["evidence_count"] or 0)) if seen else 0,
                evidence=evidence if seen else (),
                newly_seen=seen and r["first_seen_at"] > self.since))
        order = {sid: i for i, sid in enumerate(configured_order)}
        return tuple(sorted(out, key=lambda s: (order.get(s.signal_id, len(order)), s.signal_id)))

    def _evidence(self, signal: dict, e: dict) -> Evidence:
        if not isinstance(e, dict):
            raise ReportDataError(
                f"mart_signal_status row ({self.wl_id}, {signal['signal_id']}): evidence entry is not an object: {e!r}")
        at = e.get("published_at")
        if isinstance(at, str):
            try:
                at = as_utc(datetime.fromisoformat(at.replace("Z", "+00:00")))
            except ValueError:
                raise ReportDataError(f"mart_signal_status row ({self.wl_id}, {signal['signal_id']}): "
                                      f"evidence published_at {at!r} is not an ISO time") from None
        sid = e.get("source_id")
        return Evidence(published_at=at, outlet=self.outlets.get(sid or "", sid or ""), url=e.get("url"),
                        why=str(e.get("why") or ""), source_id=sid, item_id=e.get("item_id"))


def _json_list(value: Any, signal_id: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ReportDataError(f"mart_signal_status ({signal_id}): evidence is not JSON: {e}") from None
    if not isinstance(value, list):
        raise ReportDataError(f"mart_signal_status ({signal_id}): evidence is not a JSON list")
    return value


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _headline(text: str) -> str:
    """The story's headline as one line, without the trailing links posts carry."""
    return " ".join(_URL.sub("", text).split()) or " ".join(text.split())


_URL = re.compile(r"https?://\S+")
