"""Search by meaning: posts that say something like a sentence, in any language, over the stored
embeddings (`item_embeddings`).

In SQL, the table macro `posts_like(query_embedding, k := 10, since := ...)` ranks posts (published
at `since` or later, when given) by cosine similarity to a vector; every signals run (re)creates it in
the database, so the analysts' snapshot has it. A vector for a sentence comes from the encoder, which
SQL cannot run: from Python, `register(con)` adds the function `embed_text(sentence)`, so that

    select * from posts_like(embed_text('Iran skipped the technical talks'), k := 5)

works in a notebook; from a shell, `./run search "Iran skipped the technical talks"`. Any stored
post's vector works too: `posts_like((select embedding from item_embeddings where ...), k := 5)`.

    ./run search "sentence" [--db var/demo.snapshot.duckdb] [-k 10] [--since 2026-06-22]
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from signal_desk.embeddings import MODEL, embed

POSTS_LIKE = f"""
create or replace macro posts_like(query, k := 10, since := '-infinity'::timestamptz) as table
    with ranked as (
        select
            e.source_id,
            e.item_id,
            list_cosine_similarity(e.embedding, query::float[]) as similarity
        from item_embeddings as e
        where e.model = '{MODEL}'
          -- a plain bound: DuckDB skips the row groups of older posts
          and e.published_at >= since
        order by similarity desc
        limit k
    )
    select
        ranked.source_id,
        ranked.item_id,
        round(ranked.similarity, 3) as similarity,
        i.published_at,
        i.url,
        i.text
    from ranked
    join items as i using (source_id, item_id)
    order by ranked.similarity desc
"""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the `posts_like` macro in the database (a file or a DuckLake: both keep it)."""
    try:
        con.execute(POSTS_LIKE)
    except duckdb.Error:
        pass


def register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Add `embed_text(varchar) -> float[]` to a connection (and `posts_like`, as a temporary macro,
    when the database does not have it: a read-only DuckLake)."""
    def defined(name: str) -> bool:
        return bool(con.execute("select count(*) from duckdb_functions() where function_name = ?", [name]).fetchone()[0])

    # Connections to one file in a process share its functions: a second register (a notebook cell run
    # again, another connection) finds embed_text already there.
    if not defined("embed_text"):
        con.create_function("embed_text", lambda text: embed([text or ""])[0].tolist(), ["VARCHAR"], "FLOAT[]",
                            side_effects=False)
    if not defined("posts_like"):
        con.execute(POSTS_LIKE.replace("create or replace macro", "create temp macro"))
    return con


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run search", description="posts that say something like a sentence")
    ap.add_argument("sentence", help="what the posts should say, in any language")
    ap.add_argument("--db", default="var/demo.snapshot.duckdb", help="a database file, opened read-only (default: %(default)s)")
    ap.add_argument("-k", type=int, default=10, help="how many posts (default: %(default)s)")
    ap.add_argument("--since", type=datetime.fromisoformat, default=None,
                    help="only posts published at this UTC date or time or later, e.g. 2026-06-22 (default: all)")
    args = ap.parse_args(argv)
    if not Path(args.db).exists():
        print(f"error: {args.db}: no such database (run ./run demo first, or pass --db)", file=sys.stderr)
        return 2
    con = register(duckdb.connect(args.db, read_only=True))
    since = args.since or datetime.min
    since = since.replace(tzinfo=since.tzinfo or timezone.utc)
    rows = con.execute("select similarity, published_at, url, text from posts_like(embed_text(?), k := ?, since := ?)",
                       [args.sentence, args.k, since]).fetchall()
    for similarity, at, url, text in rows:
        print(f"{similarity:.3f}  {at:%Y-%m-%d %H:%M}  {url}\n       {' '.join(text.split())[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
