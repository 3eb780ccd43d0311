"""stg_watchlists: the watch lists, as synced from their configuration."""


def test_window_and_threshold_per_watch_list(desk):
    desk.insert("watchlists",
                {"watchlist_id": "us-iran-talks", "title": "US–Iran technical talks", "window_hours": 72},
                {"watchlist_id": "gulf-shipping", "title": "Gulf shipping and regional incidents", "window_hours": 48,
                 "odds_move_threshold": 0.03})

    rows = {r["watchlist_id"]: r for r in desk.run("stg_watchlists")}

    assert desk.one_row_per_key("stg_watchlists") == [("gulf-shipping",), ("us-iran-talks",)]
    assert (rows["gulf-shipping"]["window_hours"], rows["gulf-shipping"]["odds_move_threshold"]) == (48, 0.03)
    assert rows["us-iran-talks"]["title"] == "US–Iran technical talks"
