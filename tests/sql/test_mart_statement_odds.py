"""mart_statement_odds: each followed market in the hour before and after each statement of a story."""
from pytest import approx

TALKS, STORY = "us-iran-talks", "s-000042"
BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def test_statements_only_and_the_hour_after_stays_empty_until_it_has_passed(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS})
    desk.insert("markets", {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE})
    desk.insert("watchlist_markets", {"watchlist_id": TALKS, "venue": "polymarket", "market_ref": BLOCKADE})
    desk.insert("odds_snapshots", *[
        {"venue": "polymarket", "market_id": "604417", "venue_ts": f"2026-06-28 {t}:00+00", "price_prob": p}
        for t, p in [("19:00", 0.15), ("20:20", 0.17), ("20:30", 0.22), ("21:20", 0.25),
                     ("22:00", 0.30)]])     # landed, but after the run's clock
    # a first report that is no statement: no row
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, watchlist_ids=[TALKS])
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="iranian-official", claims=["talks-suspended"])
    desk.post("usun", "1939044", "2026-06-28 21:02:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="senior-us-official", claims=["talks-on-track"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": "2026-06-28 21:30:00+00"})

    rows = {r["source_id"]: r for r in desk.run("mart_statement_odds")}

    assert desk.one_row_per_key("mart_statement_odds") == [
        (TALKS, STORY, "alalamarabic", "52113", "polymarket", "604417"),
        (TALKS, STORY, "usun", "1939044", "polymarket", "604417")]
    alalam, usun = rows["alalamarabic"], rows["usun"]
    # 19:24, 20:24 and 21:24: the last price at or before each
    assert (alalam["price_before_prob"], alalam["price_at_prob"], alalam["price_after_prob"]) == (0.15, 0.17, 0.25)
    assert (alalam["move_before_prob"], alalam["move_after_prob"]) == (approx(0.02), approx(0.08))
    # 22:02 is after the run's clock 21:30
    assert (usun["price_at_prob"], usun["price_after_prob"], usun["move_after_prob"]) == (0.22, None, None)
    assert alalam["window_minutes"] == 60
