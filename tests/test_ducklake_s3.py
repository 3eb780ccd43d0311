"""The lake's Parquet files on S3-compatible object storage, through DuckDB's httpfs: a real S3 server
(moto's standalone server, on 127.0.0.1), the catalog on a real PostgreSQL, credentials from the
environment only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from flows.hourly import hourly
from mirror.server import MirrorServer
from signal_desk import db
from tests.pipeline_helpers import T0, small_scenario, write_config
from tests.test_ducklake import duplicate_keys

from tests.conftest import S3_BUCKET as BUCKET, S3_KEY_ID as KEY_ID, S3_SECRET as SECRET


@pytest.fixture
def s3_lake(postgres, s3_store, monkeypatch):
    endpoint, client = s3_store
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv(db.S3_ENDPOINT_ENV, endpoint)
    monkeypatch.setenv(db.LAKE_DATA_PATH_ENV, f"s3://{BUCKET}/files/")
    return f"{db.LAKE_PREFIX}postgres:{postgres.create_database()}", client


def test_hourly_runs_land_the_lake_on_object_storage_once_and_a_reader_elsewhere_sees_it(s3_lake, tmp_path):
    lake, client = s3_lake
    scenario = small_scenario()
    with MirrorServer(scenario, as_of=T0 + timedelta(hours=3)) as mirror:
        cfg = write_config(tmp_path / "config", mirror.base_url)
        first = hourly(config_dir=str(cfg), db_path=lake, as_of=T0 + timedelta(hours=3), politeness="test")
        mirror.set_clock(T0 + timedelta(hours=4))
        second = hourly(config_dir=str(cfg), db_path=lake, as_of=T0 + timedelta(hours=4), politeness="test")
    assert first["status"] == second["status"] == "completed"

    objects = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
               for o in page.get("Contents", [])]
    assert objects and all(key.startswith("files/") for key in objects)
    assert any(key.endswith(".parquet") for key in objects)
    assert not list(tmp_path.rglob("*.parquet")), "Parquet files were written locally, not to the store"

    # An analyst on another machine: a fresh process, read-only, with only the setting and the credentials.
    reader = subprocess.run(
        [sys.executable, "-c", "import json, sys; from signal_desk import db\n"
         "con = db.connect(sys.argv[1], read_only=True)\n"
         "print(json.dumps({'items': con.execute('select count(*) from items').fetchone()[0],\n"
         "  'runs': con.execute(\"select count(*) from runs where status = 'completed'\").fetchone()[0]}))",
         lake], capture_output=True, text=True, timeout=300, env={**os.environ},
        cwd=str(db.SQL_DIR.parent))
    assert reader.returncode == 0, reader.stderr
    seen = json.loads(reader.stdout.strip().splitlines()[-1])

    con = db.connect(lake, read_only=True)
    try:
        items = con.execute("select count(*) from items").fetchone()[0]
        duplicates = duplicate_keys(con)
        stored = json.dumps(con.execute("select * from runs").fetchall(), default=str)
        stored += json.dumps(con.execute("select * from run_sources").fetchall(), default=str)
    finally:
        con.close()
    published = sum(1 for p in scenario.posts if p.published_at <= T0 + timedelta(hours=4))
    assert items == published and duplicates == {}
    assert seen == {"items": items, "runs": 2}
    assert SECRET not in stored

