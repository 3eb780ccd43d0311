"""Validation of a run's landed rows with the GX suites in expectations/: real DuckDB files, real GX runs.

Bad rows are landed the way they could arrive (through landing, or by SQL for values landing would not
produce) and must end up in quarantine with a reason that says what is wrong, while good rows do not.
"""
import json
import typing
from datetime import datetime, timedelta, timezone

import pytest

from signal_desk import landing
from signal_desk.config import Register
from signal_desk.items import Item, Market, MarketTrade, OddsPoint
from signal_desk.items import FetchRecord
from signal_desk.validate.run import gx_validator, summary_markdown, validate_run
from signal_desk.validate.suites import TABLES, SuiteError, load_suite, load_suites

RUN_CLOCK = datetime(2026, 6, 28, 22, 0, tzinfo=timezone.utc)
SOURCES = [
    {"id": "alalamarabic", "register": "state-aligned", "language": "ar"},
    {"id": "reuters", "register": "western-wire", "language": "en"},
    {"id": "bbc-world", "register": "western-media", "language": "en"},
]
BLOCKADE = "us-announces-new-blockade-of-iran-by-july-31"


@pytest.fixture(scope="module")
def gx():
    """One GX context for the whole module (building it costs seconds); validate_run reuses it."""
    validator, _ = gx_validator()
    return validator


def alalam(item_id: str, text: str = "عراقجي: أمريكا والكيان الصهيوني انتهكا مذكرة التفاهم", *,
           at: datetime = datetime(2026, 6, 28, 21, 46, tzinfo=timezone.utc), **kw) -> tuple[str, Item]:
    return "telegram", Item("alalamarabic", item_id, f"https://t.me/alalamarabic/{item_id}", at, text,
                            views=1200, lang="ar", **kw)


def reuters(item_id: str = "1939083721449587012") -> tuple[str, Item]:
    return "x", Item("reuters", item_id, f"https://x.com/Reuters/status/{item_id}",
                     datetime(2026, 6, 28, 20, 10, tzinfo=timezone.utc),
                     "Iran cancels participation in technical talks with the US over recent attacks, official says",
                     author="Reuters", lang="en")


def blockade_market(**kw) -> Market:
    fields = dict(venue="polymarket", market_id="551234", question="US announces a new blockade of Iran by July 31?",
                  outcomes=["Yes", "No"], slug=BLOCKADE)
    return Market(**(fields | kw))


def priced(yes: float, no: float, at: datetime = datetime(2026, 6, 28, 21, 0, tzinfo=timezone.utc)) -> list[OddsPoint]:
    return [OddsPoint("polymarket", "551234", "Yes", yes, at), OddsPoint("polymarket", "551234", "No", no, at)]


def trade(trade_id: str, yes: float = 0.31, no: float = 0.69, contracts: float = 12.0, *, market_id: str = "551234",
          at: datetime = datetime(2026, 6, 28, 21, 4, 7, 123456, tzinfo=timezone.utc)) -> MarketTrade:
    return MarketTrade("polymarket", market_id, trade_id, at, yes, no, contracts, "yes")


def quarantined(con, run_id: str) -> dict[tuple[str, str], str]:
    """(record_key, check_name) -> reason, for the validate stage of one run."""
    rows = con.execute("""select record_key, check_name, reason from quarantine
                          where run_id = ? and stage = 'validate'""", [run_id]).fetchall()
    return {(key, check): reason for key, check, reason in rows}


# --- the suites -------------------------------------------------------------------------------------------

def test_each_suite_states_its_tables_grain_and_primary_key(fresh_db):
    primary_keys = {table: tuple(cols) for table, cols in fresh_db.execute("""
        select table_name, constraint_column_names from duckdb_constraints()
        where constraint_type = 'PRIMARY KEY'""").fetchall()}
    for table, suite in load_suites().items():
        assert suite.key == primary_keys[table], table
        assert suite.grain
        assert {e.severity for e in suite.expectations} <= {"critical", "warning"}
        key_check = next(e for e in suite.expectations if "unique" in e.type)
        assert set(key_check.columns) == set(suite.key) and key_check.severity == "critical"


def test_the_register_set_in_the_items_suite_is_the_configs():
    check = load_suite("items").expectation("expect_column_values_to_be_in_set:source_register")
    assert set(check.kwargs["value_set"]) == set(typing.get_args(Register))


def test_a_suite_without_severity_is_refused_naming_the_file(tmp_path):
    suite = json.loads(load_suite("markets").path.read_text())
    del suite["expectations"][2]["meta"]["severity"]
    (tmp_path / "markets.json").write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match=r"markets\.json: expectations\[2\] .*severity"):
        load_suite("markets", tmp_path)


# --- clean rows pass --------------------------------------------------------------------------------------

def test_a_clean_run_passes_and_records_every_expectation(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_fetches(fresh_db, run, [
        FetchRecord("alalamarabic", "https://t.me/s/alalamarabic", RUN_CLOCK, 200, b"<html>...</html>"),
        FetchRecord("reuters", "https://nitter.net/Reuters/rss", RUN_CLOCK, 503, None, "HTTP 503"),
    ])
    landing.land_items(fresh_db, run, [
        alalam("63001"), alalam("63002", "", media_kinds=["photo"]), alalam("63003", "", is_service=True),
        reuters(),
        ("rss", Item("bbc-world", "c4g0", "https://www.bbc.com/news/articles/c4g0", RUN_CLOCK - timedelta(hours=1),
                     "Iran says it will not attend talks", lang="en-GB")),
        # the run's clock may lag the venue's by a few minutes: inside the allowed skew
        alalam("63004", at=RUN_CLOCK + timedelta(minutes=5)),
    ])
    landing.land_markets(fresh_db, run, [blockade_market()], priced(0.20, 0.80))
    landing.land_trades(fresh_db, run, [trade("t-1")], [])
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    assert summary.failures == [] and summary.critical == []
    assert quarantined(fresh_db, run) == {}
    assert {t: s.rows for t, s in summary.tables.items()} == {
        "items": 6, "raw_fetches": 2, "markets": 1, "odds_snapshots": 2, "market_trades": 1}
    expected = sum(len(load_suite(t).expectations) for t in TABLES)
    assert fresh_db.execute("select count(*), bool_and(success) from validation_results where run_id = ?",
                            [run]).fetchone() == (expected, True)
    assert summary.setup_seconds == 0      # the module's context was reused
    assert json.loads(json.dumps(summary.as_dict()))["rows"]["items"] == 6   # fits the run's summary json
    assert "All expectations passed." in summary_markdown(summary)


# --- bad rows are quarantined with their reason -----------------------------------------------------------

def test_bad_items_are_quarantined_with_reasons_and_good_ones_are_not(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, run, [
        alalam("63001"),
        alalam("63009", at=RUN_CLOCK + timedelta(hours=3, minutes=30)),   # local Tehran time read as UTC
        alalam("63010", "   \n"),                                          # a text post that lost its text
        alalam("63011", at=datetime(2009, 1, 1, tzinfo=timezone.utc)),
        reuters(),
    ])
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    found = quarantined(fresh_db, run)
    assert set(found) == {
        ("alalamarabic/63009", "expect_column_values_to_be_between:published_at"),
        ("alalamarabic/63010", "expect_column_values_to_match_regex:text"),
        ("alalamarabic/63011", "expect_column_values_to_be_between:published_at"),
    }
    assert "got published_at='2026-06-29T01:30:00Z'" in found[("alalamarabic/63009",
                                                               "expect_column_values_to_be_between:published_at")]
    assert "non-blank text" in found[("alalamarabic/63010", "expect_column_values_to_match_regex:text")]
    assert summary.critical == []                                          # warnings do not stop the flow
    assert summary.failures_by_expectation() == {
        "items expect_column_values_to_be_between:published_at": 2,
        "items expect_column_values_to_match_regex:text": 1}
    assert fresh_db.execute("select count(*) from items").fetchone()[0] == 5    # nothing is deleted
    payload = json.loads(fresh_db.execute("select payload from quarantine where record_key = 'alalamarabic/63010'")
                         .fetchone()[0])
    assert payload["url"] == "https://t.me/alalamarabic/63010" and payload["text"] == "   \n"


def test_a_source_with_an_unknown_register_is_flagged(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, run, [alalam("63001"), reuters()])
    hand_edited = [dict(s, register="tabloid") if s["id"] == "reuters" else s for s in SOURCES]
    validate_run(fresh_db, run, now=RUN_CLOCK, sources=hand_edited)

    assert quarantined(fresh_db, run) == {
        ("reuters/1939083721449587012", "expect_column_values_to_be_in_set:source_register"):
            "the item's source has a register the desk knows (register coverage and contradictions group by it): "
            "got source_register='tabloid'"}


def test_a_probability_above_one_is_a_critical_failure(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_markets(fresh_db, run, [blockade_market()], priced(0.20, 0.80))
    fresh_db.execute("""insert into odds_snapshots
        (venue, market_id, outcome, price_prob, venue_ts, volume, liquidity, observed_at, run_id, point_kind) values
        ('polymarket', '551234', 'Yes', 1.3, '2026-06-28 21:30:00+00', null, null, ?, ?, 'history')""", [RUN_CLOCK, run])
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    key = "polymarket/551234/Yes/2026-06-28T21:30:00Z"
    assert set(quarantined(fresh_db, run)) == {(key, "expect_column_values_to_be_between:price_prob")}
    assert len(summary.critical) == 1 and "price_prob" in summary.critical[0] and key in summary.critical[0]
    markdown = summary_markdown(summary)
    assert "**critical**" in markdown and "`expect_column_values_to_be_between:price_prob`" in markdown


def test_duplicate_keys_in_a_table_that_lost_its_primary_key(fresh_db, gx):
    """A table rebuilt from an export without its key constraint: the suite still holds the key."""
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_markets(fresh_db, run, [blockade_market()], priced(0.20, 0.80))
    fresh_db.execute("create table odds_export as select * from odds_snapshots")
    fresh_db.execute("drop table odds_snapshots")
    fresh_db.execute("create table odds_snapshots as select * from odds_export")
    fresh_db.execute("insert into odds_snapshots select * from odds_export where outcome = 'Yes'")
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    check = "expect_compound_columns_to_be_unique:venue,market_id,outcome,venue_ts"
    found = quarantined(fresh_db, run)
    assert found[("polymarket/551234/Yes/2026-06-28T21:00:00Z", check)].endswith("this key occurs 2 times")
    assert ("polymarket/551234/No/2026-06-28T21:00:00Z", check) not in found
    assert any(check in line for line in summary.critical)


def test_outcome_prices_must_sum_to_one_only_where_the_whole_set_is_priced(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    t1, t2 = datetime(2026, 6, 28, 21, tzinfo=timezone.utc), datetime(2026, 6, 28, 21, 30, tzinfo=timezone.utc)
    poll = Market("manifold", "pollAB", "Which outcome first?", ["A", "B", "C"], outcomes_sum_to_one=False)
    landing.land_markets(fresh_db, run, [blockade_market(), poll], [
        *priced(0.21, 0.81, t1),                                  # 1.02: within tolerance
        *priced(0.45, 0.80, t2),                                  # 1.25: off
        OddsPoint("polymarket", "551234", "Yes", 0.30, datetime(2026, 6, 28, 21, 45, tzinfo=timezone.utc)),
        OddsPoint("manifold", "pollAB", "A", 0.7, t1), OddsPoint("manifold", "pollAB", "B", 0.6, t1),
        OddsPoint("manifold", "pollAB", "C", 0.5, t1),
    ])
    validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    check = "expect_column_values_to_be_between:outcome_set_sum"
    found = quarantined(fresh_db, run)
    assert set(found) == {("polymarket/551234/Yes/2026-06-28T21:30:00Z", check),
                          ("polymarket/551234/No/2026-06-28T21:30:00Z", check)}
    assert "got outcome_set_sum=1.25" in found[("polymarket/551234/Yes/2026-06-28T21:30:00Z", check)]


def test_a_market_without_a_question_or_a_second_outcome(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_markets(fresh_db, run, [blockade_market(), blockade_market(market_id="551235", question=" ",
                                                                            outcomes=["Yes"])], [])
    validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    assert set(quarantined(fresh_db, run)) == {
        ("polymarket/551235", "expect_column_values_to_match_regex:question"),
        ("polymarket/551235", "expect_column_values_to_be_between:outcome_count")}


def test_a_fetch_must_be_a_stored_200_or_carry_its_error(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_fetches(fresh_db, run, [
        FetchRecord("alalamarabic", "https://t.me/s/alalamarabic", RUN_CLOCK, 200, b"<html></html>"),
        FetchRecord("reuters", "https://nitter.net/Reuters/rss", RUN_CLOCK, 429, b"slow down", "HTTP 429"),
        FetchRecord("bbc-world", "https://feeds.bbci.co.uk/news/world/rss.xml", RUN_CLOCK, 203, b"<rss/>"),
        FetchRecord("reuters", "https://xcancel.com/Reuters/rss", RUN_CLOCK, 200, None),
    ])
    validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    by_url = dict(fresh_db.execute("select url, fetch_id from raw_fetches").fetchall())
    assert set(quarantined(fresh_db, run)) == {
        (by_url["https://feeds.bbci.co.uk/news/world/rss.xml"], "expect_column_values_to_be_in_set:status_code"),
        (by_url["https://xcancel.com/Reuters/rss"], "expect_column_values_to_not_be_null:content_sha256"),
    }


def test_bad_trades_are_quarantined_and_left_out_of_stg_market_trades(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_markets(fresh_db, run, [blockade_market()], [])
    landing.land_trades(fresh_db, run, [
        trade("ok"),
        trade("empty", contracts=0.0),                          # critical: a trade of no contracts
        trade("uneven", yes=0.31, no=0.31),                     # warning: the sides do not add up to one
        trade("elsewhere", market_id="999"),                    # warning: its market is not landed
        trade("ahead", at=RUN_CLOCK + timedelta(hours=2)),      # warning: later than the run's clock
    ], [])
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    reasons = quarantined(fresh_db, run)
    assert set(reasons) == {
        ("polymarket/empty", "expect_column_values_to_be_between:count_contracts"),
        ("polymarket/uneven", "expect_column_values_to_be_between:price_sum_prob"),
        ("polymarket/elsewhere", "expect_column_values_to_be_in_set:market_listed"),
        ("polymarket/ahead", "expect_column_values_to_be_between:traded_at"),
    }
    assert reasons[("polymarket/empty", "expect_column_values_to_be_between:count_contracts")] == \
        "a trade is of more than zero contracts: got count_contracts=0.0"
    assert reasons[("polymarket/uneven", "expect_column_values_to_be_between:price_sum_prob")] == \
        "the yes and no prices add up to 1 +/- 0.02: got price_sum_prob=0.62"
    assert [f.expectation for f in summary.failures if f.severity == "critical"] == [
        "expect_column_values_to_be_between:count_contracts"]
    from signal_desk.signals.models import create_views, load_models
    create_views(fresh_db, load_models())
    kept = {r[0] for r in fresh_db.execute("select trade_id from stg_market_trades").fetchall()}
    assert kept == {"ok"}
    assert fresh_db.execute("select count(*) from market_trades").fetchone()[0] == 5    # nothing is deleted


# --- scope and reruns -------------------------------------------------------------------------------------

def test_only_the_runs_own_rows_are_validated(fresh_db, gx):
    earlier = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, earlier, [alalam("63010", "")])
    landing.land_markets(fresh_db, earlier, [blockade_market(question="")], [])
    later = landing.start_run(fresh_db, "hourly", RUN_CLOCK + timedelta(hours=1))
    landing.land_items(fresh_db, later, [reuters()])
    summary = validate_run(fresh_db, later, now=RUN_CLOCK + timedelta(hours=1), sources=SOURCES)

    assert {t: s.rows for t, s in summary.tables.items()} == {
        "items": 1, "raw_fetches": 0, "markets": 0, "odds_snapshots": 0, "market_trades": 0}
    assert quarantined(fresh_db, later) == {}


def test_an_item_seen_again_unchanged_is_not_validated_again_and_a_changed_one_is(fresh_db, gx):
    first = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, first, [alalam("63001"), alalam("63010", ""), reuters()])
    assert validate_run(fresh_db, first, now=RUN_CLOCK, sources=SOURCES).tables["items"].rows == 3

    later = landing.start_run(fresh_db, "hourly", RUN_CLOCK + timedelta(hours=1))
    kind, seen_again = alalam("63001")
    seen_again.views = 5400                                  # a view count moved: the row changed
    landing.land_items(fresh_db, later, [(kind, seen_again), alalam("63010", ""), reuters()])
    summary = validate_run(fresh_db, later, now=RUN_CLOCK + timedelta(hours=1), sources=SOURCES)

    assert summary.tables["items"].rows == 1
    # the blank post quarantined by the first run stays quarantined; nothing is quarantined twice
    assert quarantined(fresh_db, later) == {}
    assert fresh_db.execute("select count(*) from quarantine where stage = 'validate'").fetchone()[0] == 1
    assert fresh_db.execute("select last_run_id, changed_run_id from items where item_id = '63010'").fetchone() == (
        later, first)


def test_a_quarantined_post_fixed_by_a_later_edit_comes_back_and_keeps_its_record(fresh_db, gx):
    # Regression: a post set aside once stayed out of stg_items (and every mart) for good, even after
    # an edit that passed validation, because nothing ever lifted its quarantine entry.
    from signal_desk.signals.models import create_views, load_models
    first = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, first, [alalam("63001"), alalam("63010", ""), alalam("63011", "")])
    assert validate_run(fresh_db, first, now=RUN_CLOCK, sources=SOURCES).quarantined == 2
    create_views(fresh_db, load_models())

    def staged() -> set[str]:
        return {r[0] for r in fresh_db.execute("select item_id from stg_items").fetchall()}

    assert staged() == {"63001"}
    later = landing.start_run(fresh_db, "hourly", RUN_CLOCK + timedelta(hours=1))
    kind, fixed = alalam("63010", "Araghchi: the talks in Muscat go ahead on Sunday.")
    landing.land_items(fresh_db, later, [(kind, fixed), alalam("63011", "")])
    summary = validate_run(fresh_db, later, now=RUN_CLOCK + timedelta(hours=1), sources=SOURCES)

    assert summary.quarantined == 0 and staged() == {"63001", "63010"}    # 63011 is still blank: still out
    assert fresh_db.execute("""
        select record_key, run_id, released_run_id from quarantine where stage = 'validate' order by record_key
    """).fetchall() == [("alalamarabic/63010", first, later), ("alalamarabic/63011", first, None)]


def test_validating_a_run_again_replaces_its_results(fresh_db, gx):
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, run, [alalam("63001"), alalam("63010", "")])
    first = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)
    again = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES)

    assert first.quarantined == again.quarantined == 1
    assert fresh_db.execute("select count(*) from quarantine").fetchone()[0] == 1
    assert fresh_db.execute("select count(*) from validation_results").fetchone()[0] == len(
        load_suite("items").expectations)


def test_the_clock_must_carry_a_time_zone(fresh_db, gx):
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_run(fresh_db, "r", now=datetime(2026, 6, 28, 22, 0))


def suites_with_a_check_that_cannot_run(folder) -> None:
    """The shipped suites in `folder`, the items suite with one more check on a column items lack."""
    for table in TABLES:
        (folder / f"{table}.json").write_text(load_suite(table).path.read_text())
    items = json.loads((folder / "items.json").read_text())
    items["expectations"].append({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "headline"},
                                  "description": "every post has a headline", "meta": {"severity": "warning"}})
    (folder / "items.json").write_text(json.dumps(items))


def test_a_check_that_cannot_run_is_reported_not_passed(fresh_db, gx, tmp_path):
    suites_with_a_check_that_cannot_run(tmp_path)
    run = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, run, [alalam("63001")])
    summary = validate_run(fresh_db, run, now=RUN_CLOCK, sources=SOURCES, expectations_dir=tmp_path)

    [failure] = summary.failures
    assert failure.expectation == "expect_column_values_to_not_be_null:headline"
    assert "headline" in failure.error
    assert quarantined(fresh_db, run) == {}


def test_a_quarantined_post_is_not_released_by_a_run_whose_checks_could_not_run(fresh_db, gx, tmp_path):
    # A check that cannot run names no failing row: that must not count as every row passing.
    first = landing.start_run(fresh_db, "hourly", RUN_CLOCK)
    landing.land_items(fresh_db, first, [alalam("63010", "")])
    validate_run(fresh_db, first, now=RUN_CLOCK, sources=SOURCES)
    suites_with_a_check_that_cannot_run(tmp_path)
    later = landing.start_run(fresh_db, "hourly", RUN_CLOCK + timedelta(hours=1))
    landing.land_items(fresh_db, later, [alalam("63010", "Araghchi: the talks go ahead on Sunday.")])
    validate_run(fresh_db, later, now=RUN_CLOCK + timedelta(hours=1), sources=SOURCES, expectations_dir=tmp_path)

    assert fresh_db.execute("select released_run_id from quarantine where stage = 'validate'").fetchall() == [(None,)]
