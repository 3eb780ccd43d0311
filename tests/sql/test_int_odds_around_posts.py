"""int_odds_around_posts: the followed markets' prices around the statements and first reports of the
stories in scope."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from signal_desk import db
from signal_desk.signals.models import create_views, load_models, refresh_marts

MODEL = "int_odds_around_posts"
KEY = ("watchlist_id", "story_id", "source_id", "item_id", "venue", "market_id")
RUN = "run-20260628T2115Z"
AS_OF = "2026-06-28 21:15:00+00"
BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def insert(con, table: str, **row) -> None:
    con.execute(f"insert into {table} ({', '.join(row)}) values ({', '.join('?' for _ in row)})", list(row.values()))


def post(con, source_id: str, item_id: str, published_at: str, story_id: str, *, speaker_id: str | None = None,
         claims: tuple[str, ...] = ()) -> None:
    """A post as the pipeline leaves it: landed, annotated as relevant to the watch list, in a story."""
    key = {"source_id": source_id, "item_id": item_id, "published_at": published_at}
    sha = f"sha-{source_id}-{item_id}"
    insert(con, "items", **key, kind="telegram", url=f"https://t.me/{source_id}/{item_id}", text="",
           edited=False, is_service=False, content_sha256=sha, version_seen_at=published_at,
           first_seen_at=published_at, last_seen_at=published_at, first_run_id=RUN, last_run_id=RUN)
    insert(con, "item_annotations", **key, content_sha256=sha, lang="en", speaker_id=speaker_id,
           quotes=[], claims=list(claims), actors=[], places=[], keywords=[], cited_outlets=[],
           cited_source_ids=[], attribution_chain=[], url_key=f"tg:{source_id}/{item_id}", link_keys=[],
           watchlist_ids=["us-iran-talks"], entities=[], lexicon_fingerprint="lex-1",
           annotated_at=published_at, run_id=RUN)
    insert(con, "story_items", **key, story_id=story_id, assigned_at=published_at, run_id=RUN)


def price(con, venue: str, market_id: str, venue_ts: str, yes: float) -> None:
    for outcome, p in (("Yes", yes), ("No", round(1 - yes, 6))):
        insert(con, "odds_snapshots", venue=venue, market_id=market_id, outcome=outcome, price_prob=p,
               venue_ts=venue_ts, observed_at=venue_ts, run_id=RUN)


@pytest.fixture
def con(tmp_path):
    con = db.connect(tmp_path / "desk.duckdb")      # as production opens it: migrations applied, UTC
    insert(con, "watchlists", watchlist_id="us-iran-talks", title="US-Iran talks", window_hours=72,
           odds_move_threshold=0.05, synced_at=AS_OF)
    insert(con, "markets", venue="polymarket", market_id="604417", slug=BLOCKADE,
           question="US announces new blockade of Iran by July 31?", url=f"https://polymarket.com/event/{BLOCKADE}",
           outcomes=["Yes", "No"], status="open", outcomes_sum_to_one=True,
           first_seen_at="2026-06-02 16:21:00+00", updated_at=AS_OF)
    # followed by slug and by id: still one market
    for ref in (BLOCKADE, "604417"):
        insert(con, "watchlist_markets", watchlist_id="us-iran-talks", venue="polymarket", market_ref=ref)
    # the story in scope: a first report with no speaker or claim, a statement, a plain post
    post(con, "alalamarabic", "52113", "2026-06-28 20:00:00+00", "story-talks")
    post(con, "reuters-world", "r-2030", "2026-06-28 20:30:00+00", "story-talks", speaker_id="araghchi",
         claims=("talks-suspended",))
    post(con, "bbcpersian", "b-2040", "2026-06-28 20:40:00+00", "story-talks")
    # a story out of scope, with a statement of its own
    post(con, "alalamarabic", "51900", "2026-06-28 18:00:00+00", "story-closed", speaker_id="araghchi")
    insert(con, "signal_scope", watchlist_id="us-iran-talks", story_id="story-talks", reason="open",
           as_of=AS_OF, run_id=RUN)
    price(con, "polymarket", "604417", "2026-06-28 18:55:00+00", 0.20)
    price(con, "polymarket", "604417", "2026-06-28 19:30:00+00", 0.22)
    price(con, "polymarket", "604417", "2026-06-28 20:00:00+00", 0.30)     # exactly at the first report
    price(con, "polymarket", "604417", "2026-06-28 20:01:00+00", 0.90)     # a minute after it
    price(con, "polymarket", "604417", "2026-06-28 21:00:00+00", 0.45)
    price(con, "polymarket", "604417", "2026-06-28 21:20:00+00", 0.60)     # after the run's clock
    yield con
    con.close()


def run_model(con) -> list[dict]:
    """Build the model and every model it reads, in dependency order, as a signals run does."""
    models = load_models()
    by_name = {m.name: m for m in models}
    wanted, todo = set(), [MODEL]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].depends_on)
    chain = [m for m in models if m.name in wanted]
    create_views(con, chain)
    refresh_marts(con, chain, set())
    cur = con.execute(f"select * from {MODEL} order by {', '.join(KEY)}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_one_row_per_market_around_each_statement_and_first_report_of_the_stories_in_scope(con):
    rows = run_model(con)

    keys = [tuple(r[c] for c in KEY) for r in rows]
    assert len(keys) == len(set(keys))
    assert keys == [
        ("us-iran-talks", "story-talks", "alalamarabic", "52113", "polymarket", "604417"),
        ("us-iran-talks", "story-talks", "reuters-world", "r-2030", "polymarket", "604417"),
    ]
    first, statement = rows
    assert (first["is_first_report"], first["is_statement"]) == (True, False)
    assert (statement["is_first_report"], statement["is_statement"]) == (False, True)
    assert first["outcome"] == "Yes" and first["question"] == "US announces new blockade of Iran by July 31?"
    assert first["as_of"] == utc("2026-06-28T21:15:00") and first["window_minutes"] == 60


def test_each_price_is_the_last_at_or_before_its_time(con):
    first, statement = run_model(con)

    # 19:00: the 18:55 price, not 19:30's
    assert first["price_before_prob"] == 0.20
    # 20:00: the price at exactly 20:00, not the one a minute later
    assert first["price_at_prob"] == 0.30
    # 21:00 has passed by the run's clock (21:15)
    assert first["price_after_prob"] == 0.45
    # the run's clock: 21:00's price, not 21:20's
    assert first["price_now_prob"] == 0.45
    # the statement at 20:30: 19:30 before, the 20:01 price at, and its hour after (21:30) not yet passed
    assert (statement["price_before_prob"], statement["price_at_prob"]) == (0.22, 0.90)
    assert statement["price_after_prob"] is None
    assert statement["price_now_prob"] == 0.45


def test_a_market_with_no_price_yet_at_a_time_has_none(con):
    con.execute("delete from odds_snapshots where venue_ts < '2026-06-28 20:00:00+00'")

    first, _ = run_model(con)

    assert first["price_before_prob"] is None
    assert first["price_at_prob"] == 0.30
