"""stg_items: posts as last seen, with outlet and register, quarantined rows left out."""


def test_a_quarantined_post_is_left_out_and_only_that_one(desk):
    desk.insert("sources",
                {"source_id": "reuters-world", "kind": "rss", "name": "Reuters World News", "outlet": "Reuters",
                 "register": "western-wire"},
                {"source_id": "alalamarabic", "name": "Al-Alam Arabic", "register": "state-aligned", "language": "ar"})
    # an RSS item id is the entry's link: it holds slashes, the source id does not
    rss_id = "https://www.reuters.com/world/middle-east/iran-talks-2026-06-28/"
    desk.post("reuters-world", rss_id, "2026-06-28 20:10:37+00", annotated=False)
    desk.post("reuters-world", "https://www.reuters.com/world/qatar-2026-06-28/", "2026-06-28 16:02:00+00",
              annotated=False)
    desk.post("alalamarabic", "52113", "2026-06-28 20:24:00+00", annotated=False)
    desk.post("alalamarabic", "52114", "2026-06-28 20:31:00+00", annotated=False)
    desk.insert("quarantine",
                {"table_name": "items", "source_id": "reuters-world", "record_key": f"reuters-world/{rss_id}"},
                # set aside when parsing, landed later: not a validation verdict on the row
                {"table_name": "items", "stage": "parse", "source_id": "alalamarabic",
                 "record_key": "alalamarabic/52113"},
                # another table's row with a look-alike key
                {"table_name": "market_trades", "record_key": "alalamarabic/52114"})

    desk.run("stg_items")

    assert desk.one_row_per_key("stg_items") == [
        ("alalamarabic", "52113"), ("alalamarabic", "52114"),
        ("reuters-world", "https://www.reuters.com/world/qatar-2026-06-28/"),
    ]


def test_outlet_and_register_come_from_the_source_else_unknown(desk):
    desk.insert("sources", {"source_id": "reuters-world", "kind": "rss", "name": "Reuters World News",
                            "outlet": "Reuters", "register": "western-wire"})
    desk.post("reuters-world", "r1", "2026-06-28 20:10:37+00", annotated=False)
    desk.post("levant_dispatch", "881", "2026-06-28 20:45:12+00", annotated=False)    # not configured

    rows = {r["source_id"]: r for r in desk.run("stg_items")}

    assert (rows["reuters-world"]["outlet_name"], rows["reuters-world"]["outlet"],
            rows["reuters-world"]["register"]) == ("Reuters World News", "Reuters", "western-wire")
    assert (rows["levant_dispatch"]["outlet_name"], rows["levant_dispatch"]["outlet"],
            rows["levant_dispatch"]["register"]) == ("levant_dispatch", "levant_dispatch", "unknown")
    assert rows["reuters-world"]["published_minute"].isoformat() == "2026-06-28T20:10:00+00:00"
