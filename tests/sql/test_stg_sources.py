"""stg_sources: the configured sources."""


def test_outlet_name_is_the_source_name_and_outlet_what_posts_cite(desk):
    desk.insert("sources",
                {"source_id": "reuters", "kind": "x", "handle": "reuters", "name": "Reuters",
                 "register": "western-wire"},
                {"source_id": "reuters-world", "kind": "rss", "url": "https://mirror.example/rss/reuters-world.xml",
                 "name": "Reuters World News", "outlet": "Reuters", "register": "western-wire"},
                {"source_id": "iranmfa", "handle": "iranmfa", "name": "Iran Ministry of Foreign Affairs",
                 "register": "official", "language": "fa", "enabled": False})

    rows = {r["source_id"]: r for r in desk.run("stg_sources")}

    assert desk.one_row_per_key("stg_sources") == [("iranmfa",), ("reuters",), ("reuters-world",)]
    assert (rows["reuters-world"]["outlet_name"], rows["reuters-world"]["outlet"]) == ("Reuters World News", "Reuters")
    assert (rows["iranmfa"]["register"], rows["iranmfa"]["language"], rows["iranmfa"]["enabled"]) == (
        "official", "fa", False)
