"""mart_contradictions: incompatible claims by different speakers in one story, within the window."""

TALKS, STORY = "us-iran-talks", "s-000042"


def test_a_pair_needs_asserted_claims_two_claimants_and_the_window(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "window_hours": 72})
    desk.insert("watchlist_contradictions",
                {"watchlist_id": TALKS, "claim_a": "talks-suspended", "claim_b": "talks-on-track"})
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="iranian-official", speaker_name="an Iranian official", claims=["talks-suspended"])
    desk.post("usun", "1939044", "2026-06-28 21:02:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="senior-us-official", claims=["talks-on-track"], quotes=["Nothing has been cancelled"])
    # a denial of "on track" is kept as a stance, not as a claim made: no pair
    desk.post("iranmfa", "3120", "2026-06-28 21:30:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="baghaei", claim_stances=[{"claim": "talks-on-track", "stance": "denied", "score": 0.93,
                                                    "matched_by": "meaning"}])
    # the same speaker saying both is no contradiction between two sides
    desk.post("irna-en", "https://en.irna.ir/news/85912360/", "2026-06-28 22:00:00+00", story=STORY,
              watchlist_ids=[TALKS], speaker_id="iranian-official", claims=["talks-on-track"])
    # four days later: outside the 72-hour window
    desk.post("axios", "1940100", "2026-07-02 21:00:00+00", story=STORY, watchlist_ids=[TALKS],
              speaker_id="witkoff", claims=["talks-on-track"])
    # another story: no pair across stories
    desk.post("axios", "1939070", "2026-06-28 22:30:00+00", story="s-000043", watchlist_ids=[TALKS],
              speaker_id="leavitt", claims=["talks-on-track"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY},
                {"watchlist_id": TALKS, "story_id": "s-000043"})

    rows = desk.run("mart_contradictions")

    assert desk.one_row_per_key("mart_contradictions") == [
        (TALKS, STORY, "talks-suspended", "alalamarabic", "52113", "talks-on-track", "usun", "1939044")]
    assert (rows[0]["speaker_a"], rows[0]["quotes_b"], rows[0]["pair_rank"]) == (
        "an Iranian official", ["Nothing has been cancelled"], 1)


def test_unattributed_claims_contradict_across_sources_and_pairs_are_ranked_by_time(desk):
    desk.insert("watchlists", {"watchlist_id": TALKS, "window_hours": 72})
    desk.insert("watchlist_contradictions",
                {"watchlist_id": TALKS, "claim_a": "talks-suspended", "claim_b": "iran-attends-talks"})
    desk.post("sepah_news", "31877", "2026-06-28 20:31:00+00", story=STORY, watchlist_ids=[TALKS],
              claims=["talks-suspended"])
    desk.post("axios", "1939060", "2026-06-29 09:00:00+00", story=STORY, watchlist_ids=[TALKS],
              claims=["iran-attends-talks"])
    desk.post("usun", "1939052", "2026-06-29 08:00:00+00", story=STORY, watchlist_ids=[TALKS],
              claims=["iran-attends-talks"])
    # unattributed and from the same source: one claimant, no pair
    desk.post("sepah_news", "31890", "2026-06-29 10:00:00+00", story=STORY, watchlist_ids=[TALKS],
              claims=["iran-attends-talks"])
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": STORY})

    rows = desk.run("mart_contradictions")

    assert [key[3:] for key in desk.one_row_per_key("mart_contradictions")] == [
        ("sepah_news", "31877", "iran-attends-talks", "axios", "1939060"),
        ("sepah_news", "31877", "iran-attends-talks", "usun", "1939052")]
    # the pair complete earliest ranks first
    assert [(r["source_id_b"], r["pair_rank"]) for r in sorted(rows, key=lambda r: r["pair_rank"])] == [
        ("usun", 1), ("axios", 2)]
