"""stg_signal_item_hits: posts meeting the post part of a signal's rule, with why."""


def test_each_hit_is_kept_with_its_reason(desk):
    desk.insert("signal_item_hits",
                {"watchlist_id": "us-iran-talks", "signal_id": "talks-suspended", "source_id": "reuters",
                 "item_id": "1939011", "published_at": "2026-06-28 20:10:37+00", "why": "claim talks-suspended"},
                {"watchlist_id": "us-iran-talks", "signal_id": "talks-suspended", "source_id": "alalamarabic",
                 "item_id": "52113", "published_at": "2026-06-28 20:24:00+00", "why": "claim talks-suspended"},
                # the same post meets another watch list's signal
                {"watchlist_id": "gulf-shipping", "signal_id": "shipping-incident", "source_id": "reuters",
                 "item_id": "1939011", "published_at": "2026-06-28 20:10:37+00", "why": "claim regional-incident"})

    rows = desk.run("stg_signal_item_hits")

    assert desk.one_row_per_key("stg_signal_item_hits") == [
        ("gulf-shipping", "shipping-incident", "reuters", "1939011"),
        ("us-iran-talks", "talks-suspended", "alalamarabic", "52113"),
        ("us-iran-talks", "talks-suspended", "reuters", "1939011"),
    ]
    assert [r["why"] for r in rows] == ["claim regional-incident", "claim talks-suspended", "claim talks-suspended"]
    assert rows[1]["url"] == "https://t.me/alalamarabic/52113"
