"""Past one machine, as runbook section 8 sets it up, on hosts of their own (tests/hosts.py): the hub runs
the Prefect server on PostgreSQL, the lake's catalog on PostgreSQL, the S3-compatible object store for its
Parquet files, the git repository the workers clone the code from, the mirror, the SMTP server and the
alerts' webhook. Two worker hosts run one process worker each for a configuration split in two parts.

Both parts start at once, and the host that took part 2 is killed while it runs: the other part still
lands, the killed run is marked Crashed and the alert for it goes out, and the part's next run lands its
sources with nothing lost.
Then the signals and the report, and an analyst on a worker host reads the lake."""
from __future__ import annotations

import asyncio
import contextlib
import email
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from mirror.scenario import load_scenario
from mirror.smtp import LocalSmtpServer
from signal_desk import db
from signal_desk.config import load_config, part_of
from tests.conftest import S3_BUCKET, S3_KEY_ID, S3_SECRET, free_port, s3_server
from tests.hosts import Hosts
from tests.reliability_table import record_outcome
from tests.postgres_server import REQUIRE_ENV, PostgresServer, postgres_bin_dir
from tests.test_deployment import PREFECT, ROOT, Processes, api, wait_for
from tests.test_ducklake import duplicate_keys
from tests.test_reliability_runs import Webhook

PARTS = 2
WATCHLIST = "us-iran-talks"
AS_OF = datetime(2026, 6, 29, 1, 5, tzinfo=timezone.utc)   # past Tehran's statement, the US reply and the wire
STATE_WAIT_S = 600          # one flow run in a fresh process on a loaded 2-core machine
CRASH_WAIT_S = 300          # 90 s without a heartbeat (automations.yaml), then the triggers service's turn


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


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120).stdout


def _code_repository(folder) -> None:
    """A bare repository holding this checkout's code (its uncommitted changes too), for git daemon."""
    commit = _git("stash", "create").strip() or _git("rev-parse", "HEAD").strip()
    _git("init", "-q", "--bare", str(folder / "desk.git"))
    _git("push", "-q", str(folder / "desk.git"), f"{commit}:refs/heads/main")


class Desk:
    """The Prefect API as the test reads it."""

    def __init__(self, api_url: str, procs: Processes):
        self.api_url, self.procs = api_url, procs

    def trigger(self, name: str, params: dict) -> str:
        out = self.procs.run(f"trigger-{name.split('/')[1]}-{time.monotonic_ns()}", str(PREFECT), "deployment",
                             "run", name, *[a for k, v in params.items() for a in ("--param", f"{k}={json.dumps(v)}")],
                             timeout=90)
        return re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)

    def create_run(self, name: str, params: dict) -> str:
        """A run of the deployment `flow/deployment`, created at once through the API."""
        deployment = api(self.api_url, "GET", f"/deployments/name/{name}")
        return api(self.api_url, "POST", f"/deployments/{deployment['id']}/create_flow_run",
                   {"parameters": params})["id"]

    def run(self, flow_run_id: str) -> dict:
        return api(self.api_url, "GET", f"/flow_runs/{flow_run_id}")

    def wait(self, flow_run_id: str, states: set[str], timeout: float, logs: list[str]) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(flow_run_id)
            if run["state_type"] in states:
                return run
            time.sleep(1)
        raise AssertionError(f"flow run {flow_run_id} is {run['state_type']} after {timeout:.0f} s, not in "
                             f"{states}:\n" + "\n".join(self.procs.log(name) for name in logs))

    def runs_of(self, flow_name: str) -> list[dict]:
        return api(self.api_url, "POST", "/flow_runs/filter", {"flows": {"name": {"any_": [flow_name]}}})


@pytest.mark.slow
@pytest.mark.timeout(3000)     # seven flow runs, each in a fresh process, a crash detected by silence
def test_workers_on_hosts_of_their_own_survive_one_host_dying(tmp_path, monkeypatch):
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        pytest.fail(message) if os.environ.get(REQUIRE_ENV) else pytest.skip(message)
    with contextlib.ExitStack() as stack:
        hosts = Hosts(["a", "b"])
        stack.callback(hosts.remove)
        print(f"hosts: {hosts.mode}; hub {hosts.hub}, workers {hosts.address}")
        hub = hosts.hub
        postgres = PostgresServer(bin_dir, host=hub, allow=hosts.network).start()
        stack.callback(postgres.stop)
        endpoint, s3 = stack.enter_context(s3_server(tmp_path, host=hub))
        prefect_db, catalog = postgres.create_database(), postgres.create_database()
        lake = f"{db.LAKE_PREFIX}postgres:{catalog}"

        config = tmp_path / "config"
        config.mkdir()
        (config / "watchlists.yaml").write_text((ROOT / "config/demo/watchlists.yaml").read_text(encoding="utf-8"))
        (config / "sources.yaml").write_text(f"partitions: {PARTS}\n"
                                             + (ROOT / "config/demo/sources.yaml").read_text(encoding="utf-8"))
        ports = {name: free_port(hub) for name in ("server", "mirror", "git")}
        api_url, mirror_url = f"http://{hub}:{ports['server']}/api", f"http://{hub}:{ports['mirror']}"
        monkeypatch.setenv("MIRROR_URL", mirror_url)
        cfg = load_config(config)
        part_of_source = {s.id: part_of(s.id, cfg.partitions) for s in cfg.sources}
        killed_part = 2
        assert sorted(set(part_of_source.values())) == [1, 2]

        code = tmp_path / "code"
        code.mkdir()
        _code_repository(code)

        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "AWS_", "DESK_")) and k.lower() not in {
                   "pythonpath", "http_proxy", "https_proxy", "all_proxy", "no_proxy"}}
        env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api_url, DO_NOT_TRACK="1",
                   PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="INFO", MIRROR_URL=mirror_url,
                   PYTHONUNBUFFERED="1", PREFECT_WORKER_QUERY_SECONDS="2",
                   AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET, DESK_S3_ENDPOINT=endpoint,
                   DESK_LAKE_DATA_PATH=f"s3://{S3_BUCKET}/lake/")
        procs = Processes(tmp_path, env)
        stack.callback(procs.stop_all)
        smtp = LocalSmtpServer(tmp_path / "inbox", host=hub).start()
        stack.callback(smtp.stop)
        webhook = Webhook(host=hub)
        stack.callback(webhook.close)

        mirror = procs.start("mirror", sys.executable, "-m", "mirror.server", "--host", hub, "--port",
                             str(ports["mirror"]), "--as-of", AS_OF.isoformat())
        procs.start("git", "git", "daemon", "--export-all", "--reuseaddr", f"--base-path={code}",
                    f"--listen={hub}", f"--port={ports['git']}", str(code))
        server_env = {**env, "PREFECT_API_DATABASE_CONNECTION_URL": _url(prefect_db)}
        server = Processes(tmp_path, server_env).start(
            "server", str(PREFECT), "server", "start", "--host", hub, "--port", str(ports["server"]),
            "--no-ui", "--no-scheduler", "--analytics-off")
        procs.started.append(("server", server))
        wait_for(f"{mirror_url}/_mirror/stats", mirror, 30, "the mirror", lambda: procs.log("mirror"))
        wait_for(f"{api_url}/health", server, 180, "prefect server", lambda: procs.log("server"))

        # The hub's operator: pool, blocks, deployments cloned from the repository, the automations.
        repository = f"git://{hub}:{ports['git']}/desk.git"
        procs.run("work-pool", str(PREFECT), "work-pool", "create", "desk", "--type", "process", timeout=90)
        procs.run("blocks", sys.executable, "-c",
                  "from prefect.blocks.system import Secret\n"
                  "from prefect.blocks.notifications import CustomWebhookNotificationBlock\n"
                  f"Secret(value={{'host': '{hub}', 'port': {smtp.port}, 'starttls': False, "
                  "'mail_from': 'desk@signal-desk.example'}).save('desk-smtp', overwrite=True)\n"
                  f"CustomWebhookNotificationBlock(name='desk alerts', url='{webhook.url}', "
                  "json_data={'text': '{{subject}}: {{body}}'}, allow_private_urls=True)"
                  ".save('desk-alerts', overwrite=True)", timeout=90)
        parts_file = tmp_path / "prefect.parts.yaml"
        procs.run("deployments", sys.executable, "-m", "flows.cli", "deployments", "--config", str(config),
                  "--out", str(parts_file), "--repository", repository, "--branch", "main", timeout=120)
        procs.run("deploy", str(PREFECT), "--no-prompt", "deploy", "--all", "--prefect-file", str(parts_file),
                  timeout=240)
        procs.run("automations", str(PREFECT), "automation", "create", "--from-file",
                  str(ROOT / "automations.yaml"), timeout=90)
        deployed = {d["name"]: d for d in api(api_url, "POST", "/deployments/filter", {})}
        assert {f"hourly-part-{k}-of-{PARTS}" for k in range(1, PARTS + 1)} | {"signals", "alert"} <= set(deployed)
        assert all(d["pull_steps"] == [{"prefect.deployments.steps.git_clone": {"repository": repository,
                                                                                  "branch": "main"}}]
                   for d in deployed.values())

        desk = Desk(api_url, procs)
        params = dict(config_dir=str(config), db_path=lake, politeness="mirror", as_of=AS_OF.isoformat())

        def worker(host: str, label: str):
            folder = tmp_path / f"worker-{label}"            # its own folder: the code comes from the clone
            folder.mkdir()
            return procs.start(f"worker-{label}", *hosts.on(host, str(PREFECT), "worker", "start", "--pool", "desk",
                                                            "--type", "process", "--install-policy", "never",
                                                            "--limit", "1"), cwd=folder)

        # Both workers idle, then both parts at once; each worker takes one (a busy worker takes no second).
        workers = {host: worker(host, host) for host in ("a", "b")}
        deadline = time.monotonic() + STATE_WAIT_S
        while not all("started!" in procs.log(f"worker-{host}") for host in workers):
            assert time.monotonic() < deadline, [procs.log(f"worker-{host}") for host in workers]
            time.sleep(0.2)
        killed = desk.create_run(f"hourly/hourly-part-{killed_part}-of-{PARTS}", params)
        survivor = desk.create_run(f"hourly/hourly-part-1-of-{PARTS}", params)
        while not (victim := next((h for h in workers if f"submitting flow run '{killed}'" in procs.log(f"worker-{h}")),
                                  None)):
            assert time.monotonic() < deadline, [procs.log(f"worker-{host}") for host in workers]
            time.sleep(0.05)
        [other] = set(workers) - {victim}

        # The victim's host dies mid-run: as soon as its run has fetched its pages, before it lands them,
        # every process on it is killed. (The worker's log is read: the API hears of task runs later.)
        while "Task run 'fetch-sources" not in procs.log(f"worker-{victim}"):
            state = desk.run(killed)["state_type"]        # the API may still say SCHEDULED
            assert time.monotonic() < deadline and state in ("SCHEDULED", "PENDING", "RUNNING"), \
                procs.log(f"worker-{victim}")
            time.sleep(0.05)
        hosts.kill(victim, workers[victim])

        assert desk.wait(survivor, {"COMPLETED", "FAILED", "CRASHED"}, STATE_WAIT_S,
                         [f"worker-{other}"])["state_type"] == "COMPLETED"
        crashed = desk.wait(killed, {"CRASHED"}, CRASH_WAIT_S, ["server"])
        assert "heartbeat" in crashed["state"]["message"]

        # The alert deployment's trigger fires on the Crashed run; the other host's worker runs the alert.
        deadline = time.monotonic() + STATE_WAIT_S
        while not webhook.received:
            assert time.monotonic() < deadline, (desk.runs_of("alert"), procs.log(f"worker-{other}"))
            time.sleep(1)
        alerts = list(webhook.received)
        assert len(alerts) == 1
        assert killed in webhook.received[0]["text"] and "Crashed" in webhook.received[0]["text"]

        # The host is back: the part's next run lands what the killed one did not.
        worker(victim, f"{victim}-again")
        logs = [f"worker-{other}", f"worker-{victim}-again"]
        rerun = desk.trigger(f"hourly/hourly-part-{killed_part}-of-{PARTS}", params)
        assert desk.wait(rerun, {"COMPLETED", "FAILED", "CRASHED"}, STATE_WAIT_S, logs)["state_type"] == "COMPLETED"
        signals = desk.trigger("signals/signals", {k: params[k] for k in ("config_dir", "db_path", "as_of")})
        assert desk.wait(signals, {"COMPLETED", "FAILED", "CRASHED"}, STATE_WAIT_S,
                         logs)["state_type"] == "COMPLETED"
        report = desk.trigger(f"report/{WATCHLIST}", {k: params[k] for k in ("config_dir", "db_path", "as_of")})
        assert desk.wait(report, {"COMPLETED", "FAILED", "CRASHED"}, STATE_WAIT_S,
                         logs)["state_type"] == "COMPLETED"

        # An analyst on a worker host attaches the lake read-only with the catalog's address and the store's keys.
        analyst = subprocess.run(
            hosts.on("a", sys.executable, "-c",
                     "import sys; from signal_desk import db; con = db.connect(sys.argv[1], read_only=True); "
                     "print(con.execute('select count(*) from items where not is_service').fetchone()[0])", lake),
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert analyst.returncode == 0, analyst.stderr[-3000:]

        # Prefect kept its runs in PostgreSQL.
        states = _prefect_rows(prefect_db, "select state_type, count(*) as n from flow_run group by 1")
        # the parts (one of them twice), the alert, the signals and the report
        assert {r["state_type"]: r["n"] for r in states} == {"COMPLETED": PARTS + 3, "CRASHED": 1}

        for name, value in dict(AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET,
                                DESK_S3_ENDPOINT=endpoint).items():
            monkeypatch.setenv(name, value)
        con = db.connect(lake, read_only=True)
        try:
            runs_recorded = con.execute("select flow, status from runs order by started_at").fetchall()
            landed: dict[str, list[str]] = {}
            items = con.execute("select source_id, item_id from items where not is_service").fetchall()
            for source_id, item_id in items:
                landed.setdefault(source_id, []).append(item_id)
            duplicates = duplicate_keys(con)
            rerun_landed = con.execute(
                "select count(*) from items i join runs r on r.run_id = i.first_run_id where r.status = 'completed' "
                "and r.started_at = (select max(started_at) from runs where flow = 'hourly')"
            ).fetchone()[0]
            contradictions = con.execute(
                "select speaker_a, speaker_b from mart_contradictions where watchlist_id = ? "
                "and claim_a = 'talks-suspended' and claim_b = 'talks-on-track'", [WATCHLIST]).fetchall()
            odds = con.execute("select count(*) from odds_snapshots").fetchone()[0]
            reports = con.execute("select status from reports where report_id like ?", [f"{WATCHLIST}%"]).fetchall()
        finally:
            con.close()
        objects = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=S3_BUCKET)
                   for o in page.get("Contents", [])]
        mail = [email.message_from_bytes(m.data) for m in smtp.received]

    print(f"runs in the lake: {runs_recorded}; items the killed part's next run landed: {rerun_landed}")
    scenario = load_scenario("iran_talks")
    expected = {(s.id, str(p.post_id)) for s in cfg.sources if s.kind == "telegram" for p in scenario.posts
                if p.outlet == s.handle and p.published_at <= AS_OF}
    record_outcome("runs", f"a worker host killed mid-run ({hosts.mode}: every process of it, SIGKILL, after its "
                   "fetch)", lost=len(expected - {(s, i) for s, ids in landed.items() for i in ids}),
                   duplicates=sum(len(ids) - len(set(ids)) for ids in landed.values()),
                   outcome=f"the other part Completed; the killed run marked Crashed ({crashed['state']['message']}); "
                           f"{len(alerts)} alert message(s) naming it; the part's next run landed the {rerun_landed} "
                           "posts the killed run had fetched")
    # Every item exactly once, the killed part's included; the killed run is left open, never completed.
    assert ("hourly", "completed") in runs_recorded and ("signals", "completed") in runs_recorded
    assert runs_recorded.count(("hourly", "completed")) == PARTS
    assert rerun_landed > 0                 # host b died before landing: its part's posts came with the next run
    assert set(landed) == {s.id for s in cfg.sources} and duplicates == {}
    assert all(len(ids) == len(set(ids)) for ids in landed.values())
    assert int(analyst.stdout.strip()) == sum(len(ids) for ids in landed.values())
    for src in (s for s in cfg.sources if s.kind == "telegram"):
        assert sorted(landed[src.id]) == sorted(str(p.post_id) for p in scenario.posts
                                                if p.outlet == src.handle and p.published_at <= AS_OF), src.id
    # The demo's facts: Tehran's "talks suspended" against the US official's "on track"; the blockade
    # market's odds; the report sent.
    assert ("an Iranian official", "a senior US official") in contradictions
    assert odds > 0
    assert reports == [("sent",)] and any(m["X-Desk-Report-Id"] for m in mail)
    assert any(k.startswith("lake/") and k.endswith(".parquet") for k in objects)
    assert not list(tmp_path.rglob("*.parquet"))
