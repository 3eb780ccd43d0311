"""Statements from any stream of posts, against the configured watch lists: who spoke, the speech act,
the claims with their stance, and the quoted words. The same annotation the hourly runs store.

    ./run statements --in posts.jsonl --out statements.jsonl [--config DIR]

Input: JSON lines with `id` and `text`, optionally `lang`, `posted_at` (ISO 8601) and `source` (a
configured source id, or any outlet name). Output: one JSON line per post with `id`, `lang`,
`speaker` (configured actor or role id, or null), `speaker_name`, `speech_act`, `claims` (a list of
`{id, stance}`), and `quotes`.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from signal_desk.config import ConfigError, load_config
from signal_desk.embeddings import embed
from signal_desk.signals.annotate import Annotation, ItemText, annotate_all
from signal_desk.signals.lexicon import Lexicon, build_lexicon


def read_posts(path: Path) -> list[dict]:
    """Posts from a JSON-lines file; a bad line is an error naming the file and the line."""
    posts = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                post = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} line {number}: not JSON ({e.msg})") from None
            if not isinstance(post, dict) or "id" not in post or not isinstance(post.get("text"), str):
                raise ValueError(f"{path} line {number}: a post needs an 'id' and a 'text' string")
            if post.get("posted_at"):
                try:
                    post["posted_at"] = _time(str(post["posted_at"]))
                except ValueError:
                    raise ValueError(f"{path} line {number}: posted_at {post['posted_at']!r} is not ISO 8601") from None
            posts.append(post)
    return posts


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def annotate_posts(posts: Sequence[dict], lex: Lexicon) -> list[Annotation]:
    """Annotate posts in one batch: whole-post embeddings first, sentences only where a claim can be."""
    items = [ItemText(str(p.get("source") or ""), str(p["id"]), "", p["text"], p.get("lang"),
                      published_at=p.get("posted_at")) for p in posts]
    return annotate_all(items, lex, embed([p["text"] for p in posts]))


def statement_record(post_id: str, a: Annotation) -> dict:
    return {
        "id": post_id, "lang": a.lang, "speaker": a.speaker_id, "speaker_name": a.speaker_name,
        "speech_act": a.speech_act,
        "claims": [{"id": c["claim"], "stance": c["stance"]} for c in a.claim_stances],
        "quotes": a.quotes,
    }


def statements(posts: Sequence[dict], lex: Lexicon) -> Iterable[dict]:
    for post, a in zip(posts, annotate_posts(posts, lex)):
        yield statement_record(str(post["id"]), a)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="./run statements", description=__doc__.split("\n\n")[0])
    ap.add_argument("--in", dest="source", required=True, type=Path, help="posts, JSON lines")
    ap.add_argument("--out", required=True, type=Path, help="statements to write, JSON lines")
    ap.add_argument("--config", default="config", help="directory with watchlists.yaml and sources.yaml (default: %(default)s)")
    args = ap.parse_args(argv)
    try:
        lex = build_lexicon(load_config(args.config))
        posts = read_posts(args.source)
    except (OSError, ValueError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    written = 0
    with args.out.open("w", encoding="utf-8") as out:
        for record in statements(posts, lex):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += bool(record["speaker"] or record["claims"])
    print(f"{len(posts)} posts -> {written} with a configured speaker or claim; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
