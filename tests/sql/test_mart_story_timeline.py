"""mart_story_timeline: the statement timeline of each story that matters to a watch list."""

TALKS, GULF, STORY = "us-iran-talks", "gulf-shipping", "s-000042"


def _watchlists(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "window_hours": 72}, {"watchlist_id": GULF, "window_hours": 48})
    desk.insert("sources", {"source_id": "irna-en", "kind": "rss", "name": "IRNA English"},
                {"source_id": "alalamarabic", "name": "Al-Alam Arabic"})


def test_posts_are_in_time_order_with_the_first_report_statements_and_relays(desk):
    _watchlists(desk)
    # inserted out of time order on purpose
    desk.post("sepah_news", "31877", "2026-06-28 20:31:00+00", story=STORY, watchlist_ids=[TALKS],
              forwarded_key="tg:alalamarabic/52113", lang="fa")
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS], lang="ar",
              speaker_id="iranian-official", speech_act="announced", claims=["talks-suspended"])
    # a speaker without a claim is a statement too
    desk.post("bbcpersian", "90211", "2026-06-28 20:31:00+00", story=STORY, watchlist_ids=[TALKS], lang="fa",
              speaker_id="baghaei", speech_act="said")
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, url_key="tweet:1939011",
              text="Iran's delegation absent from Muscat session, diplomats say")
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY})

    rows = desk.run("mart_story_timeline")
    in_order = sorted(rows, key=lambda r: r["position_in_story"])

    assert desk.one_row_per_key("mart_story_timeline") == [
        (TALKS, STORY, "alalamarabic", "52113"), (TALKS, STORY, "bbcpersian", "90211"),
        (TALKS, STORY, "reuters", "1939011"), (TALKS, STORY, "sepah_news", "31877")]
    # same minute: source then item breaks the tie
    assert [(r["source_id"], r["position_in_story"]) for r in in_order] == [
        ("reuters", 1), ("alalamarabic", 2), ("bbcpersian", 3), ("sepah_news", 4)]
    assert [r["is_first_report"] for r in in_order] == [True, False, False, False]
    assert [r["is_statement"] for r in in_order] == [False, True, True, False]
    sepah = in_order[3]
    assert (sepah["relay_of_source_id"], sepah["relay_of_item_id"], sepah["relay_kind"],
            sepah["relay_lag_minutes"]) == ("alalamarabic", "52113", "forward", 7)


def test_first_report_of_a_claim_is_the_watch_lists_earliest_in_its_window_from_any_story(desk):
    _watchlists(desk)
    # too old: more than 72 hours before the post
    desk.post("alalamarabic", "51877", "2026-06-24 10:00:00+00", story="s-000010", watchlist_ids=[TALKS],
              claims=["talks-suspended"])
    # another watch list's post only
    desk.post("ajenglish", "1938990", "2026-06-28 18:00:00+00", story="s-000029", watchlist_ids=[GULF],
              claims=["talks-suspended"])
    # the watch list's first in the window, in another story that is not being recomputed
    desk.post("irna-en", "https://en.irna.ir/news/85912301/", "2026-06-28 19:00:00+00", story="s-000030",
              watchlist_ids=[TALKS], claims=["talks-suspended"])
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story=STORY, watchlist_ids=[TALKS])
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="iranian-official", claims=["talks-suspended", "talks-linked-to-military-action"])
    # 75 hours after IRNA's: IRNA's and Al-Alam's are out of its window, so it reports the claim first again
    desk.post("iranmfa", "3140", "2026-07-01 22:00:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="baghaei", claims=["talks-suspended"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY})

    rows = {r["item_id"]: r for r in desk.run("mart_story_timeline")}

    assert desk.one_row_per_key("mart_story_timeline") == [
        (TALKS, STORY, "alalamarabic", "52113"), (TALKS, STORY, "iranmfa", "3140"),
        (TALKS, STORY, "reuters", "1939011")]
    post = rows["52113"]
    assert post["first_report_claims"] == ["talks-linked-to-military-action"]
    firsts = {f["claim"]: f for f in post["claim_first_reports"]}
    assert (firsts["talks-suspended"]["source_id"], firsts["talks-suspended"]["story_id"],
            firsts["talks-suspended"]["outlet_name"]) == ("irna-en", "s-000030", "IRNA English")
    assert firsts["talks-linked-to-military-action"]["item_id"] == "52113"
    assert rows["3140"]["first_report_claims"] == ["talks-suspended"]
    assert (rows["1939011"]["first_report_claims"], rows["1939011"]["claim_first_reports"]) == ([], [])


def test_a_post_not_relevant_to_the_list_still_reports_its_own_claim_first(desk):
    _watchlists(desk)
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS],
              claims=["talks-suspended"])
    # relevant to the shipping list only, in a story that matters to the talks list
    desk.post("ajenglish", "1939030", "2026-06-28 20:40:00+00", story=STORY, watchlist_ids=[GULF],
              claims=["regional-incident"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY})

    rows = {r["item_id"]: r for r in desk.run("mart_story_timeline")}

    assert desk.one_row_per_key("mart_story_timeline") == [
        (TALKS, STORY, "ajenglish", "1939030"), (TALKS, STORY, "alalamarabic", "52113")]
    assert rows["1939030"]["first_report_claims"] == ["regional-incident"]
    assert rows["1939030"]["claim_first_reports"][0]["item_id"] == "1939030"
