"""stg_watchlist_markets: the markets each watch list follows, resolved to landed markets."""

BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def _markets(desk):
    desk.insert("markets",
                {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE,
                 "url": f"https://polymarket.com/event/{BLOCKADE}"},
                {"venue": "polymarket", "market_id": "598734", "slug": f"{BLOCKADE}-349", "archived": True},
                # Kalshi markets have no slug: the ticker is the reference
                {"venue": "kalshi", "market_id": "KXUSIRANTALKS-26JUL",
                 "question": "Will the US and Iran hold technical talks before Jul 26?"},
                {"venue": "manifold", "market_id": "Qm7tRz2xVc", "slug": "will-iran-send-representatives-to-t",
                 "outcomes": ["No", "Yes"], "question": "Will Iran send representatives to the next session?"},
                # the same slug at another venue is not the configured market
                {"venue": "manifold", "market_id": "Zz9", "slug": BLOCKADE})


def test_refs_resolve_by_slug_ticker_or_id_at_their_venue_and_archived_ones_are_left_out(desk):
    _markets(desk)
    desk.insert("watchlist_markets",
                {"watchlist_id": "us-iran-talks", "venue": "polymarket", "market_ref": BLOCKADE.upper()},
                {"watchlist_id": "us-iran-talks", "venue": "polymarket", "market_ref": f"{BLOCKADE}-349"},
                {"watchlist_id": "us-iran-talks", "venue": "kalshi", "market_ref": "kxusirantalks-26jul"},
                {"watchlist_id": "us-iran-talks", "venue": "manifold", "market_ref": "Qm7tRz2xVc"},
                {"watchlist_id": "us-iran-talks", "venue": "polymarket", "market_ref": "not-landed-yet"},
                {"watchlist_id": "gulf-shipping", "venue": "polymarket", "market_ref": BLOCKADE})

    rows = {(r["watchlist_id"], r["market_id"]): r for r in desk.run("stg_watchlist_markets")}

    assert desk.one_row_per_key("stg_watchlist_markets") == [
        ("gulf-shipping", "polymarket", "604417"),
        ("us-iran-talks", "kalshi", "KXUSIRANTALKS-26JUL"),
        ("us-iran-talks", "manifold", "Qm7tRz2xVc"),
        ("us-iran-talks", "polymarket", "604417"),
    ]
    assert rows[("us-iran-talks", "Qm7tRz2xVc")]["outcome"] == "Yes"       # the primary outcome, not the first
    assert rows[("us-iran-talks", "604417")]["market_ref"] == BLOCKADE.upper()
    assert rows[("us-iran-talks", "604417")]["url"] == f"https://polymarket.com/event/{BLOCKADE}"


def test_a_market_configured_by_slug_and_by_id_is_one_row(desk):
    # Regression: market_ref was part of a distinct row, so such a market gave two rows for one key.
    _markets(desk)
    desk.insert("watchlist_markets",
                {"watchlist_id": "us-iran-talks", "venue": "polymarket", "market_ref": BLOCKADE},
                {"watchlist_id": "us-iran-talks", "venue": "polymarket", "market_ref": "604417"})

    desk.run("stg_watchlist_markets")

    assert desk.one_row_per_key("stg_watchlist_markets") == [("us-iran-talks", "polymarket", "604417")]
