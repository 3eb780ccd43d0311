"""Landing into a real DuckDB file: migrations recorded, reruns idempotent, edits keep history."""
from datetime import datetime, timezone

import pytest

from signal_desk import db, landing
from signal_desk.items import Item, Market, OddsPoint

T = datetime(2026, 6, 28, 21, 46, tzinfo=timezone.utc)


def post(item_id="101", text="نص", **kw):
    return ("telegram", Item("alalamarabic", item_id, f"https://t.me/alalamarabic/{item_id}", T, text, **kw))


def test_migrations_are_recorded_once(fresh_db):
    names = [r[0] for r in fresh_db.execute("select name from schema_migrations order by name").fetchall()]
    assert names == [p.stem for p in db.migrations()]
    assert db.migrate(fresh_db) == []


def test_changed_migration_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "x.duckdb"
    db.connect(path).close()
    migs = tmp_path / "migrations"
    migs.mkdir()
    for m in db.migrations():
        (migs / m.name).write_text(m.read_text() + "\n-- edited\n")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migs)
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        db.connect(path)


def test_rerun_adds_nothing_twice(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    batch = [post("101", views=37200), post("102", "second")]
    first = landing.land_items(fresh_db, rid, batch)
    again = landing.land_items(fresh_db, rid, batch)
    assert first["alalamarabic"]["new"] == 2
    assert again["alalamarabic"] == {"unchanged": 2}
    assert fresh_db.execute("select count(*) from items").fetchone()[0] == 2
    assert fresh_db.execute("select count(*) from item_history").fetchone()[0] == 0


def test_duplicate_keys_in_one_batch_land_once(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, rid, [post("7", "old"), post("7", "new")])
    assert fresh_db.execute("select text from items").fetchall() == [("new",)]


def test_edit_updates_row_and_keeps_earlier_text(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, rid, [post("101", "original words")])
    stats = landing.land_items(fresh_db, rid, [post("101", "corrected words", edited=True)])
    assert stats["alalamarabic"]["updated"] == 1
    assert fresh_db.execute("select text, edited from items").fetchall() == [("corrected words", True)]
    assert fresh_db.execute("select text, edited from item_history").fetchall() == [("original words", False)]


def test_views_change_is_not_an_edit(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, rid, [post("101", views=10)])
    stats = landing.land_items(fresh_db, rid, [post("101", views=20)])
    assert stats["alalamarabic"] == {"unchanged": 1}
    assert fresh_db.execute("select views from items").fetchone()[0] == 20
    assert fresh_db.execute("select count(*) from item_history").fetchone()[0] == 0


def test_a_post_seen_again_unchanged_only_moves_its_last_seen_marks(fresh_db):
    """Unchanged rows skip the merge; any other change, a list or a null included, still lands."""
    later = datetime(2026, 6, 28, 22, 46, tzinfo=timezone.utc)
    batch = [post("101", outlinks=["https://a.example/1"]), post("102"), post("103", author="A"), post("104")]
    landing.land_items(fresh_db, "r1", batch, seen_at=T)
    before = dict(fresh_db.execute("select item_id, items from items").fetchall())
    changed = [post("101", outlinks=["https://a.example/2"]), post("102", author="B"), post("103"), post("104")]
    stats = landing.land_items(fresh_db, "r2", changed, seen_at=later)
    assert stats["alalamarabic"] == {"unchanged": 4}
    after = dict(fresh_db.execute("select item_id, items from items").fetchall())
    marks = {"last_seen_at": None, "last_run_id": None, "changed_run_id": None}
    assert {k: after[k] | marks for k in after} == {
        k: before[k] | marks | {**({"outlinks": ["https://a.example/2"]} if k == "101" else {}),
                                 **({"author": "B"} if k == "102" else {}),
                                 **({"author": None} if k == "103" else {})}
        for k in before}
    assert {(r["last_seen_at"], r["last_run_id"]) for r in after.values()} == {(later, "r2")}
    # what validation checks again: the rows that changed, not the one only seen again
    assert {k: r["changed_run_id"] for k, r in after.items()} == {"101": "r2", "102": "r2", "103": "r2", "104": "r1"}
    assert {r["version_seen_at"] for r in after.values()} == {T}


def test_times_are_utc_and_arrays_kept(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    landing.land_items(fresh_db, rid, [post("5", media_kinds=["photo", "video"], outlinks=["https://x.org"])])
    when, media, links = fresh_db.execute("select published_at, media_kinds, outlinks from items").fetchone()
    assert when == T and media == ["photo", "video"] and links == ["https://x.org"]


def test_raw_bodies_dedupe_and_round_trip(fresh_db):
    import zlib
    rid = landing.start_run(fresh_db, "hourly", None)
    rec = landing.FetchRecord("alalamarabic", "http://127.0.0.1/s/x", T, 200, b"<html>page</html>")
    landing.land_fetches(fresh_db, rid, [rec, rec])
    assert fresh_db.execute("select count(*) from raw_fetches").fetchone()[0] == 2
    (body,) = fresh_db.execute("select body_zlib from raw_bodies").fetchone()
    assert zlib.decompress(body) == b"<html>page</html>"


def test_odds_rerun_idempotent(fresh_db):
    rid = landing.start_run(fresh_db, "hourly", None)
    m = Market("polymarket", "512345", "US announces a new blockade of Iran by July 31?", ["Yes", "No"])
    pts = [OddsPoint("polymarket", "512345", "Yes", 0.2, T)]
    assert landing.land_markets(fresh_db, rid, [m], pts) == (1, 1)
    assert landing.land_markets(fresh_db, rid, [m], pts) == (1, 0)


def test_snapshot_is_readable_while_writer_open(tmp_path):
    path = tmp_path / "desk.duckdb"
    with db.writer(path) as con:
        landing.start_run(con, "hourly", None)
    snap = db.publish_snapshot(path)
    writer = db.connect(path)
    try:
        reader = db.connect(snap, read_only=True)
        assert reader.execute("select count(*) from runs").fetchone()[0] == 1
        reader.close()
    finally:
        writer.close()


def test_a_field_empty_in_all_but_one_of_many_posts_still_lands(fresh_db):
    # Regression: DuckDB typed a DataFrame column from a sample of its rows; a column empty in all of them was
    # typed NULL, and the first later post that had a value failed the whole landing ("VARCHAR -> NULL").
    rid = landing.start_run(fresh_db, "hourly", None)
    batch = [post(str(n), f"post {n}") for n in range(1, 60001)]
    batch[30_006] = post("30007", "a forward", forwarded_from_name="IRNA", album_id="a1", media_kinds=["photo"])
    assert landing.land_items(fresh_db, rid, batch)["alalamarabic"]["new"] == 60000
    assert fresh_db.execute("select forwarded_from_name, album_id, media_kinds from items where item_id = '30007'"
                            ).fetchone() == ("IRNA", "a1", ["photo"])
