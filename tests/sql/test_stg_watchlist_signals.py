"""stg_watchlist_signals: the signals each watch list watches for, with their rules."""


def test_post_and_market_rules_are_kept(desk):
    desk.insert("watchlist_signals",
                {"watchlist_id": "us-iran-talks", "signal_id": "talks-suspended",
                 "title": "Iran cancels, suspends or stays away from the technical talks with the US",
                 "claims_any": ["talks-suspended"]},
                {"watchlist_id": "us-iran-talks", "signal_id": "blockade-odds-move",
                 "title": "The blockade market moves by five points or more", "market_venue": "polymarket",
                 "market_ref": "us-announces-new-blockade-of-iran-by-july-31", "market_move_abs": 0.05},
                {"watchlist_id": "gulf-shipping", "signal_id": "shipping-incident",
                 "claims_any": ["regional-incident"]})

    rows = {r["signal_id"]: r for r in desk.run("stg_watchlist_signals")}

    assert desk.one_row_per_key("stg_watchlist_signals") == [
        ("gulf-shipping", "shipping-incident"), ("us-iran-talks", "blockade-odds-move"),
        ("us-iran-talks", "talks-suspended")]
    assert (rows["talks-suspended"]["has_item_rule"], rows["talks-suspended"]["claims_any"]) == (
        True, ["talks-suspended"])
    market = rows["blockade-odds-move"]
    assert (market["has_item_rule"], market["market_venue"], market["market_ref"], market["market_move_abs"]) == (
        False, "polymarket", "us-announces-new-blockade-of-iran-by-july-31", 0.05)
