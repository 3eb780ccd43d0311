"""Run the story grouper over a run's new items and persist what it decided.

The grouper's state is restored from `grouper_state`, fed the new items in time order with their
annotation entities (actor, place, claim and topic ids, post URLs: what links an Arabic post to an
English one) and their stored embeddings (`vector`; the grouper embeds the items that come without
one, in one call per batch), and saved again. Assignments go to `story_items`; merges the grouper
records go to `story_merges` (a story keeps its id; an absorbed story's items follow the merge in
stg_story_items).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from signal_desk.clock import utcnow

STATE_ID = "default"


@dataclass(frozen=True, slots=True)
class GroupingInput:
    source_id: str
    item_id: str
    published_at: datetime
    text: str
    lang: str | None
    entities: tuple[str, ...]
    # The post's embedding (signal_desk.embeddings.embed of its text: 512 floats), when stored; None: computed.
    vector: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.source_id}/{self.item_id}"


@dataclass(slots=True)
class GroupingResult:
    assigned: int
    stories_new: int
    merges: list[tuple[str, str, datetime]]
    touched_story_ids: set[str]


def _grouper_class():
    from signal_desk.stories.grouping import StoryGrouper
    return StoryGrouper


def load_grouper(con: duckdb.DuckDBPyConnection):
    cls = _grouper_class()
    row = con.execute("select state from grouper_state where state_id = ?", [STATE_ID]).fetchone()
    if row is None:
        return cls()
    state = json.loads(zlib.decompress(row[0]).decode("utf-8"))
    return cls.from_state(state)


def save_grouper(con: duckdb.DuckDBPyConnection, grouper, run_id: str) -> int:
    blob = zlib.compress(json.dumps(grouper.to_state(), default=str, ensure_ascii=False).encode("utf-8"), 6)
    con.execute("""
        merge into grouper_state
        using (select ? as state_id, ? as saved_at, ? as run_id, ? as state) as n
        using (state_id)
        when matched then update set saved_at = n.saved_at, run_id = n.run_id, state = n.state
        when not matched then insert by name
    """, [STATE_ID, utcnow(), run_id, blob])
    return len(blob)


def _batch_item(g: GroupingInput) -> dict:
    return {"id": g.key, "time": g.published_at, "text": g.text, "lang": g.lang, "entities": list(g.entities),
            "vector": g.vector}


def assign_stories(con: duckdb.DuckDBPyConnection, run_id: str, inputs: list[GroupingInput]) -> GroupingResult:
    """Assign new items to stories (existing or new), persist assignments, merges and state."""
    if not inputs:
        return GroupingResult(0, 0, [], set())
    inputs = sorted(inputs, key=lambda g: (g.published_at, g.source_id, g.item_id))
    grouper = load_grouper(con)
    merges_before = len(grouper.merges)
    open_before = set(grouper.story_sizes)      # the grouper only adds to open stories or opens new ones
    story_ids = grouper.assign([_batch_item(g) for g in inputs])
    if len(story_ids) != len(inputs):
        raise RuntimeError(f"story grouper returned {len(story_ids)} assignments for {len(inputs)} items")
    now = utcnow()
    rows = [(g.source_id, g.item_id, sid, g.published_at, now, run_id)
            for g, sid in zip(inputs, story_ids) if sid is not None]
    new_merges = list(grouper.merges)[merges_before:]
    assigned_ids = {r[2] for r in rows}
    if rows:
        df = pd.DataFrame(rows, columns=["source_id", "item_id", "story_id", "published_at", "assigned_at", "run_id"])
        con.register("incoming_story_items", df)
        try:
            con.execute("""
                merge into story_items
                using (
                    select source_id, item_id, story_id, cast(published_at as timestamptz) as published_at,
                           cast(assigned_at as timestamptz) as assigned_at, run_id
                    from incoming_story_items
                ) as n
                using (source_id, item_id)
                when not matched then insert by name
            """)
        finally:
            con.unregister("incoming_story_items")
    for absorbed, into, at in new_merges:
        con.execute("""
            merge into story_merges
            using (select ? as absorbed_story_id, ? as into_story_id, ? as merged_at, ? as run_id) as n
            using (absorbed_story_id)
            when matched then update set into_story_id = n.into_story_id, merged_at = n.merged_at, run_id = n.run_id
            when not matched then insert by name
        """, [absorbed, into, at, run_id])
    save_grouper(con, grouper, run_id)
    touched = assigned_ids | {a for a, _, _ in new_merges} | {b for _, b, _ in new_merges}
    return GroupingResult(len(rows), len(assigned_ids - open_before), new_merges, touched)

