"""Search by meaning over the demo's stored embeddings: `posts_like` in SQL and `./run search`."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from signal_desk import db, search

SKIPPED_TALKS = "Iran will not attend the technical talks with the United States"


@pytest.fixture(scope="module")
def demo(demo_db):
    con = search.register(db.connect(demo_db, read_only=True))
    yield con
    con.close()


def test_a_sentence_finds_the_posts_that_say_it_in_english_and_arabic(demo):
    rows = demo.execute("select source_id, text from posts_like(embed_text(?), k := 4)", [SKIPPED_TALKS]).fetchall()
    assert {"reuters", "alalamarabic"} <= {source for source, _ in rows}
    assert any("لن تشارك" in text for _, text in rows)


def test_since_leaves_out_older_posts_even_the_query_post_itself(demo):
    query, published_at = demo.execute(
        "select embedding, published_at from item_embeddings where source_id = 'reuters' "
        "and published_at = '2026-06-28 20:10:23+00'").fetchone()
    anywhere = demo.execute("select published_at from posts_like(?, k := 3)", [query]).fetchall()
    assert anywhere[0][0] == published_at          # a post is most like itself
    since = datetime(2026, 6, 29, tzinfo=timezone.utc)
    later = demo.execute("select published_at from posts_like(?, k := 3, since := ?)", [query, since]).fetchall()
    assert len(later) == 3
    assert all(at >= since for (at,) in later)


def test_registering_twice_on_one_database_is_harmless(demo, demo_db):
    # Regression: a second connection's register raised "embed_text already exists".
    other = search.register(db.connect(demo_db, read_only=True))
    try:
        assert other.execute("select len(embed_text('talks'))").fetchone()[0] == 512
    finally:
        other.close()


def test_the_search_command_takes_a_since_date(demo_db, capsys):
    assert search.main([SKIPPED_TALKS, "--db", str(demo_db), "-k", "5", "--since", "2026-06-29"]) == 0
    dates = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()]
    assert len(dates) == 5
    assert all(d >= "2026-06-29" for d in dates)
    assert search.main([SKIPPED_TALKS, "--db", str(demo_db), "-k", "5"]) == 0
    assert "2026-06-28" in capsys.readouterr().out


def test_a_lake_keeps_posts_like_with_its_since_bound(lake):
    # Regression: with `since := null` a DuckLake could not store the macro's NULL-typed default, and the
    # lake's signals run failed to commit.
    con = db.connect(lake)
    try:
        search.install(con)
    finally:
        con.close()
    reader = db.connect(lake, read_only=True)
    try:
        assert reader.execute("select count(*) from posts_like([1.0]::float[], k := 3, "
                              "since := timestamptz '2026-06-22 00:00:00+00')").fetchone()[0] == 0
    finally:
        reader.close()
