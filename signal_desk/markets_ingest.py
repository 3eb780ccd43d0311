"""Prediction markets named by the watch lists: metadata, the current odds, and price history.

Fetching follows the venues' own links (a Gamma market gives its CLOB token ids, a Kalshi market its
event and so its series), so a venue's fetch peeks at what it fetched with its pure parsers; the parse
step then reads every payload in full, rejecting what does not fit with the reason. Each venue's own
code is its package's, found through `signal_desk.sources.registry` by the venue's name.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from signal_desk.clock import utcnow
from signal_desk.config import Config, MarketRef, Watchlist
from signal_desk.http import Fetcher, FetchPolicy
from signal_desk.items import PayloadError, QuarantineRow, TradeWindow
from signal_desk.sources.market_fetching import (RESUME_CURSOR, MarketCursors, MarketFetch, Payload, TradeCursor,
                                                 ref_key, search_key)
from signal_desk.sources.markets_common import ParseResult
from signal_desk.sources.registry import VENUES, market_venue, venue_of_reader

__all__ = ["MarketFetch", "MarketParse", "Payload", "TradeCursor", "fetch_markets", "land_candidates",
           "latest_odds", "parse_market_fetches", "search_terms", "trade_cursors", "watched_markets"]


def latest_odds(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], datetime]:
    """The newest price-history point landed per market outcome: its history is fetched from there on.
    Current-price snapshots don't count, so a history endpoint that was down is caught up later."""
    return {(v, m, o): t for v, m, o, t in con.execute("""
        select venue, market_id, outcome, max(venue_ts) from odds_snapshots
        where point_kind = 'history' group by all
    """).fetchall()}


def trade_cursors(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], TradeCursor]:
    return {(v, m): TradeCursor(t, c, s) for v, m, t, c, s in con.execute("""
        select venue, market_id, newest_trade_at, resume_cursor, resume_min_ts from market_trade_cursors
    """).fetchall()}


def search_terms(wl: Watchlist, limit: int = 3) -> list[str]:
    return [k for k in wl.keywords.get("en", [])][:limit]


def watched_markets(cfg: Config) -> list[MarketRef]:
    seen, refs = set(), []
    for wl in cfg.watchlists:
        for ref in wl.markets:
            if ref_key(ref) not in seen:
                seen.add(ref_key(ref))
                refs.append(ref)
    return refs


async def fetch_markets(cfg: Config, latest: dict, *, policy: FetchPolicy | None = None,
                        now: datetime | None = None, search: bool = True,
                        cursors: dict[tuple[str, str], TradeCursor] | None = None) -> list[MarketFetch]:
    """cursors: each market's trade cursor (`trade_cursors`); markets without one fetch BACKFILL back."""
    start = MarketCursors(now or utcnow(), latest, cursors or {})
    refs = watched_markets(cfg)
    searches = [(wl, v) for wl in cfg.watchlists if search and search_terms(wl)
                for v in VENUES.values() if v.search is not None]
    async with Fetcher(policy) as fetcher:
        jobs = [market_venue(ref.venue).fetch(fetcher, cfg.endpoints, ref, start) for ref in refs]
        jobs += [v.search(fetcher, cfg.endpoints, wl.id, search_terms(wl)) for wl, v in searches]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    keys = [ref_key(r) for r in refs] + [search_key(wl.id) for wl, _ in searches]
    return [r if not isinstance(r, BaseException) else MarketFetch(k, error=f"{type(r).__name__}: {r}")
            for k, r in zip(keys, results)]


@dataclass(slots=True)
class MarketParse:
    result: ParseResult = field(default_factory=ParseResult)
    point_kinds: list[str] = field(default_factory=list)     # 'history' | 'snapshot', parallel to result.odds
    candidates: list[dict] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    trade_windows: list[TradeWindow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_market_fetches(cfg: Config, fetches: list[MarketFetch], observed_at: datetime) -> MarketParse:
    out = MarketParse()
    watched = {(r.venue, r.key) for r in watched_markets(cfg)}
    for f in fetches:
        if f.error:
            out.errors[f.ref_key] = f.error
        for p in f.payloads:
            body = p.record.body
            if body is None or (p.record.status_code or 0) >= 400:
                continue
            venue = venue_of_reader(p.reader)
            try:
                res = venue.readers[p.reader](body, p.context, observed_at)
            except PayloadError as e:
                out.errors[f.ref_key] = str(e)
                out.quarantined.append(QuarantineRow("markets", f"{p.reader}_shape", str(e), f.ref_key,
                                                     p.record.url, body[:2000].decode("utf-8", "replace")))
                continue
            out.quarantined += [QuarantineRow("markets", p.reader, r.reason, f.ref_key, r.locator, r.raw[:2000])
                                for r in res.rejects]
            if p.reader in venue.search_readers:
                for m in res.markets:
                    if m.archived:
                        continue        # an archived duplicate is nothing to follow
                    if (venue.venue, m.slug) not in watched and (venue.venue, m.market_id) not in watched:
                        out.candidates.append(dict(watchlist_id=p.context["watchlist_id"], venue=m.venue,
                                                   market_id=m.market_id, question=m.question, slug=m.slug,
                                                   matched_keywords=[p.context["query"]]))
                continue
            out.result.extend(res)
            out.point_kinds += ["history" if p.reader in venue.history_readers else "snapshot"] * len(res.odds)
            if RESUME_CURSOR in p.context:
                out.trade_windows.append(TradeWindow(venue.venue, p.context["market_id"], p.context["min_ts"],
                                                     p.context[RESUME_CURSOR]))
    return out


def land_candidates(con: duckdb.DuckDBPyConnection, rows: list[dict], proposed_at: datetime) -> int:
    n = 0
    for r in rows:
        key = [r["watchlist_id"], r["venue"], r["market_id"]]
        if con.execute("select 1 from market_candidates where watchlist_id = ? and venue = ? and market_id = ?",
                       key).fetchone():
            continue
        con.execute("""
            insert into market_candidates (watchlist_id, venue, market_id, question, slug, matched_keywords, proposed_at)
            values (?, ?, ?, ?, ?, ?, ?)
        """, [*key, r["question"], r["slug"], r["matched_keywords"], proposed_at])
        n += 1
    return n
