"""Search by meaning: posts that say something like a sentence, in any language, over the stored
embeddings (`item_embeddings`).

In SQL, the table macro `posts_like(query_embedding, k := 10)` ranks posts by cosine similarity to a
vector; every signals run (re)creates it in the database, so the analysts' snapshot has it. A vector
for a sentence comes from the encoder, which SQL cannot run: from Python, `register(con)` adds the
function `embed_text(sentence)`, so that

    select * from posts_like(embed_text('Iran skipped the technical talks'), k := 5)

works in a notebook; from a shell, `./run search "Iran skipped the technical talks"`. Any stored
post's vector works too: `posts_like((select embedding from item_embeddings where ...), k := 5)`.

    ./run search "sentence" [--db var/demo.snapshot.duckdb] [-k 10]
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from signal_desk.embeddings import MODEL, embed

POSTS_LIKE = f"""
create or replace macro posts_like(query, k := 10) as table
    with ranked as (
        select
            e.source_id,
            e.item_id,
            list_cosine_similarity(e.embedding, query::float[]) as similarity
        from item_embeddings as e
        where e.model = '{MODEL}'
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
    """Create (or replace) the `posts_like` macro in the database. A DuckLake keeps no macros: there,
    analysts create it as a temporary macro (docs/tables.md shows how)."""
    try:
        con.execute(POSTS_LIKE)
    except duckdb.Error:
        pass


def register(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Add `embed_text(varchar) -> float[]` to a connection (and `posts_like`, as a temporary macro,
    when the database does not have it: a read-only DuckLake)."""
    con.create_function("embed_text", lambda text: embed([text or ""])[0].tolist(), ["VARCHAR"], "FLOAT[]",
                        side_effects=False)
    has_macro = con.execute("select count(*) from duckdb_functions() where function_name = 'posts_like'").fetchone()[0]
    if not has_macro:
        con.execute(POSTS_LIKE.replace("create or replace macro", "create temp macro"))
    return con


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run search", description="posts that say something like a sentence")
    ap.add_argument("sentence", help="what the posts should say, in any language")
    ap.add_argument("--db", default="var/demo.snapshot.duckdb", help="a database file, opened read-only (default: %(default)s)")
    ap.add_argument("-k", type=int, default=10, help="how many posts (default: %(default)s)")
    args = ap.parse_args(argv)
    if not Path(args.db).exists():
        print(f"error: {args.db}: no such database (run ./run demo first, or pass --db)", file=sys.stderr)
        return 2
    con = register(duckdb.connect(args.db, read_only=True))
    rows = con.execute("select similarity, published_at, url, text from posts_like(embed_text(?), k := ?)",
                       [args.sentence, args.k]).fetchall()
    for similarity, at, url, text in rows:
        print(f"{similarity:.3f}  {at:%Y-%m-%d %H:%M}  {url}\n       {' '.join(text.split())[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
