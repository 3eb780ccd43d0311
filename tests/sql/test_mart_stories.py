"""mart_stories: the stories that matter to each watch list, with first report and reach."""

TALKS, STORY, OLD = "us-iran-talks", "s-000042", "s-000030"
AS_OF = "2026-06-29 07:00:00+00"


def test_headline_first_report_reach_and_whether_the_story_is_open(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "window_hours": 72})
    desk.insert("sources", {"source_id": "reuters", "kind": "x", "name": "Reuters", "register": "western-wire"})
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, watchlist_ids=[TALKS],
              url_key="tweet:1939011", url="https://x.com/Reuters/status/1939011",
              text="Iran's delegation absent from Muscat session, diplomats say")
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS], lang="ar",
              speaker_id="iranian-official", speaker_name="an Iranian official", claims=["talks-suspended"],
              text="عاجل | إيران لن ترسل وفدها إلى جولة المحادثات الفنية مع واشنطن")
    desk.post("sepah_news", "31877", "2026-06-28 20:31:00+00", story=STORY, lang="fa",
              forwarded_key="tg:alalamarabic/52113")
    # readers want English first and a statement before a mention: this line, though Reuters was earlier
    desk.post("ajenglish", "1939030", "2026-06-28 20:50:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="baghaei", speaker_name="Esmaeil Baghaei", claims=["talks-linked-to-military-action"],
              text="Iran suspends technical talks with US https://aje.io/q7x2kd\nMore to follow")
    # a feed entry "title  body", last seen four days before the run: closed
    desk.post("reuters-world", "https://www.reuters.com/world/qatar-2026-06-25/", "2026-06-25 10:00:00+00",
              story=OLD, watchlist_ids=[TALKS],
              text="Qatar reports first citizen killed by shrapnel  DOHA, June 25 (Reuters) - Qatar said")
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": AS_OF},
                {"watchlist_id": TALKS, "story_id": OLD, "as_of": AS_OF, "reason": "touched"})

    rows = {r["story_id"]: r for r in desk.run("mart_stories")}

    assert desk.one_row_per_key("mart_stories") == [(TALKS, OLD), (TALKS, STORY)]
    story = rows[STORY]
    assert story["headline"] == "Iran suspends technical talks with US"
    assert (story["first_source_id"], story["first_item_id"], story["first_url"], story["first_register"]) == (
        "reuters", "1939011", "https://x.com/Reuters/status/1939011", "western-wire")
    assert (story["items"], story["statements"], story["sources"], story["relays"]) == (4, 2, 4, 1)
    assert (story["languages"], story["speakers"]) == (["ar", "en", "fa"], ["Esmaeil Baghaei", "an Iranian official"])
    assert story["claims"] == ["talks-linked-to-military-action", "talks-suspended"]
    assert (story["is_open"], rows[OLD]["is_open"]) == (True, False)
    assert rows[OLD]["headline"] == "Qatar reports first citizen killed by shrapnel"
    assert story["computed_as_of"].isoformat() == "2026-06-29T07:00:00+00:00"


def test_a_story_out_of_scope_keeps_the_row_its_last_run_computed(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "window_hours": 72})
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, watchlist_ids=[TALKS])
    desk.post("alalamarabic", "52001", "2026-06-25 10:00:00+00", story=OLD, watchlist_ids=[TALKS])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": "2026-06-28 21:05:00+00"},
                {"watchlist_id": TALKS, "story_id": OLD, "as_of": "2026-06-28 21:05:00+00"})
    desk.run("mart_stories")
    # the next run recomputes the open story only
    desk.con.execute("delete from signal_scope")
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY, "as_of": "2026-06-28 22:05:00+00"})
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS])

    rows = {r["story_id"]: r for r in desk.run("mart_stories")}

    assert desk.one_row_per_key("mart_stories") == [(TALKS, OLD), (TALKS, STORY)]
    assert (rows[OLD]["items"], rows[OLD]["computed_as_of"].isoformat()) == (1, "2026-06-28T21:05:00+00:00")
    assert (rows[STORY]["items"], rows[STORY]["computed_as_of"].isoformat()) == (2, "2026-06-28T22:05:00+00:00")
