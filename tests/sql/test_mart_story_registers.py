"""mart_story_registers: each story's coverage by register, side by side."""

TALKS, STORY, OTHER = "us-iran-talks", "s-000042", "s-000043"


def test_per_register_counts_share_and_who_arrived_first(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS})
    desk.insert("sources",
                {"source_id": "reuters", "kind": "x", "name": "Reuters", "register": "western-wire"},
                {"source_id": "alalamarabic", "name": "Al-Alam Arabic", "register": "state-aligned"},
                {"source_id": "sepah_news", "name": "Sepah News", "register": "state-aligned"})
    # inserted out of time order on purpose
    desk.post("alalamarabic", "52120", "2026-06-28 20:55:00+00", story=STORY, speaker_id="iranian-official")
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="iranian-official", claims=["talks-suspended"])
    desk.post("sepah_news", "31877", "2026-06-28 20:18:00+00", story=STORY)
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, url_key="tweet:1939011")
    # another story of the list: its share is its own
    desk.post("alalamarabic", "52130", "2026-06-28 21:40:00+00", story=OTHER, watchlist_ids=[TALKS])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY}, {"watchlist_id": TALKS, "story_id": OTHER})

    rows = {(r["story_id"], r["register"]): r for r in desk.run("mart_story_registers")}

    assert desk.one_row_per_key("mart_story_registers") == [
        (TALKS, STORY, "state-aligned"), (TALKS, STORY, "western-wire"), (TALKS, OTHER, "state-aligned")]
    state, wire = rows[(STORY, "state-aligned")], rows[(STORY, "western-wire")]
    assert (state["items"], state["sources"], state["statements"], state["share_of_volume"]) == (3, 2, 2, 0.75)
    assert (state["first_source_id"], state["first_item_id"]) == ("sepah_news", "31877")
    assert state["outlets"] == ["Al-Alam Arabic", "Sepah News"]
    assert (wire["items"], wire["share_of_volume"], wire["order_of_arrival"]) == (1, 0.25, 1)
    assert state["order_of_arrival"] == 2
    assert rows[(OTHER, "state-aligned")]["share_of_volume"] == 1.0
