"""The quick benchmark (what CI runs, not timed): every section reports numbers, and every parser
finds the same posts on the real t.me pages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Read off the two real pages in tests/fixtures/telegram: topwar_official shows posts 70989-71008 with
# album gaps (12 posts), feedjam posts 1-7, where 1 is the "Channel created" service message.
TOPWAR_IDS = [70989, 70990, 70992, 70995, 70996, 70997, 70998, 70999, 71000, 71006, 71007, 71008]
FEEDJAM_CONTENT_IDS = [2, 3, 4, 5, 6, 7]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    env = dict(os.environ, DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert out.exists(), f"no JSON written:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads(out.read_text(encoding="utf-8"))
    result["_stdout"] = done.stdout
    result["_returncode"] = done.returncode
    result["_png"] = out.with_suffix(".png")
    return result


def _rows(result: dict, section: str) -> list[dict]:
    return [r for r in result["rows"] if r["section"] == section]


def test_every_section_reports_numbers_with_cores_and_command(quick_result):
    failed = [f"{r['section']}: {r['note']}" for r in quick_result["rows"] if r["status"] == "failed"]
    assert not failed, failed
    assert quick_result["_returncode"] == 0, quick_result["_stdout"][-3000:]
    for section in ("parse", "hourly", "growth", "queries"):
        numbers = [r for r in _rows(quick_result, section) if isinstance(r["value"], (int, float))]
        assert numbers, f"section {section} has no figure: {_rows(quick_result, section)}"
    for r in quick_result["rows"]:
        assert r["cores"] == os.cpu_count()
        assert r["command"].startswith("./run bench") and "--quick" in r["command"]
    assert quick_result["machine"]["cores"] == os.cpu_count()
    assert "measure" in quick_result["_stdout"] and "status" in quick_result["_stdout"]   # the printed table


def test_hourly_run_lands_the_new_posts_then_nothing(quick_result):
    runs = quick_result["sections"]["hourly"]["runs"]
    by = {(r["case"], r["mode"]): r for r in runs}
    for mode in ("prefect", "plain"):
        new, again = by[("new posts", mode)], by[("no change", mode)]
        # 5 channels x 2 hours x 18-22 posts (the quick run starts from an empty database)
        assert 5 * 2 * 18 <= new["items_new"] <= 5 * 2 * 22, new
        assert again["items_new"] == 0 and again["items_updated"] == 0, again
        assert new["status"] == again["status"] == "completed"
        assert new["peak_rss_mib"] > 0 and new["flow_cpu_s"] > 0
        assert {s["name"] for s in new["stages"]} >= {"fetch-sources", "parse-sources", "land-items"}


def test_all_parsers_found_the_same_posts_on_the_real_pages(quick_result):
    parse = quick_result["sections"]["parse"]
    pages = parse["agreement"]["pages"]
    ours = pages["tme_s_topwar_official_ru_12posts_any2feed.html"]["signal-desk"]["ids"]
    assert ours == TOPWAR_IDS
    feedjam = pages["tme_s_feedjam_en_7posts_service.html"]["signal-desk"]["ids"]
    assert feedjam == [1, *FEEDJAM_CONTENT_IDS]
    missing = parse["rivals_missing"]
    if missing:
        pytest.skip(f"minet/snscrape could not be installed or imported here: {missing} ({parse['install']})")
    for rival in ("minet", "snscrape"):
        assert sorted(pages["tme_s_topwar_official_ru_12posts_any2feed.html"][rival]["ids"]) == TOPWAR_IDS
        found = set(pages["tme_s_feedjam_en_7posts_service.html"][rival]["ids"])
        assert found - {1} == set(FEEDJAM_CONTENT_IDS)
    assert parse["agreement"]["same_posts"] is True
    row = next(r for r in _rows(quick_result, "parse") if r["name"] == "same posts found by every parser")
    assert row["status"] == "met" and row["value"] == 18


def test_the_workers_parts_land_every_channel_once_into_the_lake_and_its_store(quick_result):
    workers = quick_result["sections"]["workers"]
    runs = {r["what"]: r for r in workers["runs"]}
    parts = [runs[f"part {k} of {workers['parts']}"]["result"] for k in range(1, workers["parts"] + 1)]
    assert all(p["status"] == "completed" for p in parts)
    assert sum(p["sources"] for p in parts) == workers["channels"]          # each channel in one part
    assert all(p["items_new"] > 0 for p in parts) and runs["signals"]["result"]["status"] == "completed"
    # each run committed to the catalog and wrote Parquet files to the object store
    assert all(r["catalog_commits"] > 0 and r["catalog_snapshots"] > 0 and r["objects_written"] > 0
               for r in runs.values())


def test_growth_and_queries_ran_on_generated_history(quick_result):
    sizes = quick_result["sections"]["growth"]["sizes"]
    assert sizes["10000"]["items"] >= 10_000
    assert quick_result["sections"]["growth"]["signals_error"] is None
    signal_rows = [r for r in _rows(quick_result, "growth") if "signals for one hour" in r["name"]]
    assert signal_rows and all(r["value"] > 0 for r in signal_rows)
    queries = quick_result["sections"]["queries"]["queries"]
    assert queries and all(q["error"] is None and len(q["ms"]) >= 2 for q in queries), queries


def test_every_documented_query_finds_rows_in_a_history_with_markets_polls_and_quarantine(quick_result):
    queries = quick_result["sections"]["queries"]["queries"]
    assert len(queries) >= 10
    empty = [q["title"] for q in queries if not q["rows"]]
    assert not empty, f"queries that found nothing in the history: {empty}"
    sizes = quick_result["sections"]["growth"]["sizes"]
    history = sizes[max(sizes, key=int)]
    rows, items = history["table_rows"], history["items"]
    hours = items / quick_result["sections"]["growth"]["new_items_per_hour"]
    assert rows["runs"] >= hours * 0.9                 # an hourly desk: a run for every hour of history
    assert rows["odds_snapshots"] >= hours * 2         # a price per outcome of each watched market, hourly
    assert rows["market_trades"] >= hours
    assert 0 < rows["quarantine"] < items * 0.02       # some rows set aside, as real runs do; not most
    assert rows["poll_results"] > rows["polls"] > 0


def test_the_cost_curves_are_drawn_from_the_measured_runs(quick_result):
    from bench.curves import growth_points, hourly_points

    png = quick_result["_png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hourly = hourly_points(quick_result)
    assert {case for case in hourly} == {"new posts", "no change"}
    assert all(wall > 0 and cpu > 0 for points in hourly.values() for _, wall, cpu in points)
    assert [items for items, _, _ in growth_points(quick_result)] == [
        entry["items"] for entry in quick_result["sections"]["growth"]["sizes"].values()]
