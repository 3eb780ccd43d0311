"""Prediction markets named by the watch lists: metadata, the current odds, and price history.

Fetching follows the venues' own links (a Gamma market gives its CLOB token ids, a Kalshi market its
event and so its series), so the fetch step peeks at what it fetched with the pure parsers; the parse
step then reads every payload in full, rejecting what does not fit with the reason.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import duckdb

from signal_desk.config import Config, MarketRef, Watchlist
from signal_desk.http import FetchError, Fetcher, FetchPolicy
from signal_desk.items import PayloadError
from signal_desk.items import FetchRecord, QuarantineRow, TradeWindow
from signal_desk.sources import kalshi, manifold, polymarket  # noqa: F401  (packages)
from signal_desk.sources.kalshi import constants as kc, parse as kp
from signal_desk.sources.manifold import constants as mc, parse as mp
from signal_desk.sources.markets_common import ParseResult
from signal_desk.sources.polymarket import constants as pc, parse as pp

BACKFILL = timedelta(days=30)
HISTORY_FIDELITY_MIN = 60
TRADE_PAGE_CAP = 10               # trade pages per market per run; an unfinished window resumes next run


@dataclass(slots=True)
class Payload:
    """A fetched market payload and how to read it."""

    record: FetchRecord
    reader: str                       # gamma_markets | clob_history | kalshi_market | kalshi_candles | kalshi_trades | manifold_market | manifold_bets | gamma_search
    context: dict = field(default_factory=dict)


@dataclass(slots=True)
class MarketFetch:
    ref_key: str                      # "<venue>:<slug|ticker|id>"
    payloads: list[Payload] = field(default_factory=list)
    error: str | None = None


def _ref_key(ref: MarketRef) -> str:
    return f"{ref.venue}:{ref.key}"


HISTORY_READERS = frozenset({"clob_history", "kalshi_candles", "manifold_bets"})


def latest_odds(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], datetime]:
    """The newest price-history point landed per market outcome: its history is fetched from there on.
    Current-price snapshots don't count, so a history endpoint that was down is caught up later."""
    return {(v, m, o): t for v, m, o, t in con.execute("""
        select venue, market_id, outcome, max(venue_ts) from odds_snapshots
        where point_kind = 'history' group by all
    """).fetchall()}


@dataclass(slots=True, frozen=True)
class TradeCursor:
    """Where a market's next trade fetch starts: a window to resume, or the newest trade landed."""

    newest_trade_at: datetime | None
    resume_cursor: str | None
    resume_min_ts: int | None


def trade_cursors(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], TradeCursor]:
    return {(v, m): TradeCursor(t, c, s) for v, m, t, c, s in con.execute("""
        select venue, market_id, newest_trade_at, resume_cursor, resume_min_ts from market_trade_cursors
    """).fetchall()}


async def _get(fetcher: Fetcher, out: MarketFetch, url: str, reader: str, **context) -> Payload | None:
    try:
        resp = await fetcher.get(url)
    except FetchError as e:
        out.payloads.append(Payload(FetchRecord(out.ref_key, url, _now(), e.status, e.body or None, e.reason),
                                    reader, context))
        out.error = str(e)
        return None
    p = Payload(FetchRecord(out.ref_key, resp.url, resp.fetched_at, resp.status, resp.body), reader, context)
    out.payloads.append(p)
    return p


def _since(latest: dict, venue: str, market_id: str, outcome: str, now: datetime) -> int:
    t = latest.get((venue, market_id, outcome))
    start = t if t and t < now else now - BACKFILL
    return int(start.timestamp())


async def _polymarket(fetcher: Fetcher, cfg: Config, ref: MarketRef, latest: dict, now: datetime) -> MarketFetch:
    out = MarketFetch(_ref_key(ref))
    base = cfg.endpoints.polymarket_gamma
    url = pc.gamma_markets_url(base, slug=ref.slug) if ref.slug else pc.gamma_market_url(base, ref.id or "")
    p = await _get(fetcher, out, url, "gamma_markets")
    if p is None:
        return out
    try:
        peek = pp.parse_gamma_markets(p.record.body, now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        for outcome, token in zip(m.outcomes, m.token_ids):
            start = _since(latest, "polymarket", m.market_id, outcome, now)
            hurl = pc.prices_history_url(cfg.endpoints.polymarket_clob, token, start, int(now.timestamp()),
                                         HISTORY_FIDELITY_MIN)
            await _get(fetcher, out, hurl, "clob_history", market_id=m.market_id, outcome=outcome, token_id=token)
    return out


async def _kalshi(fetcher: Fetcher, cfg: Config, ref: MarketRef, latest: dict, now: datetime,
                  cursors: dict | None = None) -> MarketFetch:
    out = MarketFetch(_ref_key(ref))
    p = await _get(fetcher, out, kc.market_url(cfg.endpoints.kalshi, ref.ticker or ref.key), "kalshi_market")
    if p is None:
        return out
    try:
        peek = kp.parse_market(p.record.body, now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        series = (m.event_id or m.market_id).split("-")[0]
        start = _since(latest, "kalshi", m.market_id, m.outcomes[0] if m.outcomes else "Yes", now)
        curl = kc.candlesticks_url(cfg.endpoints.kalshi, series, m.market_id, start, int(now.timestamp()), 60)
        await _get(fetcher, out, curl, "kalshi_candles", market_id=m.market_id)
        await _kalshi_trades(fetcher, cfg, out, m.market_id, (cursors or {}).get(("kalshi", m.market_id)), now)
    return out


async def _kalshi_trades(fetcher: Fetcher, cfg: Config, out: MarketFetch, ticker: str, cursor: TradeCursor | None,
                         now: datetime) -> None:
    """Page a market's trades, newest first, from its cursor on: finish an unfinished window first, else
    ask from the newest trade landed (or BACKFILL back). The last page read says where the window ended."""
    if cursor is not None and cursor.resume_cursor:
        min_ts, venue_cursor = cursor.resume_min_ts, cursor.resume_cursor
    else:
        newest = cursor.newest_trade_at if cursor is not None else None
        min_ts, venue_cursor = int((newest or now - BACKFILL).timestamp()), None
    for page in range(TRADE_PAGE_CAP):
        url = kc.trades_url(cfg.endpoints.kalshi, ticker, min_ts=min_ts, cursor=venue_cursor)
        p = await _get(fetcher, out, url, "kalshi_trades", market_id=ticker, min_ts=min_ts)
        if p is None:
            return      # nothing recorded for the window: the next run asks again from the same place
        try:
            venue_cursor = kp.parse_trades(p.record.body, market_id=ticker).next_cursor
        except PayloadError as e:
            out.error = str(e)
            return
        last_page = venue_cursor is None or page == TRADE_PAGE_CAP - 1
        if last_page:
            p.context["window_resume_cursor"] = venue_cursor
            return


async def _manifold(fetcher: Fetcher, cfg: Config, ref: MarketRef, latest: dict, now: datetime) -> MarketFetch:
    out = MarketFetch(_ref_key(ref))
    p = await _get(fetcher, out, mc.market_url(cfg.endpoints.manifold, ref.id or ref.key), "manifold_market")
    if p is None:
        return out
    try:
        peek = mp.parse_market(p.record.body, now)
    except PayloadError as e:
        out.error = str(e)
        return out
    for m in peek.markets:
        await _get(fetcher, out, mc.bets_url(cfg.endpoints.manifold, m.market_id), "manifold_bets",
                   market_id=m.market_id, market_body=p.record.body)
    return out


async def _search(fetcher: Fetcher, cfg: Config, wl: Watchlist) -> MarketFetch:
    out = MarketFetch(f"search:{wl.id}")
    for q in search_terms(wl):
        await _get(fetcher, out, pc.public_search_url(cfg.endpoints.polymarket_gamma, q), "gamma_search",
                   watchlist_id=wl.id, query=q)
    return out


def search_terms(wl: Watchlist, limit: int = 3) -> list[str]:
    return [k for k in wl.keywords.get("en", [])][:limit]


def watched_markets(cfg: Config) -> list[MarketRef]:
    seen, refs = set(), []
    for wl in cfg.watchlists:
        for ref in wl.markets:
            if _ref_key(ref) not in seen:
                seen.add(_ref_key(ref))
                refs.append(ref)
    return refs


async def fetch_markets(cfg: Config, latest: dict, *, policy: FetchPolicy | None = None,
                        now: datetime | None = None, search: bool = True,
                        cursors: dict[tuple[str, str], TradeCursor] | None = None) -> list[MarketFetch]:
    """cursors: each market's trade cursor (`trade_cursors`); markets without one fetch BACKFILL back."""
    now = now or datetime.now(timezone.utc)

    def job(ref: MarketRef):
        if ref.venue == "kalshi":
            return _kalshi(fetcher, cfg, ref, latest, now, cursors)
        return {"polymarket": _polymarket, "manifold": _manifold}[ref.venue](fetcher, cfg, ref, latest, now)

    async with Fetcher(policy) as fetcher:
        jobs = [job(ref) for ref in watched_markets(cfg)]
        if search:
            jobs += [_search(fetcher, cfg, wl) for wl in cfg.watchlists if search_terms(wl)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    keys = [_ref_key(r) for r in watched_markets(cfg)] + [f"search:{wl.id}" for wl in cfg.watchlists
                                                          if search and search_terms(wl)]
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
            try:
                res = _read(p, observed_at)
            except PayloadError as e:
                out.errors[f.ref_key] = str(e)
                out.quarantined.append(QuarantineRow("markets", f"{p.reader}_shape", str(e), f.ref_key,
                                                     p.record.url, body[:2000].decode("utf-8", "replace")))
                continue
            out.quarantined += [QuarantineRow("markets", p.reader, r.reason, f.ref_key, r.locator, r.raw[:2000])
                                for r in res.rejects]
            if p.reader == "gamma_search":
                for m in res.markets:
                    if m.archived:
                        continue        # an archived duplicate is nothing to follow
                    if ("polymarket", m.slug) not in watched and ("polymarket", m.market_id) not in watched:
                        out.candidates.append(dict(watchlist_id=p.context["watchlist_id"], venue=m.venue,
                                                   market_id=m.market_id, question=m.question, slug=m.slug,
                                                   matched_keywords=[p.context["query"]]))
                continue
            out.result.extend(res)
            out.point_kinds += ["history" if p.reader in HISTORY_READERS else "snapshot"] * len(res.odds)
            if p.reader == "kalshi_trades" and "window_resume_cursor" in p.context:
                out.trade_windows.append(TradeWindow("kalshi", p.context["market_id"], p.context["min_ts"],
                                                     p.context["window_resume_cursor"]))
    return out


def _read(p: Payload, observed_at: datetime) -> ParseResult:
    body, c = p.record.body, p.context
    if p.reader == "gamma_markets":
        return pp.parse_gamma_markets(body, observed_at)
    if p.reader == "clob_history":
        return pp.parse_prices_history(body, market_id=c["market_id"], outcome=c["outcome"], token_id=c["token_id"])
    if p.reader == "gamma_search":
        return pp.parse_public_search(body, observed_at)
    if p.reader == "kalshi_market":
        return kp.parse_market(body, observed_at)
    if p.reader == "kalshi_candles":
        return kp.parse_candlesticks(body, market_id=c["market_id"])
    if p.reader == "kalshi_trades":
        return kp.parse_trades(body, market_id=c["market_id"])
    if p.reader == "manifold_market":
        return mp.parse_market(body, observed_at)
    if p.reader == "manifold_bets":
        return mp.parse_bets(body, answer_labels=mp.answer_labels(c["market_body"]))
    raise ValueError(f"unknown reader {p.reader}")


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


def _now() -> datetime:
    return datetime.now(timezone.utc)
