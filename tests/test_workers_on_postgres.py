"""Past one machine, as runbook section 8 sets it up: a Prefect server keeping its state in PostgreSQL,
the deployments `./run deployments` writes for a configuration split in two parts, one process worker
per part (each started from a folder of its own), then the signals deployment; the lake's catalog in
PostgreSQL and its files on an S3-compatible store. All of it real, on 127.0.0.1."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import pytest

from mirror.scenario import load_scenario
from mirror.smtp import LocalSmtpServer
from signal_desk import db
from signal_desk.config import load_config
from tests.conftest import S3_BUCKET, S3_KEY_ID, S3_SECRET
from tests.test_deployment import AS_OF, PREFECT, ROOT, Processes, api, free_port, wait_for
from tests.test_ducklake import duplicate_keys

PARTS = 2


def _url(libpq: str) -> str:
    """A libpq setting as the SQLAlchemy URL Prefect's server takes."""
    p = dict(pair.split("=", 1) for pair in libpq.split())
    return f"postgresql+asyncpg://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"


def _prefect_rows(libpq: str, sql: str) -> list:
    import asyncpg

    async def fetch():
        p = dict(pair.split("=", 1) for pair in libpq.split())
        con = await asyncpg.connect(host=p["host"], port=int(p["port"]), user=p["user"], database=p["dbname"])
        try:
            return await con.fetch(sql)
        finally:
            await con.close()
    return asyncio.run(fetch())


@pytest.mark.slow
@pytest.mark.timeout(1800)     # three flow runs, each in a fresh worker process, on a loaded 2-core machine
def test_two_workers_run_the_parts_and_the_signals_follow_on_a_postgres_backed_prefect(postgres, s3_store,
                                                                                      tmp_path, monkeypatch):
    endpoint, s3 = s3_store
    prefect_db, catalog = postgres.create_database(), postgres.create_database()
    lake = f"{db.LAKE_PREFIX}postgres:{catalog}"
    config = tmp_path / "config"
    config.mkdir()
    (config / "watchlists.yaml").write_text((ROOT / "config/demo/watchlists.yaml").read_text(encoding="utf-8"))
    (config / "sources.yaml").write_text(f"partitions: {PARTS}\n"
                                         + (ROOT / "config/demo/sources.yaml").read_text(encoding="utf-8"))
    server_port, mirror_port = free_port(), free_port()
    api_url, mirror_url = f"http://127.0.0.1:{server_port}/api", f"http://127.0.0.1:{mirror_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AWS_", "DESK_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api_url, DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="INFO",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", MIRROR_URL=mirror_url,
               PYTHONUNBUFFERED="1", AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET,
               DESK_S3_ENDPOINT=endpoint, DESK_LAKE_DATA_PATH=f"s3://{S3_BUCKET}/lake/")
    procs = Processes(tmp_path, env)
    smtp = LocalSmtpServer(tmp_path / "inbox").start()      # the signals run sends the watch list's alerts
    runs = {}
    try:
        mirror = procs.start("mirror", sys.executable, "-m", "mirror.server", "--port", str(mirror_port),
                             "--as-of", AS_OF.isoformat())
        server_env = {**env, "PREFECT_API_DATABASE_CONNECTION_URL": _url(prefect_db)}
        server = Processes(tmp_path, server_env).start(
            "server", str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(server_port),
            "--no-ui", "--no-scheduler", "--analytics-off")
        procs.started.append(("server", server))
        wait_for(f"{mirror_url}/_mirror/stats", mirror, 30, "the mirror", lambda: procs.log("mirror"))
        wait_for(f"{api_url}/health", server, 180, "prefect server", lambda: procs.log("server"))

        procs.run("work-pool", str(PREFECT), "work-pool", "create", "desk", "--type", "process", timeout=90)
        procs.run("smtp-block", sys.executable, "-c",
                  "from prefect.blocks.system import Secret; Secret(value={'host': '127.0.0.1', 'port': "
                  f"{smtp.port}, 'starttls': False, 'mail_from': 'desk@signal-desk.example'}})"
                  ".save('desk-smtp', overwrite=True)", timeout=90)
        parts_file = tmp_path / "prefect.parts.yaml"
        procs.run("deployments", sys.executable, "-m", "flows.cli", "deployments", "--config", str(config),
                  "--out", str(parts_file), timeout=120)
        procs.run("deploy", str(PREFECT), "--no-prompt", "deploy", "--all", "--prefect-file", str(parts_file),
                  timeout=240)
        deployed = {d["name"] for d in api(api_url, "POST", "/deployments/filter", {})}
        assert {f"hourly-part-{k}-of-{PARTS}" for k in range(1, PARTS + 1)} | {"signals"} <= deployed
        assert "hourly" not in deployed

        params = dict(config_dir=str(config), db_path=lake, politeness="mirror", as_of=AS_OF.isoformat())
        for name in [f"hourly/hourly-part-{k}-of-{PARTS}" for k in range(1, PARTS + 1)] + ["signals/signals"]:
            given = params if name.startswith("hourly") else {k: params[k] for k in ("config_dir", "db_path", "as_of")}
            out = procs.run(f"trigger-{name.split('/')[1]}", str(PREFECT), "deployment", "run", name,
                            *[a for k, v in given.items() for a in ("--param", f"{k}={json.dumps(v)}")], timeout=90)
            flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)
            # A worker of its own for each run, started in a folder of its own: the pull step takes it to
            # the code, as on a host of its own.
            folder = tmp_path / f"worker-{len(runs) + 1}"
            folder.mkdir()
            procs.run(f"worker-{len(runs) + 1}", str(PREFECT), "worker", "start", "--pool", "desk", "--type",
                      "process", "--run-once", "--install-policy", "never", timeout=600, cwd=folder)
            run = api(api_url, "GET", f"/flow_runs/{flow_run_id}")
            runs[name] = run["state_type"]
            assert run["state_type"] == "COMPLETED", f"{name}: {run['state']}\n{procs.log(f'worker-{len(runs)}')}"
    finally:
        procs.stop_all()
        smtp.stop()

    # Prefect kept its runs in PostgreSQL.
    recorded = _prefect_rows(prefect_db, "select count(*) as n from flow_run where state_type = 'COMPLETED'")
    assert recorded[0]["n"] >= PARTS + 1

    for name, value in dict(MIRROR_URL=mirror_url, AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET,
                            DESK_S3_ENDPOINT=endpoint).items():
        monkeypatch.setenv(name, value)
    cfg = load_config(config)
    con = db.connect(lake, read_only=True)          # an analyst: the catalog's address and the store's keys
    try:
        runs_recorded = con.execute("select flow, status from runs order by started_at").fetchall()
        landed: dict[str, set[str]] = {}
        for source_id, item_id in con.execute("select source_id, item_id from items where not is_service").fetchall():
            landed.setdefault(source_id, set()).add(item_id)
        duplicates = duplicate_keys(con)
        timeline = con.execute("select count(*) from mart_story_timeline").fetchone()[0]
        odds = con.execute("select count(*) from odds_snapshots").fetchone()[0]
    finally:
        con.close()

    assert runs_recorded == [("hourly", "completed")] * PARTS + [("signals", "completed")]
    assert set(landed) == {s.id for s in cfg.sources} and duplicates == {}
    scenario = load_scenario("iran_talks")
    for src in (s for s in cfg.sources if s.kind == "telegram"):
        assert landed[src.id] == {str(p.post_id) for p in scenario.posts
                                  if p.outlet == src.handle and p.published_at <= AS_OF}, src.id
    assert "61905" in landed["alalamarabic"]        # Al-Alam's 18:05 UTC post, a seed of the demo day
    assert odds > 0 and timeline > 0
    objects = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET)
               for o in page.get("Contents", [])]
    assert any(k.startswith("lake/") and k.endswith(".parquet") for k in objects)
    assert not list(tmp_path.rglob("*.parquet"))
