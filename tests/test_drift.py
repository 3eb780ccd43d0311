"""Drift alarms against a source's own recent runs, on a real DuckDB file with runs landed as the flow does."""
from datetime import datetime, timedelta, timezone

from signal_desk import landing
from signal_desk.items import Item
from signal_desk.validate.drift import detect_drift

T0 = datetime(2026, 6, 28, 18, 0, tzinfo=timezone.utc)
LAYOUT_ERROR = ("probable layout change at https://t.me/s/alalamarabic: the page has a channel header "
                "but no tgme_widget_message blocks")


def source_row(source_id: str, parsed: int, status: str = "ok", error: str | None = None,
               kind: str = "telegram") -> dict:
    return dict(source_id=source_id, kind=kind, pages_fetched=1, items_parsed=parsed, items_new=parsed,
                items_updated=0, rejects=0, status=status, error=error)


def run_with(con, hour: int, *rows: dict) -> str:
    run_id = landing.start_run(con, "hourly", T0 + timedelta(hours=hour))
    landing.record_source_runs(con, run_id, list(rows))
    return run_id


def alerts_stored(con, run_id: str) -> list[tuple[str, str]]:
    return con.execute("select source_id, kind from drift_alerts where run_id = ? order by all", [run_id]).fetchall()


def test_a_source_that_had_twenty_items_per_run_and_now_parses_none(fresh_db):
    for hour in range(4):
        run_with(fresh_db, hour, source_row("alalamarabic", 20), source_row("reuters", 20, kind="x"))
    run = run_with(fresh_db, 4, source_row("alalamarabic", 0, status="empty"), source_row("reuters", 19, kind="x"))
    alerts = detect_drift(fresh_db, run)

    assert [(a.source_id, a.kind) for a in alerts] == [("alalamarabic", "zero_items")]
    assert alerts[0].detail == "parsed 0 items (status empty); its last 4 runs parsed 20, 20, 20, 20"
    assert alerts_stored(fresh_db, run) == [("alalamarabic", "zero_items")]


def test_a_layout_change_is_one_alarm_naming_the_parsers_words(fresh_db):
    for hour in range(3):
        run_with(fresh_db, hour, source_row("alalamarabic", 20))
    run = run_with(fresh_db, 3, source_row("alalamarabic", 0, status="error", error=LAYOUT_ERROR))
    alerts = detect_drift(fresh_db, run)

    assert [(a.source_id, a.kind) for a in alerts] == [("alalamarabic", "layout_change")]
    assert "no tgme_widget_message blocks" in alerts[0].detail


def test_a_layout_change_on_the_first_run_still_alarms(fresh_db):
    run = run_with(fresh_db, 0, source_row("alalamarabic", 0, status="error", error=LAYOUT_ERROR))
    assert [a.kind for a in detect_drift(fresh_db, run)] == ["layout_change"]


def test_far_fewer_items_than_the_recent_median(fresh_db):
    for hour, n in enumerate([20, 18, 22]):
        run_with(fresh_db, hour, source_row("alalamarabic", n), source_row("bbc-world", 30, kind="rss"))
    run = run_with(fresh_db, 3, source_row("alalamarabic", 3), source_row("bbc-world", 25, kind="rss"))
    alerts = detect_drift(fresh_db, run)

    assert [(a.source_id, a.kind) for a in alerts] == [("alalamarabic", "volume_drop")]
    assert "parsed 3 items, under 20% of its recent median 20" in alerts[0].detail


def test_no_alarm_without_enough_history(fresh_db):
    run_with(fresh_db, 0, source_row("alalamarabic", 20))
    run_with(fresh_db, 1, source_row("alalamarabic", 20))
    dropped = run_with(fresh_db, 2, source_row("alalamarabic", 3))
    assert detect_drift(fresh_db, dropped) == []                 # a median of two runs is not a pattern yet
    first = run_with(fresh_db, 3, source_row("sprinterpress", 0, status="empty", kind="x"))
    assert detect_drift(fresh_db, first) == []                   # a new source that never had items


def telegram_posts(first_id: int, count: int, at: datetime, views: int | None) -> list[tuple[str, Item]]:
    return [("telegram", Item("alalamarabic", str(i), f"https://t.me/alalamarabic/{i}", at, f"خبر {i}",
                              views=views, lang="ar"))
            for i in range(first_id, first_id + count)]


def test_views_vanishing_from_every_new_telegram_post(fresh_db):
    for hour in range(3):
        run = run_with(fresh_db, hour, source_row("alalamarabic", 8))
        landing.land_items(fresh_db, run, telegram_posts(63000 + 8 * hour, 8, T0 + timedelta(hours=hour), 3400))
        assert detect_drift(fresh_db, run) == []
    run = run_with(fresh_db, 3, source_row("alalamarabic", 8))
    landing.land_items(fresh_db, run, telegram_posts(63024, 8, T0 + timedelta(hours=3), None))
    alerts = detect_drift(fresh_db, run)

    assert [(a.source_id, a.kind) for a in alerts] == [("alalamarabic", "field_vanished:views")]
    assert alerts[0].detail == "views missing on all 8 items this run; 100% of 24 items in its previous 3 runs had it"


def test_detecting_again_for_the_same_run_replaces_its_alarms(fresh_db):
    for hour in range(3):
        run_with(fresh_db, hour, source_row("alalamarabic", 20))
    run = run_with(fresh_db, 3, source_row("alalamarabic", 0, status="empty"))
    detect_drift(fresh_db, run)
    detect_drift(fresh_db, run)
    assert alerts_stored(fresh_db, run) == [("alalamarabic", "zero_items")]
