"""stg_odds: outcome prices, quarantined points left out."""


def test_a_quarantined_point_is_left_out_and_not_its_neighbours(desk):
    desk.insert("odds_snapshots", *[
        {"venue": venue, "market_id": market, "outcome": outcome, "venue_ts": f"2026-06-28 {t}:00+00",
         "price_prob": p}
        for venue, market, outcome, t, p in [
            ("polymarket", "604417", "Yes", "20:00", 0.16),
            ("polymarket", "604417", "Yes", "21:00", 1.6),       # quarantined below
            ("polymarket", "604417", "Yes", "22:00", 0.24),
            ("polymarket", "604417", "No", "21:00", 0.78),
            ("manifold", "Qm7tRz2xVc", "50/50 split", "21:00", -0.2),     # an answer may hold a slash
            ("manifold", "Qm7tRz2xVc", "Yes", "21:00", 0.33),
        ]])
    desk.insert("quarantine",
                {"table_name": "odds_snapshots", "record_key": "polymarket/604417/Yes/2026-06-28T21:00:00Z",
                 "check_name": "expect_column_values_to_be_between:price_prob"},
                {"table_name": "odds_snapshots", "record_key": "manifold/Qm7tRz2xVc/50/50 split/2026-06-28T21:00:00Z",
                 "check_name": "expect_column_values_to_be_between:price_prob"})

    rows = desk.run("stg_odds")

    keys = desk.one_row_per_key("stg_odds")
    assert [(v, m, o, ts.strftime("%H:%M")) for v, m, o, ts in keys] == [
        ("manifold", "Qm7tRz2xVc", "Yes", "21:00"),
        ("polymarket", "604417", "No", "21:00"),
        ("polymarket", "604417", "Yes", "20:00"),
        ("polymarket", "604417", "Yes", "22:00"),
    ]
    assert [(r["outcome"], r["price_prob"]) for r in rows] == [
        ("Yes", 0.33), ("No", 0.78), ("Yes", 0.16), ("Yes", 0.24)]
    assert all(0 <= r["price_prob"] <= 1 for r in rows)
