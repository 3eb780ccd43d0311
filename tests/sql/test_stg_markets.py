"""stg_markets: markets with the outcome the desk follows."""


def test_primary_outcome_is_yes_wherever_it_is_else_the_first(desk):
    desk.insert("markets",
                {"venue": "polymarket", "market_id": "604417",
                 "slug": "us-announces-new-blockade-of-iran-by-july-31", "outcomes": ["Yes", "No"]},
                {"venue": "manifold", "market_id": "Qm7tRz2xVc", "outcomes": ["No", "Yes"],
                 "question": "Will Iran send representatives to the next technical session?"},
                {"venue": "polymarket", "market_id": "611900", "outcomes": ["Araqchi", "Larijani", "Other"],
                 "question": "Who will lead Iran's delegation?"})

    rows = {r["market_id"]: r for r in desk.run("stg_markets")}

    assert desk.one_row_per_key("stg_markets") == [
        ("manifold", "Qm7tRz2xVc"), ("polymarket", "604417"), ("polymarket", "611900")]
    assert rows["Qm7tRz2xVc"]["primary_outcome"] == "Yes"
    assert rows["604417"]["primary_outcome"] == "Yes"
    assert rows["611900"]["primary_outcome"] == "Araqchi"


def test_archived_is_flagged_and_null_means_not_archived(desk):
    desk.insert("markets",
                {"venue": "polymarket", "market_id": "604417", "slug": "us-announces-new-blockade-of-iran-by-july-31"},
                {"venue": "polymarket", "market_id": "598734", "archived": True,
                 "slug": "us-announces-new-blockade-of-iran-by-july-31-349"})

    rows = {r["market_id"]: r["archived"] for r in desk.run("stg_markets")}

    assert rows == {"604417": False, "598734": True}
