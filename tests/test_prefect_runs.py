"""Runs an operator can follow in Prefect: names that say what ran, the flow-run id in `runs`, a
per-source table artifact, counts at INFO from every stage, and the report itself in its artifact.

One subprocess, with its own PREFECT_HOME and INFO logging (as a worker logs), runs the hourly flow, a
backfill against the local mirror, the signals and a report to a local SMTP server; then everything is read back
as the Prefect API returns it, and from the DuckDB file.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from mirror.server import MirrorServer
from mirror.smtp import LocalSmtpServer
from tests.pipeline_helpers import T0, query, small_scenario, write_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AS_OF = T0 + timedelta(hours=4)

DRIVER = textwrap.dedent('''\
    import asyncio, json, sys
    from datetime import datetime
    from flows.backfill import backfill
    from flows.hourly import hourly
    from flows.report import report
    from flows.signals import signals

    cfg, db, archive, out = sys.argv[1:5]
    as_of = datetime.fromisoformat(sys.argv[5])
    hourly(config_dir=cfg, db_path=db, as_of=as_of, politeness="test")
    backfill(datetime.fromisoformat(sys.argv[6]), datetime.fromisoformat(sys.argv[7]), ["alpha"], config_dir=cfg,
             db_path=db, politeness="test")
    signals(config_dir=cfg, db_path=db, as_of=as_of)
    report("test-list", config_dir=cfg, db_path=db, as_of=as_of, archive_dir=archive)

    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    # logs reach the API in batches from a background thread; on a loaded machine the last lines of a
    # run can still be queued here, so they are sent before the API is read
    APILogWorker.drain_all(timeout=120)

    async def everything(read):
        rows, offset = [], 0
        while True:
            page = await read(limit=200, offset=offset)
            rows += [r.model_dump(mode="json") for r in page]
            if len(page) < 200:
                return rows
            offset += 200

    async def dump():
        async with get_client() as client:
            return {"flow_runs": await everything(client.read_flow_runs),
                    "logs": await everything(client.read_logs),
                    "artifacts": await everything(client.read_artifacts)}

    with open(out, "w", encoding="utf-8") as f:
        json.dump(asyncio.run(dump()), f, default=str)
''')


@pytest.fixture(scope="module")
def followed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prefect-runs")
    with MirrorServer(small_scenario(), as_of=AS_OF) as mirror, LocalSmtpServer(tmp / "inbox") as smtp:
        cfg = write_config(tmp / "config", mirror.base_url)
        mirror.add_fault("/telegram/s/beta_news", "layout")      # a source in error, its page quarantined
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DESK_"))}
        env.update(PREFECT_HOME=str(tmp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PREFECT_LOGGING_LEVEL="INFO",
                   DESK_SMTP_HOST=smtp.host, DESK_SMTP_PORT=str(smtp.port), DESK_SMTP_STARTTLS="false",
                   DESK_MAIL_FROM="Signal desk <desk@signal-desk.example>", PYTHONPATH=str(ROOT))
        driver = tmp / "driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(driver), str(cfg), str(tmp / "desk.duckdb"), str(tmp / "archive"),
             str(tmp / "api.json"), AS_OF.isoformat(), (T0 - timedelta(hours=1)).isoformat(),
             (T0 + timedelta(hours=1)).isoformat()],
            cwd=ROOT, env=env, capture_output=True, timeout=900)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    api = json.loads((tmp / "api.json").read_text(encoding="utf-8"))
    return dict(api=api, db=tmp / "desk.duckdb", runs={r["name"]: r for r in api["flow_runs"]})


def flow_run(followed, prefix: str) -> dict:
    (run,) = [r for name, r in followed["runs"].items() if name.startswith(prefix)]
    return run


def artifact(followed, key: str) -> dict:
    (found,) = [a for a in followed["api"]["artifacts"] if a["key"] == key]
    return found


def info_lines(followed, run: dict) -> list[str]:
    return [log["message"] for log in followed["api"]["logs"]
            if log["flow_run_id"] == run["id"] and log["level"] == 20]


def test_flow_runs_are_named_after_what_they_ran(followed):
    assert set(followed["runs"]) == {
        "hourly 2026-06-28 16:00 UTC",
        "backfill 2026-06-28 11:00 UTC – 2026-06-28 13:00 UTC · alpha",
        "signals as of 2026-06-28 16:00 UTC",
        "report test-list 2026-06-25 16:00 – 2026-06-28 16:00 UTC",
    }


def test_runs_rows_hold_their_prefect_flow_run_id(followed):
    rows = dict(query(followed["db"], "select flow, prefect_flow_run_id from runs"))
    assert rows == {"hourly": flow_run(followed, "hourly ")["id"], "backfill": flow_run(followed, "backfill ")["id"],
                    "signals": flow_run(followed, "signals ")["id"]}


def test_the_hourly_run_has_a_table_of_its_sources(followed):
    table = artifact(followed, "hourly-sources")
    assert table["type"] == "table" and table["flow_run_id"] == flow_run(followed, "hourly ")["id"]
    rows = {r["source"]: r for r in json.loads(table["data"])}
    assert set(rows) == {"alpha", "beta", "wirebird", "worldfeed"}
    assert rows["alpha"] == {"source": "alpha", "kind": "telegram", "status": "ok", "pages": 3, "new items": 45,
                             "edits": 0, "quarantined": 0, "error": ""}
    assert rows["wirebird"]["new items"] == 5 and rows["worldfeed"]["new items"] == 4
    beta = rows["beta"]
    assert (beta["status"], beta["new items"], beta["quarantined"]) == ("error", 0, 1)
    assert "probable layout change" in beta["error"]


def test_every_stage_logs_its_counts_at_info(followed):
    lines = info_lines(followed, flow_run(followed, "hourly "))
    expected = {
        "open-run": "opened run ", "fetch-sources": "fetched ", "land-raw": "landed ",
        "parse-sources": "parsed 54 items from 4 sources", "land-items": "landed: 54 new, 0 updated items",
        "land-markets": "landed 1 markets, ", "validate": "validated ", "compute-signals": "signals: ",
        "close-run": "closed run ",
    }
    for stage, start in expected.items():
        assert any(line.startswith(start) for line in lines), f"{stage}: no INFO line starting {start!r}"
    assert any(line.startswith("landed ") and "raw fetches" in line for line in lines)
    assert any(line.startswith("published the analysts' snapshot") for line in lines)
    backfill_lines = info_lines(followed, flow_run(followed, "backfill "))
    for start in ("opened run ", "fetched ", "landed ", "parsed ", "validated ", "closed run "):
        assert any(line.startswith(start) for line in backfill_lines), f"backfill: no INFO line starting {start!r}"
    signals_lines = info_lines(followed, flow_run(followed, "signals "))
    assert any(line.startswith("opened run ") for line in signals_lines)
    assert any(line.startswith("closed run ") and "snapshot published" in line for line in signals_lines)


def test_the_report_artifact_carries_the_report(followed):
    report = artifact(followed, "report-test-list")
    assert report["flow_run_id"] == flow_run(followed, "report ")["id"]
    text = report["data"]
    assert "file://" not in text
    assert "## The report as sent" in text
    (sent,) = query(followed["db"], "select text_body from reports")
    assert sent[0].strip() in text
