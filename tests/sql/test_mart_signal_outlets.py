"""mart_signal_outlets: the outlets meeting each signal's post part, each by its first independent post."""

TALKS, SIGNAL = "us-iran-talks", "talks-suspended"


def _hit(desk, source_id, item_id, at, **annotation):
    desk.post(source_id, item_id, at, watchlist_ids=[TALKS], claims=[SIGNAL], **annotation)
    desk.insert("signal_item_hits", {"watchlist_id": TALKS, "signal_id": SIGNAL, "source_id": source_id,
                                     "item_id": item_id, "published_at": at})


def test_outlets_in_order_of_their_first_post_relaying_no_other_outlet(desk):
    desk.insert("watchlist_signals", {"watchlist_id": TALKS, "signal_id": SIGNAL, "claims_any": [SIGNAL]})
    desk.insert("sources",
                {"source_id": "reuters", "kind": "x", "name": "Reuters", "outlet": "Reuters"},
                {"source_id": "reuters-world", "kind": "rss", "name": "Reuters World News", "outlet": "Reuters"},
                {"source_id": "alalamarabic", "name": "Al-Alam Arabic", "outlet": "Al-Alam"},
                {"source_id": "bbcpersian", "name": "BBC Persian", "outlet": "BBC Persian"},
                {"source_id": "sepah_news", "name": "Sepah News", "outlet": "Sepah News"})
    _hit(desk, "reuters", "1939011", "2026-06-28 20:10:37+00", url_key="tweet:1939011")
    # another feed of the same outlet: Reuters counts once
    _hit(desk, "reuters-world", "https://www.reuters.com/world/iran-talks-2026-06-28/", "2026-06-28 20:15:00+00")
    _hit(desk, "alalamarabic", "52113", "2026-06-28 20:24:00+00")
    # a forward of Al-Alam: Sepah News is no independent outlet
    _hit(desk, "sepah_news", "31877", "2026-06-28 20:31:00+00", forwarded_key="tg:alalamarabic/52113")
    # BBC Persian first cites Reuters, then reports on its own
    _hit(desk, "bbcpersian", "90211", "2026-06-28 20:41:00+00", cited_source_ids=["reuters"])
    _hit(desk, "bbcpersian", "90230", "2026-06-28 21:10:00+00")

    rows = desk.run("mart_signal_outlets")

    assert desk.one_row_per_key("mart_signal_outlets") == [
        (TALKS, SIGNAL, "Al-Alam"), (TALKS, SIGNAL, "BBC Persian"), (TALKS, SIGNAL, "Reuters")]
    by_order = sorted(rows, key=lambda r: r["outlet_order"])
    assert [(r["outlet"], r["first_source_id"], r["first_item_id"], r["outlet_order"]) for r in by_order] == [
        ("Reuters", "reuters", "1939011", 1),
        ("Al-Alam", "alalamarabic", "52113", 2),
        ("BBC Persian", "bbcpersian", "90230", 3),
    ]
    assert by_order[0]["outlet_name"] == "Reuters"


def test_relaying_a_post_of_its_own_outlet_keeps_a_post_independent(desk):
    desk.insert("watchlist_signals", {"watchlist_id": TALKS, "signal_id": SIGNAL, "claims_any": [SIGNAL]})
    desk.insert("sources",
                {"source_id": "alalamarabic", "name": "Al-Alam Arabic", "outlet": "Al-Alam"},
                {"source_id": "reuters", "kind": "x", "name": "Reuters", "outlet": "Reuters"},
                {"source_id": "reuters-world", "kind": "rss", "name": "Reuters World News", "outlet": "Reuters"})
    # names Reuters, whose post comes later: no relay of it
    _hit(desk, "alalamarabic", "52113", "2026-06-28 20:05:00+00", cited_source_ids=["reuters"])
    # Reuters' tweet cites Al-Alam: a relay
    _hit(desk, "reuters", "1939011", "2026-06-28 20:10:37+00", url_key="tweet:1939011",
         cited_source_ids=["alalamarabic"])
    # its feed links that tweet and names Reuters: its own outlet, so Reuters counts from here
    _hit(desk, "reuters-world", "https://www.reuters.com/world/iran-talks-2026-06-28/", "2026-06-28 20:15:00+00",
         link_keys=["tweet:1939011"], cited_source_ids=["reuters"])

    rows = desk.run("mart_signal_outlets")

    assert [(r["outlet"], r["first_source_id"], r["outlet_order"]) for r in rows] == [
        ("Al-Alam", "alalamarabic", 1), ("Reuters", "reuters-world", 2)]
