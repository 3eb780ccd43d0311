"""What a signal alert says, in words (never ids): the subject that says it all on a lock screen, the plain
text, a minimal HTML part, and the webhook's JSON. Read from the marts of the run that saw the change."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from signal_desk.config import Signal, Watchlist
from signal_desk.clock import as_utc
from signal_desk.report.build import VENUE_NAMES
from signal_desk.report.render import (FONT, S_MUTED, bidi_block, bidi_inline, esc, fmt_move, fmt_prob,
                                 fmt_time, link, name, quoted, quoted_plain, safe_href, shorten, text_plain,
                                 without_urls)

MAX_POSTS = 3          # the posts that triggered a change, quoted in the alert
MAX_MOVES = 3          # market moves shown
QUOTE_CHARS = 220      # of a post's text, when it quotes nobody


@dataclass(frozen=True, slots=True)
class TriggerPost:
    outlet: str
    published_at: datetime
    url: str | None
    speaker: str | None         # "an Iranian official speaking to state TV"
    words: str                  # the words it quotes, else its own text, shortened
    lang: str | None


@dataclass(frozen=True, slots=True)
class MarketMove:
    market: str                 # "US announces new blockade of Iran by July 31? (Polymarket)"
    outcome: str
    before: float
    after: float
    since: datetime
    url: str | None


@dataclass(frozen=True, slots=True)
class SignalNow:
    """A signal as the run saw it, in words."""
    watchlist_title: str
    title: str
    watches_for: str            # the rule in words
    level: str
    outlets: int
    level_since: datetime | None
    posts: tuple[TriggerPost, ...]
    market_evidence: tuple[str, ...]    # a market rule's crossings: "Polymarket, 28 Jun 21:00 UTC: Yes at 20% ..."
    moves: tuple[MarketMove, ...]


@dataclass(frozen=True, slots=True)
class Change:
    from_level: str
    to_level: str
    changed_at: datetime


def read_signal(con: duckdb.DuckDBPyConnection, wl: Watchlist, signal_id: str, as_of: datetime) -> SignalNow | None:
    """The signal's level, its triggering posts and the watch list's market moves, or None when the
    marts do not have it (a signal removed from the configuration since)."""
    row = _rows(con, """
        select title, level, outlets, level_since, evidence from mart_signal_status
        where watchlist_id = ? and signal_id = ?""", wl.id, signal_id)
    if not row:
        return None
    status = row[0]
    signal = next((s for s in wl.signals if s.id == signal_id), None)
    posts = tuple(_posts(con, wl.id, signal_id))
    market_evidence = tuple(_market_evidence(status["evidence"], _market_questions(con, wl.id)))
    since = min((p.published_at for p in posts), default=status["level_since"])
    moves = tuple(_moves(con, wl, since, as_of)) if since is not None else ()
    return SignalNow(watchlist_title=wl.title, title=status["title"] or (signal.title if signal else "a signal"),
                     watches_for=_rule_words(wl, signal, con) if signal else "",
                     level=status["level"], outlets=int(status["outlets"] or 0),
                     level_since=status["level_since"], posts=posts, market_evidence=market_evidence, moves=moves)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict]:
    """Rows as dicts; the parameters positional, or one dict of named ones."""
    cur = con.execute(sql, params[0] if len(params) == 1 and isinstance(params[0], dict) else list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _posts(con: duckdb.DuckDBPyConnection, watchlist_id: str, signal_id: str) -> list[TriggerPost]:
    """The first post of each outlet that met the rule on its own (no relay), oldest first."""
    rows = _rows(con, """
        with firsts as (
            select * from mart_signal_outlets
            where watchlist_id = ? and signal_id = ? and outlet_order <= ?
        ),

        final as (
            select
                firsts.outlet_name,
                firsts.first_post_at,
                firsts.first_url,
                items.text,
                annotations.speaker_name,
                annotations.attributed_to,
                annotations.quotes,
                annotations.lang
            from firsts
            left join stg_items as items
                on items.source_id = firsts.first_source_id and items.item_id = firsts.first_item_id
            left join stg_item_annotations as annotations
                on annotations.source_id = firsts.first_source_id and annotations.item_id = firsts.first_item_id
        )

        select * from final order by first_post_at, outlet_name""", watchlist_id, signal_id, MAX_POSTS)
    out = []
    for r in rows:
        speaker, attributed = r["speaker_name"], r["attributed_to"]
        who = attributed if attributed and (not speaker or speaker.lower() in attributed.lower()) else (
            f"{speaker} ({attributed})" if attributed else speaker)
        quotes = [q for q in (r["quotes"] or []) if q and q.strip()]
        words = quotes[0] if quotes else shorten(without_urls(r["text"] or ""), QUOTE_CHARS)
        out.append(TriggerPost(outlet=r["outlet_name"], published_at=as_utc(r["first_post_at"]), url=r["first_url"],
                               speaker=who, words=words, lang=r["lang"]))
    return out


def _market_questions(con: duckdb.DuckDBPyConnection, watchlist_id: str) -> dict[tuple[str, str], str]:
    return {(r["venue"], r["market_id"]): r["question"] for r in _rows(con, """
        select venue, market_id, question from stg_watchlist_markets where watchlist_id = ?""", watchlist_id)}


def _market_evidence(evidence_json: str | None, questions: dict[tuple[str, str], str]) -> list[str]:
    """A market rule's crossings in words: the mart lists them with the venue as source."""
    out = []
    for e in json.loads(evidence_json or "[]"):
        venue = e.get("source_id")
        if venue in VENUE_NAMES:
            at = datetime.fromisoformat(e["published_at"].replace("Z", "+00:00"))
            question = questions.get((venue, e.get("item_id")), "")
            out.append(f"{VENUE_NAMES[venue]}, {fmt_time(at)}: {question + ' ' if question else ''}{e.get('why', '')}")
    return out[-MAX_POSTS:]


def _moves(con: duckdb.DuckDBPyConnection, wl: Watchlist, since: datetime, as_of: datetime) -> list[MarketMove]:
    """The watch list's markets that moved by at least its odds_move_threshold from just before the
    first triggering post to the run's clock, largest first."""
    rows = _rows(con, """
        with markets as (
            select * from stg_watchlist_markets where watchlist_id = $watchlist
        ),

        odds as (
            select * from stg_odds
        ),

        priced as (
            select
                markets.venue,
                markets.question,
                markets.outcome,
                markets.url,
                (select price_prob from odds
                 where odds.venue = markets.venue and odds.market_id = markets.market_id
                   and odds.outcome = markets.outcome and odds.venue_ts <= $since
                 order by odds.venue_ts desc limit 1) as before_prob,
                (select price_prob from odds
                 where odds.venue = markets.venue and odds.market_id = markets.market_id
                   and odds.outcome = markets.outcome and odds.venue_ts <= $as_of
                 order by odds.venue_ts desc limit 1) as after_prob
            from markets
        ),

        final as (
            select * from priced
            where before_prob is not null and after_prob is not null
              and abs(after_prob - before_prob) >= $threshold - 1e-9
        )

        select * from final order by abs(after_prob - before_prob) desc, question limit $limit""",
        {"watchlist": wl.id, "since": since, "as_of": as_of, "threshold": wl.report.odds_move_threshold,
         "limit": MAX_MOVES}) if isinstance(since, datetime) else []
    return [MarketMove(market=f"{r['question']} ({VENUE_NAMES.get(r['venue'], r['venue'])})", outcome=r["outcome"],
                       before=r["before_prob"], after=r["after_prob"], since=since, url=r["url"]) for r in rows]


def _rule_words(wl: Watchlist, signal: Signal, con: duckdb.DuckDBPyConnection) -> str:
    """What the signal's rule watches for, in words."""
    rule = signal.rule
    claims = {c.id: c.description or c.id.replace("-", " ") for c in wl.claims}
    speakers = {a.id: a.name for a in [*wl.actors, *wl.roles]}
    parts = []
    if rule.claims_any:
        said = [claims.get(c, c.replace("-", " ")) for c in rule.claims_any]
        parts.append("a post claiming " + " or ".join(f"“{words}”" for words in said))
    if rule.actors_any:
        parts.append("naming " + " or ".join(speakers.get(a, a.replace("-", " ")) for a in rule.actors_any))
    words = [w for ws in rule.keywords_any.values() for w in ws]
    if words:
        parts.append("using " + " or ".join(f"“{w}”" for w in words))
    if rule.market:
        m = rule.market
        found = _rows(con, """
            select question from stg_market_refs where venue = ? and ref_key = lower(?)
            limit 1""", m.venue, m.key)
        market = f"the market “{found[0]['question']}” ({VENUE_NAMES.get(m.venue, m.venue)})" if found else \
            f"its {VENUE_NAMES.get(m.venue, m.venue)} market"
        conditions = []
        if m.move_abs:
            conditions.append(f"moves by {m.move_abs * 100:g} points or more within 24 hours")
        if m.above is not None:
            conditions.append(f"reaches {m.above * 100:g}% or more")
        if m.below is not None:
            conditions.append(f"falls to {m.below * 100:g}% or less")
        parts.append(f"{market} " + " or ".join(conditions or ["moves"]))
    return "; and ".join(parts)


# ---- the words ----------------------------------------------------------------------------------

def level_tag(now: SignalNow) -> str:
    if now.level == "corroborated":
        return f"CORROBORATED, {now.outlets} outlets"
    return now.level.upper()


def subject(now: SignalNow) -> str:
    """Level, signal, first source and time: the whole alert in one lock-screen line."""
    first = (f" — {now.posts[0].outlet} {fmt_time(now.posts[0].published_at)}" if now.posts else
             f" — {fmt_time(now.level_since)}" if now.level_since else "")
    return f"{level_tag(now)}: {now.title}{first}"


def _batch_words(changes: list[Change], quiet_since: datetime | None) -> str | None:
    """The changes one alert gathers from a quiet period, oldest first."""
    if len(changes) < 2:
        return None
    steps = "; ".join(f"{c.changed_at:%d %b %H:%M} {c.from_level} → {c.to_level}" for c in changes)
    after = f" after the alert of {fmt_time(quiet_since)}" if quiet_since else ""
    return f"This alert gathers {len(changes)} changes from the quiet period{after} (times UTC): {steps}."


def render(now: SignalNow, changes: list[Change], quiet_since: datetime | None = None) -> tuple[str, str, str]:
    """(subject, plain text, HTML) for the change, or the changes a quiet period gathered (oldest first)."""
    change = changes[-1]
    was = changes[0].from_level
    since = f"; {now.level} since {fmt_time(now.level_since)}" if now.level_since else ""
    status = f"Was {was}{since} (noticed by the run of {fmt_time(change.changed_at)})."
    batch = _batch_words(changes, quiet_since)
    lines = [f"{level_tag(now)} — {now.watchlist_title}", text_plain(now.title), "", status]
    if now.watches_for:
        lines.append(f"Watching for: {text_plain(now.watches_for)}.")
    if now.posts:
        lines += ["", "The posts behind it (first of each outlet):"]
        for i, p in enumerate(now.posts, 1):
            who = f" — {text_plain(p.speaker)}" if p.speaker else ""
            lines.append(f"{i}. {text_plain(p.outlet)}, {fmt_time(p.published_at)}{who}:")
            lines.append(f"   {quoted_plain(p.words, p.lang)}")
            if safe_href(p.url):
                lines.append(f"   {p.url}")
    if now.market_evidence:
        lines += ["", "The market behind it:"] + [f"- {text_plain(e)}" for e in now.market_evidence]
    if now.moves:
        lines += ["", f"Markets moving since {fmt_time(now.moves[0].since)}:"]
        lines += [f"- {text_plain(m.market)}: {m.outcome} {fmt_prob(m.before)} → {fmt_prob(m.after)} "
                  f"({fmt_move(m.after - m.before)})" for m in now.moves]
    if batch:
        lines += ["", batch]
    lines += ["", "— Signal desk. You get this alert because you opted in to this watch list's alerts."]
    return subject(now), "\n".join(lines) + "\n", _html(now, status, batch)


def _html(now: SignalNow, status: str, batch: str | None) -> str:
    parts = [f'<p style="margin:0 0 4px;{S_MUTED}"><b>{esc(level_tag(now))}</b> · {name(now.watchlist_title)}</p>',
             bidi_block(now.title, tag="h1", style="font-size:19px;line-height:1.3;margin:0 0 8px"),
             f'<p style="margin:0 0 8px">{esc(status)}</p>']
    if now.watches_for:
        parts.append(f'<p style="margin:0 0 12px;{S_MUTED}">Watching for: {bidi_inline(now.watches_for)}.</p>')
    if now.posts:
        items = []
        for p in now.posts:
            who = f" — {name(p.speaker)}" if p.speaker else ""
            head = link(p.url, f"{p.outlet}, {fmt_time(p.published_at)}") if safe_href(p.url) else \
                esc(f"{p.outlet}, {fmt_time(p.published_at)}")
            items.append(f'<li style="margin:0 0 10px">{head}{who}<br>{quoted(p.words, p.lang)}</li>')
        parts.append(f'<p style="margin:0 0 4px"><b>The posts behind it</b></p>'
                     f'<ol style="margin:0 0 12px;padding:0 0 0 20px">{"".join(items)}</ol>')
    if now.market_evidence:
        parts.append("<p style=\"margin:0 0 4px\"><b>The market behind it</b></p><ul style=\"margin:0 0 12px\">"
                     + "".join(f"<li>{bidi_inline(e)}</li>" for e in now.market_evidence) + "</ul>")
    if now.moves:
        moves = "".join(
            f"<li>{link(m.url, m.market) if safe_href(m.url) else bidi_inline(m.market)}: {esc(m.outcome)} "
            f"{esc(fmt_prob(m.before))} → {esc(fmt_prob(m.after))} ({esc(fmt_move(m.after - m.before))})</li>"
            for m in now.moves)
        parts.append(f'<p style="margin:0 0 4px"><b>Markets moving since {esc(fmt_time(now.moves[0].since))}</b></p>'
                     f'<ul style="margin:0 0 12px">{moves}</ul>')
    if batch:
        parts.append(f'<p style="margin:0 0 12px">{esc(batch)}</p>')
    parts.append(f'<p style="margin:0;{S_MUTED}">Signal desk. You get this alert because you opted in to this '
                 f"watch list's alerts.</p>")
    return ("<!doctype html><html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"></head>"
            f'<body style="margin:0;padding:12px;{FONT};font-size:15px;line-height:1.45;color:#212529">'
            f'<div style="max-width:640px">{"".join(parts)}</div></body></html>')


def webhook_body(text: str) -> bytes:
    """Slack and Teams incoming webhooks both show a JSON object's `text`."""
    return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
