"""stg_story_items: each post's story, following recorded merges."""


def test_a_post_follows_a_chain_of_merges_to_its_story_now(desk):
    desk.insert("story_items",
                {"source_id": "reuters", "item_id": "1939011", "story_id": "s-000041",
                 "published_at": "2026-06-28 20:10:37+00"},
                {"source_id": "alalamarabic", "item_id": "52113", "story_id": "s-000042",
                 "published_at": "2026-06-28 20:24:00+00"},
                {"source_id": "bbcpersian", "item_id": "90211", "story_id": "s-000043",
                 "published_at": "2026-06-28 20:41:00+00"},
                {"source_id": "ajenglish", "item_id": "1939020", "story_id": "s-000050",
                 "published_at": "2026-06-28 15:27:18+00"})
    # s-000041 went into s-000042, which later went into s-000043
    desk.insert("story_merges",
                {"absorbed_story_id": "s-000041", "into_story_id": "s-000042"},
                {"absorbed_story_id": "s-000042", "into_story_id": "s-000043"})

    rows = {r["item_id"]: r for r in desk.run("stg_story_items")}

    assert desk.one_row_per_key("stg_story_items") == [
        ("ajenglish", "1939020"), ("alalamarabic", "52113"), ("bbcpersian", "90211"), ("reuters", "1939011")]
    assert {k: (r["story_id"], r["assigned_story_id"]) for k, r in rows.items()} == {
        "1939011": ("s-000043", "s-000041"),
        "52113": ("s-000043", "s-000042"),
        "90211": ("s-000043", "s-000043"),
        "1939020": ("s-000050", "s-000050"),
    }
