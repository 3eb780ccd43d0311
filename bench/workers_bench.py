"""The several-workers layout at N synthetic channels (runbook section 8): a DuckLake whose catalog is a
real PostgreSQL and whose files go to moto's S3 server, the sources split in two parts.

For each of two hours (the first into an empty lake, the second beside it; `--quick` only the first), each part's hourly run and
then the signals run are separate processes, as on separate workers, against one Prefect API server. Per
process: wall and CPU time (the process and what it waited for), sources, pages and items; what it cost
the catalog (PostgreSQL transactions committed and rows written in the catalog's database, DuckLake
snapshots added); and what it wrote to the object store (objects, MiB). These are the figures the
10,000-channel model in the runbook scales.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from bench.hourly_bench import Mirror, child_env, start_prefect_server
from bench.measure import INFO, Row, load_average, run_measured
from bench.synthetic import HOUR, MEASURED_CLOCK, synthetic_outlets, write_config
from mirror.smtp import LocalSmtpServer

ROOT = Path(__file__).resolve().parent.parent
FULL_CHANNELS, QUICK_CHANNELS = 1000, 6
PARTS = 2
CHILD_TIMEOUT_S = 1800
BUCKET = "desk-lake"


def child(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.workers_bench child")
    ap.add_argument("--flow", choices=("hourly", "signals"), required=True)
    ap.add_argument("--part", type=int)
    ap.add_argument("--config", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--result", required=True)
    a = ap.parse_args(argv)
    as_of = datetime.fromisoformat(a.as_of)
    if a.flow == "hourly":
        from flows.hourly import hourly
        summary = hourly(config_dir=a.config, db_path=a.db, as_of=as_of, politeness="mirror", part=a.part,
                         with_signals=False, with_markets=a.part == 1)
        sources = summary.get("sources", [])
        result = {"status": summary.get("status"), "sources": len(sources),
                  "pages": sum(r.get("pages_fetched", 0) for r in sources),
                  "items_new": sum(r.get("items_new", 0) for r in sources),
                  "items_updated": sum(r.get("items_updated", 0) for r in sources)}
    else:
        from flows.signals import signals
        summary = signals(config_dir=a.config, db_path=a.db, as_of=as_of)
        result = {"status": "completed" if isinstance(summary, dict) else str(summary),
                  **{k: v for k, v in (summary if isinstance(summary, dict) else {}).items()
                     if isinstance(v, (int, float, str))}}
    Path(a.result).write_text(json.dumps(result, default=str), encoding="utf-8")


class Catalog:
    """What the catalog's PostgreSQL database has done so far."""

    def __init__(self, libpq: str):
        self.p = dict(pair.split("=", 1) for pair in libpq.split())

    def counters(self) -> dict[str, int]:
        import asyncpg

        async def read():
            con = await asyncpg.connect(host=self.p["host"], port=int(self.p["port"]), user=self.p["user"],
                                        database=self.p["dbname"])
            try:
                await con.execute("select pg_stat_force_next_flush()")
                row = await con.fetchrow("select xact_commit, tup_inserted + tup_updated + tup_deleted as rows_written "
                                         "from pg_stat_database where datname = $1", self.p["dbname"])
                exists = await con.fetchval("select to_regclass('ducklake_snapshot') is not null")
                snapshots = await con.fetchval("select count(*) from ducklake_snapshot") if exists else 0
                return {"commits": row["xact_commit"], "rows_written": row["rows_written"], "snapshots": snapshots}
            finally:
                await con.close()
        time.sleep(1.0)          # other sessions' statistics reach pg_stat_database when they go idle
        return asyncio.run(read())


def _bucket(client) -> tuple[int, int]:
    objects = [o for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
               for o in page.get("Contents", [])]
    return len(objects), sum(o["Size"] for o in objects)


def run(*, quick: bool, command: str) -> tuple[list[Row], dict]:
    from tests.conftest import S3_KEY_ID, S3_SECRET, s3_server
    from tests.postgres_server import PostgresServer, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    channels = QUICK_CHANNELS if quick else FULL_CHANNELS
    work = Path(tempfile.mkdtemp(prefix="signal-desk-bench-workers-"))
    rows: list[Row] = []
    measured: list[dict] = []
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, True)
        postgres = PostgresServer(bin_dir).start()
        stack.callback(postgres.stop)
        endpoint, s3 = stack.enter_context(s3_server(work))
        catalog_db = postgres.create_database()
        lake = f"ducklake:postgres:{catalog_db}"
        catalog = Catalog(catalog_db)
        os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
        server, _ = start_prefect_server()
        stack.callback(server.stop)
        config = write_config(work / "config", synthetic_outlets(channels))
        sources_yaml = config / "sources.yaml"
        sources_yaml.write_text(f"partitions: {PARTS}\n" + sources_yaml.read_text(encoding="utf-8"), encoding="utf-8")
        mirror = Mirror(channels, work / "mirror.log")
        stack.callback(mirror.stop)
        smtp = LocalSmtpServer(work / "inbox").start()
        stack.callback(smtp.stop)
        env = {**child_env(mirror.base_url, server.api_url), **smtp.desk_settings(),
               "AWS_ACCESS_KEY_ID": S3_KEY_ID, "AWS_SECRET_ACCESS_KEY": S3_SECRET, "DESK_S3_ENDPOINT": endpoint,
               "DESK_LAKE_DATA_PATH": f"s3://{BUCKET}/lake/"}
        hours = [("first hour", MEASURED_CLOCK - HOUR), ("second hour", MEASURED_CLOCK)]
        for hour, as_of in hours[:1] if quick else hours:
            mirror.set_clock(as_of)
            steps = [(f"part {k} of {PARTS}", ["--flow", "hourly", "--part", str(k)]) for k in range(1, PARTS + 1)]
            for what, args in steps + [("signals", ["--flow", "signals"])]:
                label = f"{hour}-{what}".replace(" ", "-")
                result_file = work / f"{label}.json"
                before_catalog, before_bucket, load_before = catalog.counters(), _bucket(s3), load_average()
                wall, cpu, code = run_measured([sys.executable, "-m", "bench.workers_bench", "child", *args,
                                                "--config", str(config), "--db", lake, "--as-of",
                                                as_of.isoformat(), "--result", str(result_file)],
                                               cwd=ROOT, env=env, log=work / f"{label}.log",
                                               timeout_s=CHILD_TIMEOUT_S)
                if code != 0 or not result_file.exists():
                    tail = (work / f"{label}.log").read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"{label}: exited with {code}:\n{tail}")
                after_catalog, after_bucket = catalog.counters(), _bucket(s3)
                result = json.loads(result_file.read_text(encoding="utf-8"))
                m = {"hour": hour, "what": what, "wall_s": wall, "cpu_s": cpu, "load": [load_before, load_average()],
                     **{f"catalog_{k}": after_catalog[k] - before_catalog[k] for k in after_catalog},
                     "objects_written": after_bucket[0] - before_bucket[0],
                     "mib_written": (after_bucket[1] - before_bucket[1]) / 2**20, "result": result}
                measured.append(m)
                counts = (f"{result['sources']} sources, {result['pages']} pages, {result['items_new']} new items; "
                          if what.startswith("part") else "")
                rows.append(Row("workers", f"{channels} ch, {hour}, {what}: CPU", cpu, "s", command=command,
                                note=f"{counts}wall {wall:.1f} s; load {load_before}-{load_average()}"))
                rows.append(Row("workers", f"{channels} ch, {hour}, {what}: catalog", m["catalog_commits"],
                                "commits", command=command,
                                note=f"{m['catalog_rows_written']} rows written, {m['catalog_snapshots']} DuckLake "
                                     f"snapshots"))
                rows.append(Row("workers", f"{channels} ch, {hour}, {what}: object store", m["mib_written"], "MiB",
                                command=command, note=f"{m['objects_written']} objects written", status=INFO))
    return rows, {"channels": channels, "parts": PARTS, "runs": measured}


if __name__ == "__main__":
    if sys.argv[1:2] != ["child"]:
        raise SystemExit("usage: python -m bench.workers_bench child ... (run by python -m bench)")
    child(sys.argv[2:])
