"""stg_market_refs: the references (id and slug, lowercased) that name each landed market."""

BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


def test_each_market_by_its_id_and_slug_lowercased_archived_left_out(desk):
    desk.insert("markets",
                {"venue": "polymarket", "market_id": "604417", "slug": BLOCKADE,
                 "url": f"https://polymarket.com/event/{BLOCKADE}"},
                {"venue": "polymarket", "market_id": "598734", "slug": f"{BLOCKADE}-349", "archived": True},
                # the ticker lowercased as slug: one reference
                {"venue": "kalshi", "market_id": "KXUSIRANTALKS-26JUL", "slug": "kxusirantalks-26jul",
                 "question": "Will the US and Iran hold technical talks before Jul 26?"},
                {"venue": "manifold", "market_id": "Qm7tRz2xVc", "slug": "will-iran-send-representatives-to-t",
                 "outcomes": ["No", "Yes"],
                 "question": "Will Iran send representatives to the next technical session?"})

    rows = desk.run("stg_market_refs")

    assert desk.one_row_per_key("stg_market_refs") == [
        ("kalshi", "kxusirantalks-26jul", "KXUSIRANTALKS-26JUL"),
        ("manifold", "qm7trz2xvc", "Qm7tRz2xVc"),
        ("manifold", "will-iran-send-representatives-to-t", "Qm7tRz2xVc"),
        ("polymarket", "604417", "604417"),
        ("polymarket", BLOCKADE, "604417"),
    ]
    assert {r["market_id"]: r["primary_outcome"] for r in rows} == {
        "KXUSIRANTALKS-26JUL": "Yes", "Qm7tRz2xVc": "Yes", "604417": "Yes"}
    assert {r["url"] for r in rows if r["market_id"] == "604417"} == {f"https://polymarket.com/event/{BLOCKADE}"}
