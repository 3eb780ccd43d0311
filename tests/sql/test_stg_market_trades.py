"""stg_market_trades: trades, quarantined ones left out."""

TRADE = "b7c2f0d4-5e1a-4c8e-9f3a-2d6b8e1c0a57"     # Kalshi trade ids are UUIDs


def test_a_quarantined_trade_is_left_out_by_venue_and_id(desk):
    desk.insert("market_trades",
                {"venue": "kalshi", "trade_id": TRADE, "market_id": "KXUSIRANTALKS-26JUL",
                 "traded_at": "2026-06-28 20:12:31.482913+00", "yes_price_prob": 0.42},
                {"venue": "kalshi", "trade_id": "0f3e9a1c-7d24-4b6a-8e55-c1a2b3d4e5f6",
                 "market_id": "KXUSIRANTALKS-26JUL", "traded_at": "2026-06-28 20:14:02.001+00",
                 "yes_price_prob": 0.39, "taker_side": "no"},
                # the same id at another venue is another trade
                {"venue": "manifold", "trade_id": TRADE, "market_id": "Qm7tRz2xVc",
                 "traded_at": "2026-06-28 20:15:00+00", "yes_price_prob": 0.31})
    desk.insert("quarantine",
                {"table_name": "market_trades", "record_key": f"kalshi/{TRADE}",
                 "check_name": "expect_column_pair_values_to_sum_to_one"},
                # parse-stage and other tables' rows do not set a landed trade aside
                {"table_name": "market_trades", "stage": "parse",
                 "record_key": "kalshi/0f3e9a1c-7d24-4b6a-8e55-c1a2b3d4e5f6"},
                {"table_name": "odds_snapshots", "record_key": f"manifold/{TRADE}"})

    rows = desk.run("stg_market_trades")

    assert desk.one_row_per_key("stg_market_trades") == [
        ("kalshi", "0f3e9a1c-7d24-4b6a-8e55-c1a2b3d4e5f6"), ("manifold", TRADE)]
    assert [r["yes_price_prob"] for r in rows] == [0.39, 0.31]
