"""One bench hour's embedding and annotation, as the signals stage does them, in one process: for timing
two checkouts side by side as whole processes (run this file from one checkout with PYTHONPATH set to
the checkout being measured; older checkouts without `annotate_all` annotate post by post, as their
signals stage did, and those before the library was named `signal_desk` have it as `tasks`).

    PYTHONPATH=. .venv/bin/python bench/signals_hour.py 300
"""
from __future__ import annotations

import importlib
import sys


def _library() -> str:
    try:
        importlib.import_module("signal_desk")
        return "signal_desk"
    except ImportError:
        return "tasks"


def main(channels: int) -> None:
    from bench.synthetic import synthetic_scenario
    lib = _library()
    load_config = importlib.import_module(f"{lib}.config").load_config
    embed = importlib.import_module(f"{lib}.embeddings").embed
    annotate = importlib.import_module(f"{lib}.signals.annotate")
    build_lexicon = importlib.import_module(f"{lib}.signals.lexicon").build_lexicon

    claims = importlib.import_module(f"{lib}.signals.claims")
    e5_texts = [0]
    if hasattr(claims, "embed"):            # how many sentences the costly encoder reads
        real_embed = claims.embed

        def counting(texts, **kw):
            if kw.get("model") == "e5":
                e5_texts[0] += len(texts)
            return real_embed(texts, **kw)
        claims.embed = counting

    posts = synthetic_scenario(channels, hours=1).posts
    lex = build_lexicon(load_config("config"))
    items = [annotate.ItemText(p.outlet, str(p.post_id), "", p.text, None, (), None, None, p.published_at)
             for p in posts]
    vectors = embed([p.text for p in posts])
    if hasattr(annotate, "annotate_all"):
        found = annotate.annotate_all(items, lex, vectors)
    else:
        found = [annotate.annotate(i, lex, float(c)) for i, c in zip(items, lex.claim_index.closeness(vectors))]
    print(f"{len(found)} posts, {sum(bool(a.claims) for a in found)} with a claim, "
          f"{e5_texts[0]} sentences read by e5")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
