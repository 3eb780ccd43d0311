"""int_scoped_story_items: the posts of the stories in scope, for each watch list a story matters to."""

TALKS, GULF = "us-iran-talks", "gulf-shipping"


def test_only_scoped_stories_with_a_relevant_post_and_all_their_posts(desk):
    # s-000042: one post relevant to the talks list, one relevant to none; in scope for both lists
    desk.post("reuters", "1939011", "2026-06-28 20:10:37+00", story="s-000042", watchlist_ids=[TALKS],
              claims=["talks-suspended"])
    desk.post("sprinterpress", "1939015", "2026-06-28 20:18:00+00", story="s-000042", text="Developing: Muscat")
    # s-000043: in scope, no post relevant to any list
    desk.post("ajenglish", "1939030", "2026-06-28 20:40:00+00", story="s-000043")
    # s-000017: relevant but closed (not in scope)
    desk.post("alalamarabic", "52001", "2026-06-24 09:00:00+00", story="s-000017", watchlist_ids=[TALKS])
    desk.insert("signal_scope",
                {"watchlist_id": TALKS, "story_id": "s-000042"}, {"watchlist_id": GULF, "story_id": "s-000042"},
                {"watchlist_id": TALKS, "story_id": "s-000043"}, {"watchlist_id": GULF, "story_id": "s-000043"})

    rows = desk.run("int_scoped_story_items")

    assert desk.one_row_per_key("int_scoped_story_items") == [
        (TALKS, "s-000042", "reuters", "1939011"), (TALKS, "s-000042", "sprinterpress", "1939015")]
    assert [r["is_relevant"] for r in rows] == [True, False]


def test_a_post_joins_the_story_it_was_merged_into_and_quarantined_posts_do_not(desk):
    desk.insert("sources", {"source_id": "irna-en", "kind": "rss", "name": "IRNA English", "register": "state-aligned"})
    # the feed declares English; the entry quotes a Persian statement
    desk.post("irna-en", "https://en.irna.ir/news/85912345/", "2026-06-28 20:24:00+00", story="s-000041",
              kind="rss", declared_lang="en", lang="fa", watchlist_ids=[TALKS], speaker_id="baghaei",
              claims=["talks-suspended"])
    # not annotated yet
    desk.post("reuters-world", "https://www.reuters.com/world/iran-talks-2026-06-28/", "2026-06-28 20:45:12+00",
              story="s-000042", kind="rss", declared_lang="en-GB", annotated=False)
    # quarantined: left out
    desk.post("iriran_military", "7702", "2026-06-28 20:50:00+00", story="s-000042", watchlist_ids=[TALKS])
    desk.insert("quarantine", {"table_name": "items", "record_key": "iriran_military/7702"})
    desk.insert("story_merges", {"absorbed_story_id": "s-000041", "into_story_id": "s-000042"})
    desk.insert("signal_scope", {"watchlist_id": TALKS, "story_id": "s-000042"})

    rows = {r["source_id"]: r for r in desk.run("int_scoped_story_items")}

    assert desk.one_row_per_key("int_scoped_story_items") == [
        (TALKS, "s-000042", "irna-en", "https://en.irna.ir/news/85912345/"),
        (TALKS, "s-000042", "reuters-world", "https://www.reuters.com/world/iran-talks-2026-06-28/")]
    irna, feed = rows["irna-en"], rows["reuters-world"]
    assert (irna["outlet_name"], irna["register"], irna["lang"], irna["claims"]) == (
        "IRNA English", "state-aligned", "fa", ["talks-suspended"])
    # no annotation: the declared language, empty lists, not relevant
    assert (feed["lang"], feed["claims"], feed["is_relevant"]) == ("en-GB", [], False)
