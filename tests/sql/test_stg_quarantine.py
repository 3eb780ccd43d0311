"""stg_quarantine: the landed rows validation set aside, one row per table and record key."""

RSS_ID = "https://www.reuters.com/world/middle-east/iran-talks-2026-06-28/"


def test_validation_keys_once_each_split_at_the_first_slash(desk):
    desk.insert("quarantine",
                # one row failing two checks: one key
                {"table_name": "items", "record_key": f"reuters-world/{RSS_ID}",
                 "check_name": "expect_column_values_to_match_regex:text"},
                {"table_name": "items", "record_key": f"reuters-world/{RSS_ID}",
                 "check_name": "expect_column_values_to_be_in_set:lang_primary"},
                {"table_name": "odds_snapshots", "record_key": "polymarket/604417/Yes/2026-06-28T21:00:00Z"},
                # set aside while parsing: never landed
                {"table_name": "raw_fetches", "stage": "parse", "source_id": "alalamarabic",
                 "record_key": "alalamarabic/52113"},
                # a page that could not be read has no record key
                {"table_name": "items", "record_key": None, "source_id": "sepah_news"})

    rows = desk.run("stg_quarantine")

    assert desk.one_row_per_key("stg_quarantine") == [
        ("items", f"reuters-world/{RSS_ID}"), ("odds_snapshots", "polymarket/604417/Yes/2026-06-28T21:00:00Z")]
    assert [(r["key_prefix"], r["key_rest"]) for r in rows] == [
        ("reuters-world", RSS_ID), ("polymarket", "604417/Yes/2026-06-28T21:00:00Z")]
