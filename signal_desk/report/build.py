"""From the signal marts to a report model: what changed, the stories, the odds, the signals.

Everything the renderers show is decided here; they only format. Times are UTC. A report covers the
window (window_start, window_end]; "what changed" counts from `since`, the previous report's window end.

The model is made for a reader on a phone: a short top section (`Report.top`) saying what changed, then
detail. Repetition is folded here: a story's timeline keeps its key statements (a relay, or the same
claims again from the same speaker, is listed under the statement it repeats), contradictions are one
card per pair of opposed claims in a story, and odds moves are tied to the statement right before them.
Ids never reach the renderers as words: claims, speakers and outlets come with their names.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import duckdb

from signal_desk.config import Watchlist
from signal_desk.clock import as_utc, utcnow

MAX_STORIES = 5            # stories shown in full (those making the list's claims first); the rest by headline
MAX_STATEMENTS = 200       # timeline rows read per story (the first report and the most recent ones)
MAX_KEY_STATEMENTS = 5     # key statements shown per story, the others listed as links (keeps the report within 12 phone screens)
MAX_NEW_STATEMENTS = 10    # kept for the ledger's summary: statements new since the last report
MAX_TOP_LINES = 6          # lines of the top section
MAX_TOP_MOVES = 2          # of which: odds moves, grouped by the statement before them
MAX_TOP_CARDS = 2          # of which: new contradictions
MAX_EVIDENCE = 3           # evidence posts listed per signal (in the window)
MOVE_MIN = 0.03            # a price change of at least this (3 points) is a move worth tying to a statement
MOVE_MERGE_GAP = timedelta(minutes=30)   # same-direction changes this close together are one move
MOVE_NOISE = 0.005         # changes smaller than half a point are ticks, not part of a move
TIE_RECENT = timedelta(minutes=60)       # a move is tied to the first statement in the hour before it ...
TIE_LATEST = timedelta(hours=3)          # ... or else to the latest statement in the three hours before it
CHART_REACH = timedelta(hours=2)      # statements this close to the charted moves share their axis
MAX_CHART_LABELS = 3       # statements named on a chart

MARTS = ("mart_stories", "mart_story_timeline", "mart_story_registers", "mart_contradictions",
         "mart_story_odds", "mart_statement_odds", "mart_signal_status")

REGISTER_NAMES = {
    "state-aligned": "state-aligned", "western-wire": "Western wire", "western-media": "Western media",
    "osint": "OSINT", "official": "official", "partisan": "partisan", "regional-media": "regional media",
    "independent": "independent", "unknown": "unknown register",
}
VENUE_NAMES = {"polymarket": "Polymarket", "kalshi": "Kalshi", "manifold": "Manifold"}


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
class ClaimFirst:
    """Who made a claim first in the watch list (any story), in the window_hours up to a post."""

    claim: str
    post: Post
    story_id: str | None
    same_story: bool
    is_this_post: bool


@dataclass(frozen=True, slots=True)
class Statement:
    """One row of a story's timeline."""

    number: int                          # position in the story's timeline
    post: Post
    speaker: str | None
    speech_act: str | None
    attributed_to: str | None
    quotes: tuple[str, ...]
    claims: tuple[str, ...]
    is_first_report: bool                # the story's first post
    relay_of: Post | None
    relay_lag_minutes: int | None
    is_new: bool
    first_report_claims: tuple[str, ...] = ()     # claims this post is the first in the watch list to make
    claim_firsts: tuple[ClaimFirst, ...] = ()     # for each claim it makes, the first post making it
    in_window: bool = True               # False: published before the window, shown as earlier context
    speaker_kind: str | None = None      # actor | role
    is_statement: bool = True            # it has a speaker or a claim

    @property
    def short_name(self) -> str:
        """"Iranian official 20:10": who spoke (or the outlet) and when, for chart labels."""
        return f"{short_speaker(self.speaker, self.speaker_kind) or self.post.outlet} {self.post.published_at:%H:%M}"


@dataclass(frozen=True, slots=True)
class KeyStatement:
    """A statement with the posts that only repeat it: relays, and the same claims again from the same
    speaker (or from an outlet naming no speaker)."""

    statement: Statement
    also: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class RegisterCoverage:
    register: str
    first_seen_at: datetime
    items: int
    sources: int
    share: float


@dataclass(frozen=True, slots=True)
class Contradiction:
    """One pair of posts (a row of mart_contradictions)."""

    claim_a: str
    post_a: Post
    claim_b: str
    post_b: Post
    is_new: bool


@dataclass(frozen=True, slots=True)
class ContradictionSide:
    claim: str
    posts: tuple[Post, ...]              # oldest first
    speaker: str | None                  # of the earliest post

    @property
    def first(self) -> Post:
        return self.posts[0]


@dataclass(frozen=True, slots=True)
class ContradictionCard:
    """One pair of opposed claims in one story, with every post on each side."""

    story_id: str
    story_number: int | None
    story_headline: str
    a: ContradictionSide
    b: ContradictionSide
    pairs: int
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
class Move:
    """A price change of one market: same-direction changes close together, from the last unchanged
    price to the last changed one, tied to the statement right before it (if any)."""

    venue: str
    market_id: str
    question: str
    outcome: str
    quiet_at: datetime                   # the last price before the change
    start: datetime                      # the first changed price
    end: datetime                        # the last changed price
    before: float
    after: float
    statement: Statement | None = None
    story_id: str | None = None

    @property
    def delta(self) -> float:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class ChartPlan:
    """What a story's chart shows: a time range zoomed to its statements and the moves after them."""

    start: datetime
    end: datetime
    labelled: tuple[Statement, ...]      # the statements right before the largest moves, named on the chart
    moves: tuple[Move, ...]              # the moves tied to the story's statements, largest first
    ticks: tuple[Statement, ...]         # the story's other key statements in the range, unlabelled
    outside: int                         # key statements of the story in the window but outside the range


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
    series: tuple[OddsSeries, ...]       # empty unless the story has a chart (chart is not None)
    number: int = 0                      # 1.. for the stories shown in full, 0 for the others
    key_statements: tuple[KeyStatement, ...] = ()
    key_omitted: tuple[KeyStatement, ...] = ()    # key statements past MAX_KEY_STATEMENTS, listed as links
    cards: tuple[ContradictionCard, ...] = ()
    chart: ChartPlan | None = None
    began_before_window: bool = False

    @property
    def relays(self) -> tuple[Statement, ...]:
        return tuple(s for s in self.statements if s.relay_of is not None)


@dataclass(frozen=True, slots=True)
class Evidence:
    published_at: datetime | None
    outlet: str
    url: str | None
    why: str                             # in words: claim descriptions and actor names, never ids
    source_id: str | None = None
    item_id: str | None = None
    in_window: bool = True


@dataclass(frozen=True, slots=True)
class SignalStatus:
    signal_id: str
    title: str
    status: str                          # seen | not seen
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    evidence_count: int                  # in the window
    evidence: tuple[Evidence, ...]       # in the window, the latest MAX_EVIDENCE
    newly_seen: bool
    earlier_count: int = 0               # evidence before the window: earlier context
    earlier_first_at: datetime | None = None
    earlier_last_at: datetime | None = None

    @property
    def seen_in_window(self) -> bool:
        return self.status == "seen" and self.evidence_count > 0


@dataclass(frozen=True, slots=True)
class OddsMove:
    """A market priced at `since` and now."""

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
class TopMoves:
    """Top-section line: the moves after one statement (None: moves no statement came before)."""

    statement: Statement | None
    story_number: int
    moves: tuple[Move, ...]


@dataclass(frozen=True, slots=True)
class TopLine:
    kind: str                            # moves | contradiction | signals | stories | nothing
    moves: TopMoves | None = None
    card: ContradictionCard | None = None
    signals: tuple[SignalStatus, ...] = ()
    stories: tuple[Story, ...] = ()


@dataclass(frozen=True, slots=True)
class Changes:
    since: datetime
    first_report: bool                   # no earlier report of this watch list: everything in the window is new
    new_stories: tuple[Story, ...]
    new_statements: tuple[NewStatement, ...]
    new_statements_total: int
    contradictions: tuple[ContradictionCard, ...]
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
    built_at: datetime = field(default_factory=utcnow)
    top: tuple[TopLine, ...] = ()
    cards: tuple[ContradictionCard, ...] = ()      # every contradiction card, new ones first
    markets: tuple[OddsMove, ...] = ()             # every market of the watch list, priced at `since` and now
    venue_only: bool = True              # one market per venue: a venue's name says which market

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

    def claim_label(self, claim: str) -> str:
        return self.claim_labels.get(claim) or claim_words(claim)

    def market_name(self, venue: str, question: str) -> str:
        name = VENUE_NAMES.get(venue, venue.capitalize())
        return name if self.venue_only else f"{name} ({question})"

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
        for card in self.cards:
            for p in card.a.posts + card.b.posts:
                add(p)
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


def claim_words(claim_id: str) -> str:
    """A claim without a description: its id in words ("talks on track"), never the id itself."""
    return claim_id.replace("-", " ").replace("_", " ")


def short_claim(description: str, limit: int = 60) -> str:
    """The head of a claim's description, for one-line summaries: up to its first comma when that
    leaves a phrase, else the description shortened."""
    head = description.split(",", 1)[0].strip()
    text = head if len(head) >= 12 else description.strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def short_speaker(name: str | None, kind: str | None = None) -> str | None:
    """"Araqchi" for an actor, "Iranian official" for a role: short enough for a chart label."""
    if not name:
        return None
    if kind == "actor" and " " in name.strip():
        return name.strip().split()[-1]
    return re.sub(r"^(an?|the)\s+", "", name.strip(), flags=re.IGNORECASE)


def build_report(con: duckdb.DuckDBPyConnection, wl: Watchlist, window_end: datetime,
                 since: datetime | None = None) -> Report:
    """Read the marts for one watch list and window into a Report. `since` is the previous report's
    window end (None for the first report: everything in the window counts as new)."""
    _require_marts(con)
    window_end = as_utc(window_end).replace(second=0, microsecond=0)
    window_start = window_end - timedelta(hours=wl.window_hours)
    first = since is None
    since = window_start if since is None else max(as_utc(since), window_start)
    q = _Query(con, wl, window_start, window_end, since)

    story_rows = q.rows("""
        select * from mart_stories
        where watchlist_id = ? and first_seen_at <= ? and last_seen_at > ?
        """, wl.id, window_end, window_start)
    # stories where the watch list's claims are made come first (by how many posts make them), then
    # the busiest: a channel's run of unrelated posts is busy but says nothing the list watches
    activity = {r["story_id"]: (r["claimed"], r["n"]) for r in q.rows("""
        select story_id, count(*) filter (where len(claims) > 0) as claimed, count(*) as n
        from mart_story_timeline
        where watchlist_id = ? and published_at > ? and published_at <= ? group by story_id
        """, wl.id, window_start, window_end)}
    story_rows.sort(key=lambda r: (*(-x for x in activity.get(r["story_id"], (0, 0))), -int(r["items"] or 0),
                                   r["first_seen_at"]))
    stories = [q.story(r, number=i + 1 if i < MAX_STORIES else 0) for i, r in enumerate(story_rows)]
    shown, others = stories[:MAX_STORIES], stories[MAX_STORIES:]

    # odds: every market of the watch list, its moves in the window tied to the statement before them
    markets = q.market_refs(wl, shown)
    statements = [(st, k.statement) for st in shown for k in st.key_statements + st.key_omitted
                  if k.statement.is_statement]
    moves = [_tie(m, statements) for v, mid, question, outcome, _ in markets
             for m in find_moves(q.series(v, mid, question, outcome).points, v, mid, question, outcome)]
    shown = [_with_chart(st, moves, window_start, window_end) for st in shown]

    cards = sorted((c for st in shown for c in st.cards), key=lambda c: (not c.is_new, c.story_number or 99))
    signals = q.signals([s.id for s in wl.signals])
    all_new = [NewStatement(st.headline, s) for st in stories for s in q.new_statements(st.story_id)]
    all_new.sort(key=lambda n: n.statement.post.published_at)
    priced = q.priced_markets(markets)
    changes = Changes(
        since=since, first_report=first,
        new_stories=tuple(st for st in stories if st.is_new),
        new_statements=tuple(all_new[-MAX_NEW_STATEMENTS:]), new_statements_total=len(all_new),
        contradictions=tuple(c for c in cards if c.is_new),
        odds_moves=tuple(m for m in priced if abs(m.move) >= wl.report.odds_move_threshold - 1e-9),
        signals_newly_seen=tuple(s for s in signals if s.newly_seen),
    )
    venues = [v for v, *_ in markets]
    report = Report(
        report_id=report_id_for(wl.id, window_end), watchlist_id=wl.id, title=wl.title,
        description=wl.description, window_start=window_start, window_end=window_end, since=since,
        recipients=tuple(wl.report.recipients), odds_move_threshold=wl.report.odds_move_threshold,
        changes=changes, stories=tuple(shown), other_stories=tuple(others), signals=signals,
        claim_labels=q.names.claims, cards=tuple(cards), markets=tuple(priced),
        venue_only=len(venues) == len(set(venues)))
    return replace(report, top=_top(report, [m for m in moves if m.start > since]))


def _require_marts(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    missing = [m for m in MARTS if m not in present]
    if missing:
        raise ReportDataError(
            f"the database has no {', '.join(missing)}: run the hourly flow (its signals stage builds the marts) first")


# ---- odds moves and their statements --------------------------------------------------------------

def find_moves(points: Iterable[tuple[datetime, float]], venue: str, market_id: str, question: str,
               outcome: str, minimum: float = MOVE_MIN) -> list[Move]:
    """The moves of a price series: runs of same-direction changes at most MOVE_MERGE_GAP apart, from the
    last price before the run to the last price of it, of at least `minimum`."""
    pts = list(points)
    runs: list[list[int]] = []           # indexes of changed points
    for i in range(1, len(pts)):
        d = pts[i][1] - pts[i - 1][1]
        if abs(d) < MOVE_NOISE:          # a tick up or down: neither starts nor breaks a run
            continue
        if runs:
            last = runs[-1][-1]
            same_way = (pts[last][1] - pts[last - 1][1]) * d > 0
            if same_way and pts[i][0] - pts[last][0] <= MOVE_MERGE_GAP:
                runs[-1].append(i)
                continue
        runs.append([i])
    out = []
    for run in runs:
        i, j = run[0], run[-1]
        before, after = pts[i - 1][1], pts[j][1]
        if abs(after - before) >= minimum - 1e-9:
            out.append(Move(venue, market_id, question, outcome, quiet_at=pts[i - 1][0], start=pts[i][0],
                            end=pts[j][0], before=before, after=after))
    return out


def _tie(move: Move, statements: list[tuple[Story, Statement]]) -> Move:
    """The statement right before a move: the first one after the last quiet price (at most an hour
    before the change), else the latest in the three hours before it."""
    recent_from = max(move.quiet_at, move.start - TIE_RECENT)
    recent = [(st, s) for st, s in statements if recent_from < s.post.published_at <= move.start]
    if recent:
        st, s = min(recent, key=lambda x: (x[1].post.published_at, x[0].number))
    else:
        earlier = [(st, s) for st, s in statements
                   if move.start - TIE_LATEST <= s.post.published_at <= move.start]
        if not earlier:
            return move
        st, s = max(earlier, key=lambda x: (x[1].post.published_at, -x[0].number))
    return replace(move, statement=s, story_id=st.story_id)


def _with_chart(st: Story, moves: list[Move], window_start: datetime, window_end: datetime) -> Story:
    """The story's chart: only when a move of the window came right after one of its statements."""
    mine = sorted((m for m in moves if m.story_id == st.story_id and m.statement is not None
                   and m.statement.in_window), key=lambda m: -abs(m.delta))
    if not mine:
        return replace(st, series=(), chart=None)
    labelled: list[Statement] = []
    for m in mine:
        if m.statement not in labelled and len(labelled) < MAX_CHART_LABELS:
            labelled.append(m.statement)
    keys = [k.statement for k in st.key_statements + st.key_omitted
            if k.statement.is_statement and k.statement.in_window]
    # the axis spans the labelled statements and their moves, and the statements near them; a story
    # that runs on for days keeps its chart on the hours that moved the odds (the rest are counted)
    charted = [m for m in mine if m.statement in labelled]
    core = [s.post.published_at for s in labelled] + [t for m in charted for t in (m.start, m.end)]
    near = [s.post.published_at for s in keys
            if min(core) - CHART_REACH <= s.post.published_at <= max(core) + CHART_REACH]
    times = core + near
    start, end = min(times) - timedelta(minutes=40), max(times) + timedelta(minutes=60)
    if end - start < timedelta(hours=3):
        pad = (timedelta(hours=3) - (end - start)) / 2
        start, end = start - pad, end + pad
    start, end = max(start, window_start), min(end, window_end)
    ticks = tuple(s for s in keys if start <= s.post.published_at <= end and s not in labelled)
    outside = sum(1 for s in keys if not start <= s.post.published_at <= end)
    plan = ChartPlan(start=start, end=end, labelled=tuple(sorted(labelled, key=lambda s: s.post.published_at)),
                     moves=tuple(mine), ticks=ticks, outside=outside)
    return replace(st, chart=plan)


def _top(r: Report, moves: list[Move]) -> tuple[TopLine, ...]:
    """Three to six lines: the largest moves grouped by the statement before them, new contradictions,
    signals that changed status, new stories."""
    lines: list[TopLine] = []
    groups: dict[tuple, list[Move]] = {}
    number = {st.story_id: st.number for st in r.stories}
    for m in sorted(moves, key=lambda m: -abs(m.delta)):
        key = (m.statement.post.source_id, m.statement.post.item_id) if m.statement else ("", m.start.isoformat())
        groups.setdefault(key, []).append(m)
    ranked = sorted(groups.values(), key=lambda ms: -max(abs(m.delta) for m in ms))
    for ms in ranked[:MAX_TOP_MOVES]:
        best: dict[tuple[str, str], Move] = {}
        for m in ms:                                  # one move per market: the largest
            best.setdefault((m.venue, m.market_id), m)
        lines.append(TopLine("moves", moves=TopMoves(ms[0].statement, number.get(ms[0].story_id or "", 0),
                                                     tuple(best.values()))))
    for card in r.changes.contradictions[:MAX_TOP_CARDS]:
        lines.append(TopLine("contradiction", card=card))
    if r.changes.signals_newly_seen and len(lines) < MAX_TOP_LINES:
        lines.append(TopLine("signals", signals=r.changes.signals_newly_seen))
    if r.changes.new_stories and len(lines) < MAX_TOP_LINES:
        lines.append(TopLine("stories", stories=r.changes.new_stories))
    if not lines:
        lines.append(TopLine("nothing"))
    return tuple(lines[:MAX_TOP_LINES])


# ---- names ---------------------------------------------------------------------------------------

class _Names:
    """Human words for ids: claim descriptions, speaker names, outlet names (tables first, then the
    watch list's configuration, then the id in words)."""

    def __init__(self, q: "_Query", wl: Watchlist):
        self.claims = {c.id: c.description for c in wl.claims if c.description}
        self.speakers = {a.id: a.name for a in list(wl.actors) + list(wl.roles)}
        self.claims.update({r["claim_id"]: r["description"] for r in q.optional_rows(
            "select claim_id, description from watchlist_claims where watchlist_id = ? and description <> ''",
            wl.id) if r["description"]})
        self.speakers.update({r["speaker_id"]: r["name"] for r in q.optional_rows(
            "select speaker_id, name from watchlist_speakers where watchlist_id = ?", wl.id)})
        self.outlets = {r["source_id"]: r["name"] for r in q.rows("select source_id, name from sources")}

    def claim(self, claim_id: str) -> str:
        return self.claims.get(claim_id) or claim_words(claim_id)

    def speaker(self, speaker_id: str) -> str:
        return self.speakers.get(speaker_id) or speaker_id.replace("-", " ").title()

    def outlet(self, source_id: str | None) -> str:
        return self.outlets.get(source_id or "", "") or "unknown outlet"

    def why(self, text: str) -> str:
        """A signal hit's reason ("claim a, b; actor x; keyword 'k'") in words."""
        parts = []
        for part in (p.strip() for p in text.split(";")):
            kind, _, rest = part.partition(" ")
            ids = [x.strip() for x in rest.split(",") if x.strip()]
            if kind == "claim" and ids:
                parts.append("claims: " + "; ".join(self.claim(c) for c in ids))
            elif kind == "actor" and ids:
                parts.append("names " + ", ".join(self.speaker(a) for a in ids))
            elif kind == "keyword" and rest:
                parts.append("uses " + rest)
            elif part:
                parts.append(part)
        return "; ".join(parts)


class _Query:
    """The report's reads, sharing the watch list, window and names."""

    def __init__(self, con: duckdb.DuckDBPyConnection, wl: Watchlist, window_start: datetime,
                 window_end: datetime, since: datetime):
        self.con, self.wl, self.wl_id = con, wl, wl.id
        self.start, self.end, self.since = window_start, window_end, since
        self.names = _Names(self, wl)
        self.outlets = self.names.outlets

    def rows(self, sql: str, *params: Any) -> list[dict]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def optional_rows(self, sql: str, *params: Any) -> list[dict]:
        """Rows of a table that older databases may not have: none then."""
        try:
            return self.rows(sql, *params)
        except duckdb.CatalogException:
            return []

    def story(self, r: dict, *, number: int) -> Story:
        sid = r["story_id"]
        is_new = r["first_seen_at"] > self.since
        base = dict(story_id=sid, headline=_headline(r["headline"] or ""), first_seen_at=r["first_seen_at"],
                    last_seen_at=min(r["last_seen_at"], self.end), items=int(r["items"] or 0),
                    sources=int(r["sources"] or 0), languages=tuple(r["languages"] or ()),
                    registers=tuple(r["registers"] or ()), is_new=is_new, number=number,
                    began_before_window=r["first_seen_at"] <= self.start)
        if not number:
            first = self.post(r["first_source_id"], r["first_item_id"], r["first_url"], r["first_seen_at"])
            return Story(**base, first_report=first, statements=(), statements_omitted=0, register_coverage=(),
                         contradictions=(), markets=(), statement_odds=(), series=())
        statements, omitted = self.timeline(sid)
        first = next((s.post for s in statements if s.is_first_report), None) or \
            self.post(r["first_source_id"], r["first_item_id"], r["first_url"], r["first_seen_at"])
        keys = key_statements(statements)
        contradictions = self.contradictions(sid)
        markets = self.markets(sid)
        return Story(**base, first_report=first, statements=statements, statements_omitted=omitted,
                     register_coverage=self.registers(sid), contradictions=contradictions,
                     markets=markets, statement_odds=self.statement_odds(sid, statements),
                     series=tuple(self.series(m.venue, m.market_id, m.question, m.outcome) for m in markets),
                     key_statements=tuple(keys[:MAX_KEY_STATEMENTS]), key_omitted=tuple(keys[MAX_KEY_STATEMENTS:]),
                     cards=self.cards(sid, number, base["headline"], contradictions, statements))

    def post(self, source_id: str | None, item_id: str | None, url: str | None, at: datetime,
             text: str = "", register: str | None = None, lang: str | None = None,
             outlet: str | None = None) -> Post:
        return Post(source_id=source_id or "", item_id=item_id or "", url=url or "",
                    outlet=outlet or self.names.outlet(source_id),
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
        claims = tuple(r.get("claims") or ())
        firsts = []
        for f in r.get("claim_first_reports") or ():
            if not f or not f.get("source_id") or f.get("published_at") is None:
                continue
            this = (f["source_id"], f["item_id"]) == (r["source_id"], r["item_id"])
            firsts.append(ClaimFirst(
                claim=f["claim"], story_id=f.get("story_id"), same_story=f.get("story_id") == r["story_id"],
                is_this_post=this,
                post=post if this else self.post(f["source_id"], f["item_id"], f.get("url"), f["published_at"],
                                                 outlet=f.get("outlet_name"))))
        return Statement(
            number=number, post=post, speaker=r.get("speaker_name"), speech_act=r.get("speech_act"),
            attributed_to=r.get("attributed_to"), quotes=tuple(q for q in (r.get("quotes") or ()) if q),
            claims=claims, is_first_report=bool(r.get("is_first_report")),
            relay_of=relay, relay_lag_minutes=None if lag is None else int(round(lag)),
            is_new=r["published_at"] > self.since,
            first_report_claims=tuple(r.get("first_report_claims") or ()), claim_firsts=tuple(firsts),
            in_window=r["published_at"] > self.start, speaker_kind=r.get("speaker_kind"),
            is_statement=bool(r.get("speaker_name") or claims))

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
                          r.get("register_a"), r.get("lang_a"), outlet=r.get("outlet_a"))
            b = self.post(r["source_id_b"], r["item_id_b"], r["url_b"], r["published_at_b"], r["text_b"],
                          r.get("register_b"), r.get("lang_b"), outlet=r.get("outlet_b"))
            out.append(Contradiction(r["claim_a"], a, r["claim_b"], b,
                                     is_new=max(a.published_at, b.published_at) > self.since))
        return tuple(out)

    def cards(self, story_id: str, number: int, headline: str, pairs: tuple[Contradiction, ...],
              statements: tuple[Statement, ...]) -> tuple[ContradictionCard, ...]:
        """One card per pair of opposed claims: each side's posts, oldest first, and its first speaker."""
        speaker = {(s.post.source_id, s.post.item_id): s.speaker for s in statements}
        grouped: dict[frozenset, list[Contradiction]] = {}
        for c in pairs:
            grouped.setdefault(frozenset((c.claim_a, c.claim_b)), []).append(c)
        cards = []
        for group in grouped.values():
            claim_a, claim_b = group[0].claim_a, group[0].claim_b
            sides: dict[str, dict[tuple[str, str], Post]] = {claim_a: {}, claim_b: {}}
            for c in group:
                for claim, p in ((c.claim_a, c.post_a), (c.claim_b, c.post_b)):
                    sides.setdefault(claim, {})[(p.source_id, p.item_id)] = p

            def side(claim: str) -> ContradictionSide:
                posts = tuple(sorted(sides[claim].values(), key=lambda p: (p.published_at, p.url)))
                return ContradictionSide(claim, posts, speaker.get((posts[0].source_id, posts[0].item_id)))
            a, b = side(claim_a), side(claim_b)
            if b.first.published_at < a.first.published_at:
                a, b = b, a
            cards.append(ContradictionCard(story_id, number, headline, a, b, pairs=len(group),
                                           is_new=any(c.is_new for c in group)))
        return tuple(sorted(cards, key=lambda c: min(c.a.first.published_at, c.b.first.published_at)))

    def markets(self, story_id: str) -> tuple[MarketLink, ...]:
        rows = self.rows("""
            select o.*, m.url from mart_story_odds o
            left join markets m using (venue, market_id)
            where o.watchlist_id = ? and o.story_id = ? order by o.venue, o.market_id, o.outcome
            """, self.wl_id, story_id)
        return tuple(MarketLink(
            venue=r["venue"], market_id=r["market_id"], question=r["question"] or "",
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

    def market_refs(self, wl: Watchlist, stories: list[Story]) -> list[tuple[str, str, str, str, str | None]]:
        """Every market of the watch list (configured or linked to a story): (venue, id, question,
        outcome, url)."""
        markets: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        for st in stories:
            for m in st.markets:
                markets.setdefault((m.venue, m.market_id), (m.question, m.outcome, m.url))
        for ref in wl.markets:
            for r in self.rows("select market_id, question, primary_outcome, url from stg_market_refs "
                               "where venue = ? and ref_key = lower(?)", ref.venue, ref.key):
                markets.setdefault((ref.venue, r["market_id"]), (r["question"] or "", r["primary_outcome"] or "Yes",
                                                                 r["url"]))
        return [(v, mid, q, o, u) for (v, mid), (q, o, u) in sorted(markets.items())]

    def priced_markets(self, markets: list[tuple[str, str, str, str, str | None]]) -> list[OddsMove]:
        out = []
        for venue, market_id, question, outcome, url in markets:
            then = self.price(venue, market_id, outcome, self.since)
            now = self.price(venue, market_id, outcome, self.end)
            if then is not None and now is not None:
                out.append(OddsMove(venue, market_id, question, outcome, url, then, now))
        return out

    def signals(self, configured_order: list[str]) -> tuple[SignalStatus, ...]:
        rows = self.rows("""
            select * from mart_signal_status where watchlist_id = ? order by signal_id
            """, self.wl_id)
        out = []
        for r in rows:
            seen = r["status"] == "seen" and r["first_seen_at"] is not None and r["first_seen_at"] <= self.end
            inside, earlier = self._evidence_split(r) if seen else ([], [])
            count, first, last = self._earlier(r["signal_id"], earlier) if seen else (0, None, None)
            inside_times = [e.published_at for e in inside if e.published_at is not None]
            last_seen = max(inside_times) if inside_times else \
                (min(r["last_seen_at"], self.end) if seen and r["last_seen_at"] else None)
            out.append(SignalStatus(
                signal_id=r["signal_id"], title=r["title"] or claim_words(r["signal_id"]),
                status="seen" if seen else "not seen",
                first_seen_at=r["first_seen_at"] if seen else None, last_seen_at=last_seen if seen else None,
                evidence_count=len(inside), evidence=tuple(inside[-MAX_EVIDENCE:]),
                newly_seen=seen and r["first_seen_at"] > self.since,
                earlier_count=count, earlier_first_at=first, earlier_last_at=last))
        order = {sid: i for i, sid in enumerate(configured_order)}
        return tuple(sorted(out, key=lambda s: (order.get(s.signal_id, len(order)), s.signal_id)))

    def _evidence_split(self, r: dict) -> tuple[list[Evidence], list[Evidence]]:
        """The signal's evidence in the window (oldest first), and the evidence the mart lists from before
        it. The mart keeps only the first entries; the window's posts are read from the hits themselves."""
        listed = [self._evidence(r, x) for x in _json_list(r["evidence"], r["signal_id"])]
        listed = [e for e in listed if e.published_at is None or e.published_at <= self.end]
        hits = self.optional_rows("""
            select source_id, item_id, url, published_at, why from stg_signal_item_hits
            where watchlist_id = ? and signal_id = ? and published_at > ? and published_at <= ?
            order by published_at, source_id, item_id
            """, self.wl_id, r["signal_id"], self.start, self.end)
        found = {(e.source_id, e.item_id, e.published_at): e for e in listed}
        for h in hits:
            found.setdefault((h["source_id"], h["item_id"], h["published_at"]), Evidence(
                published_at=h["published_at"], outlet=self.names.outlet(h["source_id"]), url=h["url"],
                why=self.names.why(str(h["why"] or "")), source_id=h["source_id"], item_id=h["item_id"]))
        every = sorted(found.values(), key=lambda e: (_t0(e.published_at), e.url or ""))
        inside = [e for e in every if e.published_at is None or e.published_at > self.start]
        earlier = [replace(e, in_window=False) for e in every
                   if e.published_at is not None and e.published_at <= self.start]
        return inside, earlier

    def _earlier(self, signal_id: str, listed: list[Evidence]) -> tuple[int, datetime | None, datetime | None]:
        """How much evidence came before the window, and when: the post hits, and the mart's other
        (market) entries."""
        agg = self.optional_rows("""
            select count(*) as n, min(published_at) as first, max(published_at) as last,
                   list(source_id || chr(31) || item_id)
                       filter (where list_contains(?, source_id || chr(31) || item_id)) as listed
            from stg_signal_item_hits
            where watchlist_id = ? and signal_id = ? and published_at <= ?
            """, [f"{e.source_id}\x1f{e.item_id}" for e in listed], self.wl_id, signal_id, self.start)
        n, first, last, hit = (agg[0]["n"], agg[0]["first"], agg[0]["last"], set(agg[0]["listed"] or ())) \
            if agg else (0, None, None, set())
        others = [e.published_at for e in listed if f"{e.source_id}\x1f{e.item_id}" not in hit]
        times = [t for t in [first, last, *others] if t is not None]
        return int(n) + len(others), min(times, default=None), max(times, default=None)

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
        outlet = self.outlets.get(sid or "") or VENUE_NAMES.get(sid or "") or (sid or "")
        return Evidence(published_at=at, outlet=outlet, url=e.get("url"),
                        why=self.names.why(str(e.get("why") or "")), source_id=sid, item_id=e.get("item_id"))


def key_statements(statements: Iterable[Statement]) -> list[KeyStatement]:
    """Fold repetition: a relay goes under the post it relays, and a post making the same claims as an
    earlier key statement of the story (same speaker, or no speaker on either side) under that one."""
    keys: list[tuple[Statement, list[Statement]]] = []
    index: dict[tuple[str, str], int] = {}
    for s in statements:
        home = None
        if s.relay_of is not None:
            home = index.get((s.relay_of.source_id, s.relay_of.item_id))
        if home is None and s.claims:
            for i, (k, _) in enumerate(keys):
                if set(k.claims) == set(s.claims) and (k.speaker == s.speaker or not k.speaker or not s.speaker):
                    home = i
                    break
        if home is None:
            index[(s.post.source_id, s.post.item_id)] = len(keys)
            keys.append((s, []))
        else:
            keys[home][1].append(s)
            index[(s.post.source_id, s.post.item_id)] = home
    return [KeyStatement(k, tuple(also)) for k, also in keys]


def _t0(t: datetime | None) -> datetime:
    return t or datetime.min.replace(tzinfo=timezone.utc)


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
