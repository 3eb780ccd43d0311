"""stg_watchlist_contradictions: pairs of claims a watch list declares incompatible."""


def test_each_declared_pair_once_per_watch_list(desk):
    desk.insert("watchlist_contradictions",
                {"watchlist_id": "us-iran-talks", "claim_a": "talks-suspended", "claim_b": "talks-on-track"},
                {"watchlist_id": "us-iran-talks", "claim_a": "talks-suspended", "claim_b": "iran-attends-talks"},
                {"watchlist_id": "gulf-shipping", "claim_a": "talks-suspended", "claim_b": "talks-on-track"})

    desk.run("stg_watchlist_contradictions")

    assert desk.one_row_per_key("stg_watchlist_contradictions") == [
        ("gulf-shipping", "talks-suspended", "talks-on-track"),
        ("us-iran-talks", "talks-suspended", "iran-attends-talks"),
        ("us-iran-talks", "talks-suspended", "talks-on-track"),
    ]
