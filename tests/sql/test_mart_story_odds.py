"""mart_story_odds: the followed markets beside each story: price before, at and since the first report."""
from pytest import approx

TALKS, STORY = "us-iran-talks", "s-000042"
BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def _odds(market_id, *points, venue="polymarket", outcome="Yes"):
    return [{"venue": venue, "market_id": market_id, "outcome": outcome, "venue_ts": f"2026-06-28 {t}:00+00",
             "price_prob": p} for t, p in points]


def test_prices_as_of_each_moment_pick_the_last_point_at_or_before_it(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "odds_move_threshold": 0.05})
    desk.insert("markets",
                {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE},
                {"venue": "polymarket", "market_id": "598734", "slug": f"{BLOCKADE}-349", "archived": True},
                {"venue": "kalshi", "market_id": "KXUSIRANTALKS-26JUL",
                 "question": "Will the US and Iran hold technical talks before Jul 26?"})
    desk.insert("watchlist_markets",
                {"watchlist_id": TALKS, "venue": "polymarket", "market_ref": BLOCKADE},
                {"watchlist_id": TALKS, "venue": "polymarket", "market_ref": f"{BLOCKADE}-349"},
                {"watchlist_id": TALKS, "venue": "kalshi", "market_ref": "KXUSIRANTALKS-26JUL"})
    desk.insert("odds_snapshots",
                *_odds("604417", ("19:00", 0.15), ("20:00", 0.16), ("20:10", 0.22), ("21:00", 0.24),
                       ("21:03", 0.95),     # quarantined below
                       ("22:00", 0.30)),    # after the run's clock
                *_odds("604417", ("21:04", 0.76), outcome="No"),      # not the followed outcome
                *_odds("598734", ("20:10", 0.5)),
                *_odds("KXUSIRANTALKS-26JUL", ("20:30", 0.42), ("21:00", 0.40), venue="kalshi"))
    desk.insert("quarantine",
                {"table_name": "odds_snapshots", "record_key": "polymarket/604417/Yes/2026-06-28T21:03:00Z"})
    # first reported at 20:10 sharp, the run's clock 21:05
    desk.post("reuters", "1939011", "2026-06-28 20:10:00+00", story=STORY, watchlist_ids=[TALKS])
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, claims=["talks-suspended"])
    desk.post("reuters", "1939020", "2026-06-28 20:50:00+00", story=STORY, claims=["talks-suspended"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": "2026-06-28 21:05:00+00"})

    rows = {r["market_id"]: r for r in desk.run("mart_story_odds")}

    assert desk.one_row_per_key("mart_story_odds") == [
        (TALKS, STORY, "kalshi", "KXUSIRANTALKS-26JUL"), (TALKS, STORY, "polymarket", "604417")]
    blockade = rows["604417"]
    assert (blockade["price_before_first_report_prob"], blockade["price_at_first_report_prob"],
            blockade["price_now_prob"]) == (0.15, 0.22, 0.24)
    assert blockade["move_since_first_report_prob"] == approx(0.02)
    assert blockade["move_before_first_report_prob"] == approx(0.07)
    assert blockade["moved_before_first_report"] is True
    # no price yet at the first report: no move, not "moved"
    talks = rows["KXUSIRANTALKS-26JUL"]
    assert (talks["price_at_first_report_prob"], talks["price_now_prob"], talks["moved_before_first_report"]) == (
        None, 0.40, False)


def test_a_move_of_exactly_the_threshold_counts_despite_float_rounding(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "odds_move_threshold": 0.05})
    desk.insert("markets", {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE})
    desk.insert("watchlist_markets", {"watchlist_id": TALKS, "venue": "polymarket", "market_ref": BLOCKADE})
    # 0.25 - 0.20 is 0.04999999999999999 in floating point
    desk.insert("odds_snapshots", *_odds("604417", ("19:00", 0.20), ("20:05", 0.25)))
    desk.post("reuters", "1939011", "2026-06-28 20:10:00+00", story=STORY, watchlist_ids=[TALKS])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": "2026-06-28 21:05:00+00"})

    rows = desk.run("mart_story_odds")

    assert (rows[0]["move_before_first_report_prob"], rows[0]["moved_before_first_report"]) == (0.05, True)
