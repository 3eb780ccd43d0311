"""The signals stage of a run: annotate what is new, group it into stories, recompute the open stories'
marts. Cost follows the new items and the open stories, not the history:

- only items new or edited since the last run are annotated (an items row whose content hash has no
  annotation yet);
- only those items are fed to the story grouper (its saved state carries the rest);
- story marts are recomputed for the open stories (last item within the watch list's window before
  as_of) and the stories this run touched; closed stories keep their rows;
- a run that annotates nothing, with the scope within the last run's, keeps the rows of the marts made
  from posts alone (see signal_desk.signals.models) and recomputes only what moves with the clock and odds.
"""
from __future__ import annotations

import json
import logging
import time
from collections import namedtuple
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd

from signal_desk.config import Config
from signal_desk.clock import utcnow
from signal_desk.db import rollback_if_open
from signal_desk.embeddings import DIM as EMBEDDING_DIM
from signal_desk.embeddings import MODEL as EMBEDDING_MODEL
from signal_desk.embeddings import embed
from signal_desk.failpoints import failpoint
from signal_desk.search import install as install_search
from signal_desk.signals.annotate import Annotation, ItemText, annotate_all
from signal_desk.signals.config_sync import sync_config
from signal_desk.signals.lexicon import Lexicon, build_lexicon
from signal_desk.signals.models import create_views, load_models, refresh_marts, reshaped_marts
from signal_desk.stories.assign import GroupingInput, GroupingResult, assign_stories

log = logging.getLogger(__name__)

# In the table's column order (claim_stances came with migration 006): a bare MERGE update sets by position.
ANNOTATION_COLUMNS = [
    "source_id", "item_id", "content_sha256", "published_at", "lang", "speaker_id", "speaker_name",
    "speaker_kind", "speech_act", "quotes", "claims", "actors", "places", "keywords", "cited_outlets",
    "cited_source_ids", "medium", "attributed_to", "attribution_chain", "url_key", "link_keys",
    "forwarded_key", "watchlist_ids", "entities", "lexicon_fingerprint", "annotated_at", "run_id", "claim_stances",
]

_ANNOTATION_FIELDS = [f.name for f in fields(Annotation) if f.name != "signal_hits"]

_CANDIDATE_COLUMNS = """
    i.source_id, i.item_id, i.url, i.text, i.declared_lang, i.outlinks, i.forwarded_from_url,
    i.link_preview_url, i.published_at, i.content_sha256, i.is_service
"""


def compute_signals(con: duckdb.DuckDBPyConnection, cfg: Config, run_id: str, as_of: datetime | None) -> dict:
    """Annotate, group and recompute the marts for one run; returns a short summary for the run."""
    return _run(con, cfg, run_id, as_of, reannotate_since=None, rebuild_all=False)


def recompute(con: duckdb.DuckDBPyConnection, cfg: Config, run_id: str, as_of: datetime | None,
              since: datetime | None) -> dict:
    """Re-annotate every item published since `since` (all when None) with the current watch lists and
    rebuild the marts of every story: for when a watch list changed."""
    floor = _utc(since) if since else datetime(1970, 1, 1, tzinfo=timezone.utc)
    return _run(con, cfg, run_id, as_of, reannotate_since=floor, rebuild_all=True)


@dataclass(slots=True)
class _Prepared:
    run_id: str
    as_of: datetime
    fingerprint: str
    previous_watermark: datetime | None
    lexicon_changed: bool
    annotated: int
    grouped: GroupingResult
    reshaped: set[str]
    in_scope: int
    scope_shrank: bool              # every story in scope was in the last finished run's scope
    phases: dict[str, float]


def _run(con: duckdb.DuckDBPyConnection, cfg: Config, run_id: str, as_of: datetime | None, *,
         reannotate_since: datetime | None, rebuild_all: bool) -> dict:
    started = time.perf_counter()
    as_of = _utc(as_of) if as_of else utcnow()
    models = load_models()
    # Two transactions: the models read story_items several times faster once the run's assignments
    # are committed. A run whose models fail leaves its scope behind; the next run recomputes it too.
    prepared = _transaction(con, lambda: _prepare(con, cfg, models, run_id, as_of, reannotate_since, rebuild_all))
    return _transaction(con, lambda: _finish(con, models, prepared, started, rebuild_all))


def _transaction(con: duckdb.DuckDBPyConnection, work):
    own = _begin(con)
    try:
        result = work()
        if own:
            con.execute("commit")
        return result
    except BaseException:
        if own:
            rollback_if_open(con)
        raise


def _prepare(con: duckdb.DuckDBPyConnection, cfg: Config, models: list, run_id: str, as_of: datetime,
             reannotate_since: datetime | None, rebuild_all: bool) -> _Prepared:
    now = utcnow()
    lex = build_lexicon(cfg)
    sync_config(con, cfg, lex, now)
    create_views(con, models)
    install_search(con)

    previous = con.execute("""
        select lexicon_fingerprint, watermark from signal_runs order by computed_at desc limit 1
    """).fetchone()
    watermark = previous[1] if previous else None
    lexicon_changed = previous is not None and previous[0] != lex.fingerprint
    max_window = max((wl.window_hours for wl in cfg.watchlists), default=72)
    open_floor = as_of - timedelta(hours=max_window)

    phases: dict[str, float] = {}
    mark = time.perf_counter()
    candidates = _candidates(con, watermark, reannotate_since,
                             open_floor if lexicon_changed and reannotate_since is None else None)
    vectors = _embeddings(con, candidates, now)
    phases["embed"], mark = time.perf_counter() - mark, time.perf_counter()
    annotations = annotate_all([_item_text(r) for r in candidates], lex, vectors)
    _write_annotations(con, candidates, annotations, lex, run_id, now)
    phases["annotate"], mark = time.perf_counter() - mark, time.perf_counter()

    inherited = _linked_entities(con, annotations)
    grouping_inputs = [
        GroupingInput(r.source_id, r.item_id, _utc(r.published_at), r.text or "", a.lang,
                      tuple(dict.fromkeys([*a.entities, *inherited.get((a.source_id, a.item_id), ())])), v)
        for r, a, v in zip(candidates, annotations, vectors)
        if not r.is_service and ((r.text or "").strip() or a.forwarded_key or a.link_keys)
    ]
    grouped = assign_stories(con, run_id, _not_yet_grouped(con, grouping_inputs))
    failpoint("mid-signals")
    phases["group"], mark = time.perf_counter() - mark, time.perf_counter()

    touched = _touched_stories(con, candidates) | grouped.touched_story_ids
    absorbed = {a for a, _, _ in grouped.merges}
    reshaped = set(reshaped_marts(con, models))
    in_scope, scope_shrank = _write_scope(con, cfg, as_of, run_id, touched, absorbed,
                                          rebuild_all or bool(reshaped))
    phases["scope"] = time.perf_counter() - mark
    return _Prepared(run_id, as_of, lex.fingerprint, watermark, lexicon_changed, len(annotations), grouped,
                     reshaped, in_scope, scope_shrank, phases)


def _finish(con: duckdb.DuckDBPyConnection, models: list, p: _Prepared, started: float, rebuild_all: bool) -> dict:
    mark = time.perf_counter()
    # Annotation covers every new or edited post and every watch list change; with none, and no story
    # entering the scope, the posts of the stories in scope are as the last run left them.
    unchanged = not (p.annotated or p.grouped.assigned or p.grouped.merges or p.reshaped or p.lexicon_changed
                     or rebuild_all) and p.scope_shrank
    mart_stats = refresh_marts(con, models, p.reshaped, may_keep_posts_only=unchanged)
    p.phases["marts"] = time.perf_counter() - mark

    new_watermark = con.execute("select max(version_seen_at) from items").fetchone()[0]
    interest = dict(con.execute("""
        select watchlist_id, count(*) from mart_stories group by watchlist_id order by watchlist_id
    """).fetchall())
    seen: dict[str, list[str]] = {}
    for wl_id, sig_id in con.execute("""
        select watchlist_id, signal_id from mart_signal_status where status = 'seen' order by all
    """).fetchall():
        seen.setdefault(wl_id, []).append(sig_id)
    summary = {
        "items_annotated": p.annotated,
        "items_grouped": p.grouped.assigned,
        "stories_new": p.grouped.stories_new,
        "merges": len(p.grouped.merges),
        "stories_in_scope": p.in_scope,
        "stories_of_interest": interest,
        "signals_seen": seen,
        "marts_rebuilt": "all" if rebuild_all else sorted(p.reshaped),
        "marts_kept": sorted(name for name, st in mart_stats.items() if st.get("kept")),
        "lexicon_changed": p.lexicon_changed,
        "seconds": round(time.perf_counter() - started, 3),
        "phase_seconds": {k: round(v, 3) for k, v in p.phases.items()},
    }
    if p.lexicon_changed:
        summary["note"] = ("watch lists changed: open stories were re-annotated; run the recompute_signals "
                           "flow to re-annotate older items")
    con.execute("delete from signal_runs where run_id = ?", [p.run_id])
    con.execute("""
        insert into signal_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    """, [p.run_id, p.as_of, utcnow(), p.fingerprint, p.annotated, p.grouped.assigned, p.grouped.stories_new,
          len(p.grouped.merges), p.in_scope, new_watermark or p.previous_watermark, summary["seconds"],
          json.dumps(summary, default=str)])
    log.info("signals: %s; tables %s", summary, mart_stats)
    return summary


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Start a transaction unless the caller already holds one (then the caller commits)."""
    try:
        con.execute("begin")
        return True
    except duckdb.TransactionException:
        return False


def _utc(ts) -> datetime:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def _candidates(con: duckdb.DuckDBPyConnection, watermark: datetime | None, reannotate_since: datetime | None,
                open_floor: datetime | None) -> list:
    """Items to annotate: new or edited since the watermark (exactly: no annotation for their current
    text), plus, when asked, every item published since a floor."""
    changed = f"""
        select {_CANDIDATE_COLUMNS}
        from stg_items i
        left join item_annotations a using (source_id, item_id)
        where {"i.version_seen_at >= $watermark and" if watermark is not None else ""}
              (a.source_id is null or a.content_sha256 <> i.content_sha256)
    """
    params: dict = {"watermark": watermark} if watermark is not None else {}
    floor = reannotate_since or open_floor
    if floor is not None:
        changed += f" union select {_CANDIDATE_COLUMNS} from stg_items i where i.published_at >= $floor"
        params["floor"] = floor
    cur = con.execute(f"select * from ({changed}) order by published_at, source_id, item_id", params)
    row_type = namedtuple("Candidate", [d[0] for d in cur.description])
    return [row_type(*r) for r in cur.fetchall()]


def _item_text(r) -> ItemText:
    return ItemText(r.source_id, r.item_id, r.url, r.text or "", r.declared_lang, tuple(r.outlinks or ()),
                    r.forwarded_from_url, r.link_preview_url, _utc(r.published_at))


def _embeddings(con: duckdb.DuckDBPyConnection, candidates: list, now: datetime) -> np.ndarray:
    """The candidates' embeddings, one row each: reused where the stored one is of the same text and
    model, computed (and stored) for the rest."""
    if not candidates:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    keys = pd.DataFrame([(r.source_id, r.item_id, r.content_sha256) for r in candidates],
                        columns=["source_id", "item_id", "content_sha256"])
    con.register("embedding_keys", keys)
    try:
        stored = {(s, i): v for s, i, v in con.execute("""
            select e.source_id, e.item_id, e.embedding from item_embeddings e
            join embedding_keys k using (source_id, item_id, content_sha256)
            where e.model = $model and e.published_at >= $earliest
        """, {"model": EMBEDDING_MODEL, "earliest": min(r.published_at for r in candidates)}).fetchall()}
    finally:
        con.unregister("embedding_keys")
    todo = [k for k, r in enumerate(candidates) if (r.source_id, r.item_id) not in stored]
    fresh = embed([candidates[k].text or "" for k in todo])
    out = np.zeros((len(candidates), EMBEDDING_DIM), dtype=np.float32)
    for k, r in enumerate(candidates):
        if (r.source_id, r.item_id) in stored:
            out[k] = stored[(r.source_id, r.item_id)]
    out[todo] = fresh
    if todo:
        rows = pd.DataFrame({
            "source_id": [candidates[k].source_id for k in todo],
            "item_id": [candidates[k].item_id for k in todo],
            "content_sha256": [candidates[k].content_sha256 for k in todo],
            "published_at": [candidates[k].published_at for k in todo],
            "model": EMBEDDING_MODEL,
            "embedding": list(fresh),
            "embedded_at": now,
        })
        con.register("incoming_embeddings", rows)
        try:
            con.execute("""
                merge into item_embeddings using incoming_embeddings using (source_id, item_id)
                when matched then update when not matched then insert by name
            """)
        finally:
            con.unregister("incoming_embeddings")
    return out


def _write_annotations(con: duckdb.DuckDBPyConnection, candidates: list, annotations: list[Annotation],
                       lex: Lexicon, run_id: str, now: datetime) -> None:
    if not annotations:
        return
    records = []
    hits = []
    for r, a in zip(candidates, annotations):
        d = {name: getattr(a, name) for name in _ANNOTATION_FIELDS}     # asdict's deep copy is not needed
        d.update(content_sha256=r.content_sha256, published_at=r.published_at,
                 lexicon_fingerprint=lex.fingerprint, annotated_at=now, run_id=run_id)
        records.append(d)
        hits += [(h.watchlist_id, h.signal_id, a.source_id, a.item_id, r.published_at, r.url, h.why)
                 for h in a.signal_hits]
    df = pd.DataFrame.from_records(records, columns=ANNOTATION_COLUMNS)
    keys = pd.DataFrame([(a.source_id, a.item_id) for a in annotations], columns=["source_id", "item_id"])
    con.register("incoming_annotations", df)
    con.register("annotated_keys", keys)
    try:
        con.execute("""
            merge into item_annotations using incoming_annotations using (source_id, item_id)
            when matched then update when not matched then insert by name
        """)
        con.execute("""
            delete from signal_item_hits h
            where exists (select 1 from annotated_keys k where k.source_id = h.source_id and k.item_id = h.item_id)
        """)
        # the marts join posts to their story by publication time too; an edit that moved it moves it there
        con.execute("""
            update story_items s set published_at = n.published_at
            from incoming_annotations n
            where s.source_id = n.source_id and s.item_id = n.item_id and s.published_at <> n.published_at
        """)
        if hits:
            hdf = pd.DataFrame(hits, columns=["watchlist_id", "signal_id", "source_id", "item_id", "published_at",
                                              "url", "why"])
            con.register("incoming_hits", hdf)
            con.execute("insert into signal_item_hits by name select * from incoming_hits")
            con.unregister("incoming_hits")
    finally:
        con.unregister("incoming_annotations")
        con.unregister("annotated_keys")


def _linked_entities(con: duckdb.DuckDBPyConnection, annotations: list[Annotation]) -> dict[tuple, list[str]]:
    """A post that forwards or links another post takes that post's grouping ids: a link is the
    strongest evidence two posts tell one story, whatever their languages."""
    wanted = {(a.source_id, a.item_id): [k for k in (a.forwarded_key, *a.link_keys)
                                         if k and k.startswith(("tweet:", "tg:"))]
              for a in annotations}
    wanted = {key: links for key, links in wanted.items() if links}
    if not wanted:
        return {}
    by_key = {a.url_key: a.entities for a in annotations if a.url_key}
    missing = sorted({k for links in wanted.values() for k in links if k not in by_key})
    if missing:
        by_key.update(con.execute("select url_key, entities from item_annotations where url_key in "
                                  "(select unnest($keys))", {"keys": missing}).fetchall())
    return {key: [e for k in links for e in by_key.get(k, ())] for key, links in wanted.items()}


def _not_yet_grouped(con: duckdb.DuckDBPyConnection, inputs: list[GroupingInput]) -> list[GroupingInput]:
    if not inputs:
        return []
    keys = pd.DataFrame([(g.source_id, g.item_id) for g in inputs], columns=["source_id", "item_id"])
    con.register("grouping_keys", keys)
    try:
        # the time bound lets DuckDB skip the row groups of older posts
        grouped = set(con.execute("""
            select s.source_id, s.item_id from story_items s
            join grouping_keys k using (source_id, item_id)
            where s.published_at >= $earliest
        """, {"earliest": min(g.published_at for g in inputs)}).fetchall())
    finally:
        con.unregister("grouping_keys")
    return [g for g in inputs if (g.source_id, g.item_id) not in grouped]


def _touched_stories(con: duckdb.DuckDBPyConnection, candidates: list) -> set[str]:
    """Stories holding an item annotated now (an edit can change a story's timeline)."""
    if not candidates:
        return set()
    keys = pd.DataFrame([(r.source_id, r.item_id) for r in candidates], columns=["source_id", "item_id"])
    con.register("touched_keys", keys)
    try:
        return {r[0] for r in con.execute("""
            select distinct s.story_id
            from (select * from stg_story_items where published_at >= $earliest) s
            join touched_keys k using (source_id, item_id)
        """, {"earliest": min(r.published_at for r in candidates)}).fetchall()}
    finally:
        con.unregister("touched_keys")


def _write_scope(con: duckdb.DuckDBPyConnection, cfg: Config, as_of: datetime, run_id: str,
                 touched: set[str], absorbed: set[str], rebuild_all: bool) -> tuple[int, bool]:
    """Which stories each watch list recomputes now: all of them on a rebuild, else the open ones, the
    ones this run touched, and those a merge absorbed (their rows must go). The scope of an earlier run
    whose models did not finish is carried over. Returns the stories in scope, and whether the scope
    lies within the last run's (which must have finished)."""
    unfinished = con.execute("""
        select story_id, reason from signal_scope s
        where not exists (select 1 from signal_runs r where r.run_id = s.run_id)
    """).fetchall()
    con.execute("create or replace temp table previous_scope as select distinct watchlist_id, story_id "
                "from signal_scope")
    touched = touched | {sid for sid, reason in unfinished if reason != "absorbed"}
    absorbed = absorbed | {sid for sid, reason in unfinished if reason == "absorbed"}
    con.execute("delete from signal_scope")
    marked = pd.DataFrame(
        [(s, "touched") for s in sorted(touched - absorbed)] + [(s, "absorbed") for s in sorted(absorbed)],
        columns=["story_id", "reason"])
    windows = pd.DataFrame([(wl.id, wl.window_hours) for wl in cfg.watchlists],
                           columns=["watchlist_id", "window_hours"])
    max_window = int(windows["window_hours"].max()) if len(windows) else 0
    con.register("scope_marked", marked)
    con.register("scope_windows", windows)
    try:
        if rebuild_all:
            open_sql = """
                select distinct w.watchlist_id, s.story_id, 'all' as reason
                from stg_story_items s cross join scope_windows w
            """
        else:
            open_sql = """
                select distinct w.watchlist_id, s.story_id, 'open' as reason
                from (select story_id, published_at from stg_story_items where published_at >= $floor) s
                join scope_windows w on s.published_at >= $as_of - to_hours(w.window_hours)
            """
        con.execute(f"""
            insert into signal_scope
            select watchlist_id, story_id, arg_min(reason, priority), $as_of, $run_id
            from (
                select *, 0 as priority from ({open_sql})
                union all
                select w.watchlist_id, m.story_id, m.reason, case m.reason when 'absorbed' then -1 else 1 end
                from scope_marked m cross join scope_windows w
            )
            group by watchlist_id, story_id
        """, {"as_of": as_of, "run_id": run_id,
              **({} if rebuild_all else {"floor": as_of - timedelta(hours=max_window)})})
    finally:
        con.unregister("scope_marked")
        con.unregister("scope_windows")
    in_scope, entered = con.execute("""
        select count(distinct story_id),
               count(*) filter (where not exists (select 1 from previous_scope p
                                                  where p.watchlist_id = s.watchlist_id and p.story_id = s.story_id))
        from signal_scope s
    """).fetchone()
    con.execute("drop table previous_scope")
    has_previous = con.execute("select count(*) > 0 from signal_runs").fetchone()[0]
    return in_scope, has_previous and not unfinished and entered == 0
