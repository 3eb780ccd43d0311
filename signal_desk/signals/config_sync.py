"""Mirror the sources and watch lists from YAML into tables, so the SQL models and analysts see the
configuration the last run used. Small tables: rewritten whole every run."""
from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pandas as pd

from signal_desk.config import Config
from signal_desk.signals.lexicon import Lexicon

_TABLES: dict[str, list[str]] = {
    "sources": ["source_id", "kind", "handle", "url", "name", "register", "language", "enabled", "outlet",
                "synced_at"],
    "watchlists": ["watchlist_id", "title", "description", "window_hours", "odds_move_threshold", "synced_at"],
    "watchlist_speakers": ["watchlist_id", "speaker_id", "kind", "name", "title", "side"],
    "watchlist_claims": ["watchlist_id", "claim_id", "description"],
    "watchlist_contradictions": ["watchlist_id", "claim_a", "claim_b"],
    "watchlist_markets": ["watchlist_id", "venue", "market_ref"],
    "watchlist_signals": ["watchlist_id", "signal_id", "title", "claims_any", "actors_any", "keywords_any",
                          "has_item_rule", "market_venue", "market_ref", "market_above", "market_below",
                          "market_move_abs"],
}


def config_rows(cfg: Config, lex: Lexicon, now: datetime) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {name: [] for name in _TABLES}
    for s in cfg.sources_file.sources:
        rows["sources"].append((s.id, s.kind, s.handle, s.url, s.name, s.register, s.language, s.enabled,
                                lex.source_outlet.get(s.id, s.name), now))
    for wl in cfg.watchlists:
        rows["watchlists"].append((wl.id, wl.title, wl.description, wl.window_hours,
                                   wl.report.odds_move_threshold, now))
        for kind, people in (("actor", wl.actors), ("role", wl.roles)):
            rows["watchlist_speakers"] += [(wl.id, p.id, kind, p.name, p.title, p.side) for p in people]
        rows["watchlist_claims"] += [(wl.id, c.id, c.description) for c in wl.claims]
        rows["watchlist_contradictions"] += sorted({(wl.id, a, b) for a, b in wl.contradictions})
        rows["watchlist_markets"] += sorted({(wl.id, m.venue, m.key) for m in wl.markets})
        for sig in wl.signals:
            r, m = sig.rule, sig.rule.market
            has_item = bool(r.claims_any or r.actors_any or any(r.keywords_any.values()))
            rows["watchlist_signals"].append((
                wl.id, sig.id, sig.title, list(r.claims_any), list(r.actors_any),
                json.dumps(r.keywords_any, ensure_ascii=False), has_item,
                m.venue if m else None, m.key if m else None,
                m.above if m else None, m.below if m else None, m.move_abs if m else None))
    return rows


def sync_config(con: duckdb.DuckDBPyConnection, cfg: Config, lex: Lexicon, now: datetime) -> None:
    for table, rows in config_rows(cfg, lex, now).items():
        con.execute(f"delete from {table}")
        if not rows:
            continue
        df = pd.DataFrame(rows, columns=_TABLES[table])
        con.register("incoming_config_rows", df)
        try:
            con.execute(f"insert into {table} by name select * from incoming_config_rows")
        finally:
            con.unregister("incoming_config_rows")
