"""mart_relays: every relay in the stories that matter, with the post it relays."""

TALKS, GULF, STORY = "us-iran-talks", "gulf-shipping", "s-000042"


def test_one_row_per_relaying_post_though_the_story_matters_to_two_watch_lists(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS}, {"watchlist_id": GULF, "window_hours": 48})
    desk.insert("sources", {"source_id": "alalamarabic", "name": "Al-Alam Arabic"},
                {"source_id": "sepah_news", "name": "Sepah News", "language": "fa"})
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS, GULF],
              claims=["talks-suspended"])
    desk.post("sepah_news", "31877", "2026-06-28 20:31:00+00", story=STORY, forwarded_key="tg:alalamarabic/52113")
    desk.post("bbcpersian", "90211", "2026-06-28 20:41:00+00", story=STORY, cited_source_ids=["alalamarabic"])
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, url_key="tweet:1939011")
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY}, {"watchlist_id": GULF, "story_id": STORY})

    rows = desk.run("mart_relays")

    assert desk.one_row_per_key("mart_relays") == [("bbcpersian", "90211"), ("sepah_news", "31877")]
    bbc, sepah = rows
    assert (sepah["relay_of_item_id"], sepah["link_kind"], sepah["lag_minutes"]) == ("52113", "forward", 7)
    assert (sepah["outlet_name"], sepah["relay_of_outlet_name"], sepah["relay_of_url"]) == (
        "Sepah News", "Al-Alam Arabic", "https://t.me/alalamarabic/52113")
    assert (bbc["relay_of_item_id"], bbc["link_kind"], bbc["lag_minutes"]) == ("52113", "cites", 17)
