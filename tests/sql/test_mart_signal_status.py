"""mart_signal_status: each watch list's signals, seen or not, with the evidence and the level."""
import json

TALKS = "us-iran-talks"
BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def _hit(desk, signal_id, source_id, item_id, at):
    desk.insert("signal_item_hits", {"watchlist_id": TALKS, "signal_id": signal_id, "source_id": source_id,
                                     "item_id": item_id, "published_at": at, "why": f"claim {signal_id}"})


def _blockade_odds(desk, *points):
    desk.insert("markets", {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE,
                            "url": f"https://polymarket.com/event/{BLOCKADE}"})
    desk.insert("odds_snapshots", *[
        {"venue": "polymarket", "market_id": "604417", "venue_ts": ts, "price_prob": p}
        for ts, p in points])


def test_post_signals_seen_corroborated_by_two_outlets_or_not_seen(desk):
    desk.insert("watchlist_signals",
                {"watchlist_id": TALKS, "signal_id": "talks-suspended", "claims_any": ["talks-suspended"]},
                {"watchlist_id": TALKS, "signal_id": "memorandum-scope", "claims_any": ["memorandum-scope"]},
                {"watchlist_id": TALKS, "signal_id": "iran-attends-next-session", "claims_any": ["iran-attends-talks"]})
    _hit(desk, "talks-suspended", "alalamarabic", "52113", "2026-06-28 20:24:00+00")
    _hit(desk, "talks-suspended", "reuters", "1939011", "2026-06-28 20:10:37+00")
    _hit(desk, "talks-suspended", "reuters", "1939020", "2026-06-28 20:50:00+00")
    _hit(desk, "memorandum-scope", "iranmfa", "3101", "2026-06-28 09:12:00+00")

    rows = {r["signal_id"]: r for r in desk.run("mart_signal_status")}

    assert desk.one_row_per_key("mart_signal_status") == [
        (TALKS, "iran-attends-next-session"), (TALKS, "memorandum-scope"), (TALKS, "talks-suspended")]
    suspended = rows["talks-suspended"]
    assert (suspended["status"], suspended["level"], suspended["outlets"], suspended["evidence_count"]) == (
        "seen", "corroborated", 2, 3)
    assert suspended["first_seen_at"].isoformat() == "2026-06-28T20:10:37+00:00"
    assert suspended["last_seen_at"].isoformat() == "2026-06-28T20:50:00+00:00"
    # corroborated once the second outlet posted
    assert suspended["level_since"].isoformat() == "2026-06-28T20:24:00+00:00"
    assert [e["item_id"] for e in json.loads(suspended["evidence"])] == ["1939011", "52113", "1939020"]
    scope = rows["memorandum-scope"]
    assert (scope["status"], scope["level"], scope["level_since"]) == ("seen", "seen", scope["first_seen_at"])
    unseen = rows["iran-attends-next-session"]
    assert (unseen["status"], unseen["level"], unseen["evidence_count"], unseen["outlets"]) == (
        "not seen", "not seen", 0, 0)
    assert (unseen["first_seen_at"], unseen["level_since"], json.loads(unseen["evidence"])) == (None, None, [])


def test_a_market_move_counts_once_when_it_starts(desk):
    desk.insert("watchlist_signals",
                {"watchlist_id": TALKS, "signal_id": "blockade-odds-move", "market_venue": "polymarket",
                 "market_ref": BLOCKADE, "market_move_abs": 0.05},
                # an archived duplicate's odds are stale: a rule naming it is never met
                {"watchlist_id": TALKS, "signal_id": "archived-odds-move", "market_venue": "polymarket",
                 "market_ref": f"{BLOCKADE}-349", "market_move_abs": 0.05})
    _blockade_odds(desk, ("2026-06-27 20:00:00+00", 0.15), ("2026-06-28 08:00:00+00", 0.19),
                   ("2026-06-28 20:00:00+00", 0.21),    # +6 points on 24 hours before: the move starts
                   ("2026-06-28 21:00:00+00", 0.22))    # +7 points: the same move, still holding
    # the other outcome moves too, but the rule follows Yes
    desk.insert("odds_snapshots", *[{"venue": "polymarket", "market_id": "604417", "outcome": "No", "venue_ts": ts,
                                     "price_prob": p}
                                    for ts, p in [("2026-06-27 12:00:00+00", 0.85), ("2026-06-28 12:00:00+00", 0.79)]])
    desk.insert("markets", {"venue": "polymarket", "market_id": "598734", "slug": f"{BLOCKADE}-349", "archived": True})
    desk.insert("odds_snapshots", *[{"venue": "polymarket", "market_id": "598734", "venue_ts": ts, "price_prob": p}
                                    for ts, p in [("2026-06-27 20:00:00+00", 0.10), ("2026-06-28 20:00:00+00", 0.40)]])

    rows = {r["signal_id"]: r for r in desk.run("mart_signal_status")}

    assert desk.one_row_per_key("mart_signal_status") == [(TALKS, "archived-odds-move"), (TALKS, "blockade-odds-move")]
    move = rows["blockade-odds-move"]
    assert (move["status"], move["level"], move["evidence_count"]) == ("seen", "seen", 1)
    assert move["first_seen_at"].isoformat() == "2026-06-28T20:00:00+00:00"
    assert [e["why"] for e in json.loads(move["evidence"])] == ["Yes at 21.0% (+6.0 pts in 24 h)"]
    assert (rows["archived-odds-move"]["status"], rows["archived-odds-move"]["evidence_count"]) == ("not seen", 0)


def test_a_rule_with_a_post_and_a_market_part_is_seen_once_both_are_met(desk):
    desk.insert("watchlist_signals",
                {"watchlist_id": TALKS, "signal_id": "suspended-and-blockade-above-20",
                 "claims_any": ["talks-suspended"], "market_venue": "polymarket", "market_ref": BLOCKADE,
                 "market_above": 0.20},
                {"watchlist_id": TALKS, "signal_id": "suspended-and-blockade-above-50",
                 "claims_any": ["talks-suspended"], "market_venue": "polymarket", "market_ref": BLOCKADE,
                 "market_above": 0.50})
    _blockade_odds(desk, ("2026-06-28 19:00:00+00", 0.18), ("2026-06-28 21:00:00+00", 0.22))
    _hit(desk, "suspended-and-blockade-above-20", "reuters", "1939011", "2026-06-28 20:10:37+00")
    _hit(desk, "suspended-and-blockade-above-50", "reuters", "1939011", "2026-06-28 20:10:37+00")

    rows = {r["signal_id"]: r for r in desk.run("mart_signal_status")}

    met = rows["suspended-and-blockade-above-20"]
    assert (met["status"], met["evidence_count"]) == ("seen", 2)
    # the later of the post (20:10) and the price (21:00)
    assert met["first_seen_at"].isoformat() == "2026-06-28T21:00:00+00:00"
    half = rows["suspended-and-blockade-above-50"]
    assert (half["status"], half["first_seen_at"], half["last_seen_at"], half["evidence_count"]) == (
        "not seen", None, None, 1)
