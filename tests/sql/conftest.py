"""Shared fixtures of the SQL model tests: a fresh migrated DuckDB file per test, row builders that fill
the columns a test does not care about, and a runner of one model with the models it reads."""
from __future__ import annotations

import re
import shutil

import pytest

from signal_desk import db
from signal_desk.signals.models import create_views, load_models, refresh_marts

RUN = "run-20260628T2105Z"
SYNCED = "2026-06-28 21:05:00+00"


def _post_sha(row: dict) -> str:
    return f"sha-{row['source_id']}-{row['item_id']}"


# What each table's NOT NULL columns hold when a test leaves them out: a callable takes the row as given.
DEFAULTS: dict[str, dict] = {
    "sources": {
        "kind": "telegram", "name": lambda r: r["source_id"], "register": "state-aligned", "language": "en",
        "enabled": True, "outlet": lambda r: r.get("name", r["source_id"]), "synced_at": SYNCED,
    },
    "watchlists": {
        "title": lambda r: r["watchlist_id"], "window_hours": 72, "odds_move_threshold": 0.05, "synced_at": SYNCED,
    },
    "watchlist_signals": {
        "title": lambda r: r["signal_id"], "claims_any": [], "actors_any": [], "keywords_any": "{}",
        "has_item_rule": lambda r: bool(r.get("claims_any") or r.get("actors_any")),
    },
    "items": {
        "kind": "telegram", "url": lambda r: f"https://t.me/{r['source_id']}/{r['item_id']}", "text": "",
        "content_sha256": _post_sha, "version_seen_at": lambda r: r["published_at"],
        "first_seen_at": lambda r: r["published_at"], "last_seen_at": lambda r: r["published_at"],
        "first_run_id": RUN, "last_run_id": RUN,
    },
    "item_annotations": {
        "content_sha256": _post_sha, "lang": "en", "quotes": [], "claims": [], "actors": [], "places": [],
        "keywords": [], "cited_outlets": [], "cited_source_ids": [], "attribution_chain": [],
        "url_key": lambda r: f"tg:{r['source_id']}/{r['item_id']}", "link_keys": [], "watchlist_ids": [],
        "entities": [], "lexicon_fingerprint": "lex-1", "annotated_at": lambda r: r["published_at"],
        "run_id": RUN,
    },
    "story_items": {"assigned_at": lambda r: r["published_at"], "run_id": RUN},
    "story_merges": {"merged_at": SYNCED, "run_id": RUN},
    "signal_scope": {"reason": "open", "as_of": SYNCED, "run_id": RUN},
    "signal_item_hits": {
        "url": lambda r: f"https://t.me/{r['source_id']}/{r['item_id']}",
        "why": lambda r: f"claim {r['signal_id']}",
    },
    "markets": {
        "question": "US announces new blockade of Iran by July 31?", "outcomes": ["Yes", "No"], "status": "open",
        "outcomes_sum_to_one": True, "first_seen_at": "2026-06-02 16:21:00+00", "updated_at": SYNCED,
    },
    "odds_snapshots": {"outcome": "Yes", "observed_at": lambda r: r["venue_ts"], "run_id": RUN},
    "market_trades": {
        "no_price_prob": lambda r: round(1 - r["yes_price_prob"], 6), "count_contracts": 10.0,
        "taker_side": "yes", "observed_at": SYNCED, "run_id": RUN,
    },
    "quarantine": {
        "quarantined_at": SYNCED, "run_id": RUN, "stage": "validate", "check_name": "test-check",
        "reason": "set aside by the test",
    },
}


class Desk:
    """A fresh migrated database with helpers to fill it and run models on it."""

    def __init__(self, con):
        self.con = con
        self._columns: dict[str, set[str]] = {}

    def insert(self, table: str, *rows: dict) -> None:
        """Insert rows by column name; columns left out take DEFAULTS (else the table's own default)."""
        for given in rows:
            row = dict(given)
            for column, value in DEFAULTS.get(table, {}).items():
                if column not in row:
                    row[column] = value(given) if callable(value) else value
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self.con.execute(f"insert into {table} ({names}) values ({marks})", list(row.values()))

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            self._columns[table] = {r[0] for r in self.con.execute(
                "select column_name from duckdb_columns() where table_name = ?", [table]).fetchall()}
        return self._columns[table]

    def post(self, source_id: str, item_id: str, published_at: str, *, story: str | None = None,
             annotated: bool = True, **fields) -> None:
        """One post as the pipeline leaves it: its `items` row, its annotation and (given a story) its
        story assignment. A field goes to whichever of items and item_annotations has that column;
        `declared_lang` is items.lang (annotation's `lang` is the detected one)."""
        key = {"source_id": source_id, "item_id": item_id, "published_at": published_at}
        item_cols, note_cols = self.columns("items"), self.columns("item_annotations")
        item = {**key, **{k: v for k, v in fields.items() if k in item_cols and k != "lang"}}
        if "declared_lang" in fields:
            item["lang"] = fields["declared_lang"]
        note = {**key, **{k: v for k, v in fields.items() if k in note_cols}}
        unknown = set(fields) - item_cols - note_cols - {"declared_lang"}
        assert not unknown, f"no such post field: {sorted(unknown)}"
        self.insert("items", item)
        if annotated:
            self.insert("item_annotations", note)
        if story is not None:
            self.insert("story_items", {**key, "story_id": story})

    def run(self, model: str) -> list[dict]:
        """Build `model` and every model it reads, in dependency order, the way a signals run does
        (views first, then tables); returns its rows in the order of the key its header states."""
        models = load_models()
        by_name = {m.name: m for m in models}
        wanted, todo = set(), [model]
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(by_name[name].depends_on)
        chain = [m for m in models if m.name in wanted]
        create_views(self.con, chain)
        refresh_marts(self.con, chain, set())
        return self.rows(f"select * from {model} order by {', '.join(self.key(model))}")

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def key(self, model: str) -> list[str]:
        """The key the model's header comment states (`key: (a, b)` or `key: a`)."""
        header = (db.SQL_DIR / _layer(model) / f"{model}.sql").read_text(encoding="utf-8")
        m = re.search(r"^--.*\bkey:\s*(\(([^)]*)\)|(\w+))", header, re.MULTILINE)
        assert m, f"{model}: no 'key:' in its header comment"
        return [c.strip() for c in (m.group(2) or m.group(3)).split(",")]

    def one_row_per_key(self, model: str) -> list[tuple]:
        """The model's keys (by its header), sorted; fails when a key has more than one row."""
        cols = ", ".join(self.key(model))
        dupes = self.con.execute(
            f"select {cols}, count(*) from {model} group by all having count(*) > 1").fetchall()
        assert not dupes, f"{model}: more than one row for {dupes}"
        return self.con.execute(f"select {cols} from {model} order by all").fetchall()


def _layer(model: str) -> str:
    return {"stg": "staging", "int": "intermediate", "mart": "marts"}[model.split("_", 1)[0]]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """The migrations are applied once per session (about a second each time); tests copy the file."""
    path = tmp_path_factory.mktemp("migrated") / "desk.duckdb"
    con = db.connect(path)
    con.execute("checkpoint")
    con.close()
    return path


@pytest.fixture
def desk(migrated_template, tmp_path):
    path = tmp_path / "desk.duckdb"
    shutil.copyfile(migrated_template, path)
    con = db.connect(path)      # as production opens it: finds every migration applied, sets UTC
    yield Desk(con)
    con.close()
