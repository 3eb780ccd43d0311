"""int_relay_links: for each post of a story in scope, the earlier post of the story it relays."""

TALKS, STORY = "us-iran-talks", "s-000042"


def _post(desk, source_id, item_id, at, **fields):
    desk.post(source_id, item_id, at, story=STORY, watchlist_ids=[TALKS], **fields)


def test_strongest_kind_wins_then_the_likeliest_post_and_lag_is_in_minutes(desk):
    _post(desk, "reuters", "1939002", "2026-06-28 19:50:00+00", url_key="tweet:1939002")      # earlier, unrelated
    _post(desk, "reuters", "1939011", "2026-06-28 20:10:37+00", url_key="tweet:1939011",
          speaker_id="iranian-official", claims=["talks-suspended"])
    _post(desk, "alalamarabic", "52113", "2026-06-28 20:24:00+00", speaker_id="iranian-official",
          claims=["talks-suspended", "talks-linked-to-military-action"])
    # forwards Al-Alam and names Reuters: the forward is the stronger link, though Reuters is earlier
    _post(desk, "sepah_news", "31877", "2026-06-28 20:31:00+00", forwarded_key="tg:alalamarabic/52113",
          cited_source_ids=["reuters"])
    # cites Reuters: of its two posts, the one with the same claim
    _post(desk, "bbcpersian", "90211", "2026-06-28 20:41:00+00", cited_source_ids=["reuters"],
          claims=["talks-suspended"])
    # the same speaker and claims (in another order) from another source
    _post(desk, "irna-en", "https://en.irna.ir/news/85912345/", "2026-06-28 21:00:00+00",
          speaker_id="iranian-official", claims=["talks-linked-to-military-action", "talks-suspended"])
    # ... but from the same source it is a repeat, not a relay
    _post(desk, "alalamarabic", "52120", "2026-06-28 20:55:00+00", speaker_id="iranian-official",
          claims=["talks-suspended", "talks-linked-to-military-action"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY})

    rows = desk.run("int_relay_links")

    assert desk.one_row_per_key("int_relay_links") == [
        (TALKS, STORY, "bbcpersian", "90211"),
        (TALKS, STORY, "irna-en", "https://en.irna.ir/news/85912345/"),
        (TALKS, STORY, "sepah_news", "31877"),
    ]
    assert [(r["relay_of_source_id"], r["relay_of_item_id"], r["link_kind"], r["lag_minutes"]) for r in rows] == [
        ("reuters", "1939011", "cites", 31),           # 20:10:37 -> 20:41, counted minute to minute
        ("alalamarabic", "52113", "near-duplicate", 36),
        ("alalamarabic", "52113", "forward", 7),
    ]


def test_a_link_to_a_later_post_or_another_story_is_no_relay(desk):
    _post(desk, "reuters", "1939011", "2026-06-28 20:10:37+00", url_key="tweet:1939011",
          link_keys=["tg:alalamarabic/52113"])
    _post(desk, "alalamarabic", "52113", "2026-06-28 20:24:00+00")
    desk.post("usun", "1939044", "2026-06-28 21:02:00+00", story="s-000043", watchlist_ids=[TALKS],
              link_keys=["tweet:1939011"])
    _post(desk, "ajenglish", "1939050", "2026-06-28 21:15:00+00", link_keys=["tweet:1939011"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY},
                {"watchlist_id": TALKS, "story_id": "s-000043"})

    rows = desk.run("int_relay_links")

    assert desk.one_row_per_key("int_relay_links") == [(TALKS, STORY, "ajenglish", "1939050")]
    assert (rows[0]["relay_of_item_id"], rows[0]["link_kind"], rows[0]["lag_minutes"]) == ("1939011", "cites", 65)
