"""prefect.yaml, checked statically and then for real: a Prefect server on 127.0.0.1, `prefect deploy --all`
from the project's prefect.yaml, the hourly deployment triggered and run by a process worker against the
local mirror, and the DuckDB file it wrote. Every process started here is stopped, with its children.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest
import yaml

pytest.importorskip("prefect", reason="prefect is not installed")
import httpx  # noqa: E402  (after the skip: prefect brings it)

from mirror.scenario import load_scenario  # noqa: E402
from mirror.smtp import LocalSmtpServer  # noqa: E402
from signal_desk import db  # noqa: E402
from signal_desk.config import load_config  # noqa: E402
from signal_desk.report.mail import parse  # noqa: E402
from tests.conftest import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PREFECT = Path(sys.executable).with_name("prefect")
AS_OF = datetime(2026, 6, 28, 19, 5, tzinfo=timezone.utc)     # the demo's first run time
ENTRYPOINTS = {
    "flows/hourly.py:hourly", "flows/report.py:report", "flows/backfill.py:backfill",
    "flows/signals.py:recompute_signals", "flows/signals.py:signals", "flows/alerts.py:alert",
}
# The alerts prefect.yaml declares: automation name -> the flow whose runs it watches.
ALERTS = {"hourly run failed": "hourly", "report run failed": "report"}
DID_NOT_COMPLETE = {"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"}


def prefect_spec() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def flow_function(entrypoint: str):
    import importlib
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name).fn


# --- prefect.yaml without a server -------------------------------------------------------------------

def test_every_watch_list_has_a_report_deployment_on_its_own_schedule():
    watchlists = load_config(ROOT / "config").watchlists
    reports = [d for d in prefect_spec()["deployments"] if d["entrypoint"] == "flows/report.py:report"]
    by_watchlist = {d["parameters"]["watchlist_id"]: d for d in reports}
    assert len(by_watchlist) == len(reports), "two report deployments for one watch list"
    assert set(by_watchlist) == {w.id for w in watchlists}
    for w in watchlists:
        assert by_watchlist[w.id]["schedules"] == [{"cron": w.report.cron, "timezone": w.report.timezone}], w.id


def test_deployments_name_real_flows_and_their_parameters():
    spec = prefect_spec()
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert {d["entrypoint"] for d in deployments.values()} == ENTRYPOINTS
    hourly = deployments["hourly"]
    assert hourly["schedules"] == [{"cron": "7 * * * *", "timezone": "UTC"}]
    assert hourly["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    for name, d in deployments.items():
        signature = inspect.signature(flow_function(d["entrypoint"]))
        unknown = set(d["parameters"]) - set(signature.parameters)
        assert not unknown, f"{name}: parameters {unknown} are not parameters of {d['entrypoint']}"
        assert d["work_pool"]["name"] == "desk", name
        env = d["work_pool"]["job_variables"]["env"]
        assert env["DO_NOT_TRACK"] == "1" and env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false", name
        assert "password" not in json.dumps(d).lower(), f"{name}: secrets belong in a block, not in prefect.yaml"
        # One setting moves every deployment from the DuckDB file to a DuckLake.
        if d["entrypoint"] != "flows/alerts.py:alert":       # the alert reads the Prefect API only
            assert d["parameters"]["db_path"] == spec["definitions"]["database"], name
    assert deployments["us-iran-talks"]["work_pool"]["job_variables"]["env"]["DESK_SMTP_BLOCK"] == "desk-smtp"
    # The backfill's range has no default: it must be given at each run.
    required = [p.name for p in inspect.signature(flow_function("flows/backfill.py:backfill")).parameters.values()
                if p.default is inspect.Parameter.empty]
    assert required == ["start", "end"]
    assert spec["pull"] == [{"prefect.deployments.steps.set_working_directory":
                             {"directory": "{{ project-folder.stdout }}"}}]


def labels(value) -> list[str]:
    """A resource filter's value: one label or a list of them."""
    return [value] if isinstance(value, str) else list(value)


def test_failed_hourly_and_report_runs_start_an_alert():
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers
    from flows.alerts import alert
    deployments = {d["name"]: d for d in prefect_spec()["deployments"]}
    triggers = _initialize_deployment_triggers("alert", deployments["alert"]["triggers"])
    assert {t.name: labels(t.match_related["prefect.resource.name"]) for t in triggers} == \
        {name: [watched] for name, watched in ALERTS.items()}
    for t in triggers:
        assert t.enabled and t.posture == "Reactive" and set(t.expect) == DID_NOT_COMPLETE, t.name
        assert labels(t.match["prefect.resource.id"]) == ["prefect.flow-run.*"], t.name
        assert labels(t.match_related["prefect.resource.role"]) == ["flow"], t.name
        assert set(t.parameters) <= set(inspect.signature(alert.fn).parameters), t.name
    # No trigger watches the alert flow itself: a failing alert must not start another.
    assert "alert" not in ALERTS.values()


# --- a real server and worker -------------------------------------------------------------------------

def _proc_stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, start time) of children of children (Linux /proc): Prefect starts flow runs in their own
    sessions, so killing the worker's process group does not reach them."""
    children: dict[int, list[tuple[int, str]]] = {}
    for stat_dir in Path("/proc").glob("[0-9]*"):
        fields = _proc_stat(stat_dir.name)
        if fields and len(fields) > 19:
            children.setdefault(int(fields[1]), []).append((int(stat_dir.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += [k for k, _ in kids]
    return found


def signal_if_same(pid: int, started: str, sig: int) -> None:
    """Signal a process and its group, unless its pid now belongs to another process."""
    fields = _proc_stat(pid)
    if not fields or fields[19] != started:
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Processes:
    """Every process the test starts, each in its own process group, logs in the tmp folder."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir, self.env = log_dir, env
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *args: str, cwd: Path = ROOT) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(args, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.started.append((name, proc))
        return proc

    def run(self, name: str, *args: str, timeout: float, cwd: Path = ROOT) -> str:
        """Run to completion; on a timeout the process stays listed, so stop_all ends it and its children."""
        proc = self.start(name, *args, cwd=cwd)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{name} did not finish in {timeout:.0f} s:\n{self.log(name)}") from None
        assert proc.returncode == 0, f"{name} failed ({proc.returncode}):\n{self.log(name)}"
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_all(self) -> None:
        targets: list[tuple[int, str]] = []
        for _, proc in reversed(self.started):
            fields = _proc_stat(proc.pid)
            if fields and proc.poll() is None:
                targets.append((proc.pid, fields[19]))
            targets += descendants(proc.pid)
        for pid, started in targets:
            signal_if_same(pid, started, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for pid, started in targets:
            signal_if_same(pid, started, signal.SIGKILL)
        for _, proc in self.started:
            proc.wait(timeout=5)


def wait_for(url: str, proc: subprocess.Popen, timeout: float, what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{what} exited with {proc.returncode}:\n{log()}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise AssertionError(f"{what} not answering at {url} after {timeout:.0f} s:\n{log()}")


def api(api_url: str, method: str, path: str, body: dict | None = None):
    with httpx.Client(trust_env=False, timeout=10) as client:
        resp = client.request(method, api_url + path, json=body)
        resp.raise_for_status()
        return resp.json()


@pytest.mark.slow
@pytest.mark.timeout(900)     # bounds below; a loaded 2-core machine needs several times the idle 100 s
def test_hourly_deployment_runs_on_a_worker_and_lands_the_mirror_in_duckdb(tmp_path, monkeypatch):
    server_port, mirror_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{server_port}/api"
    mirror_url = f"http://127.0.0.1:{mirror_port}"
    db_path = tmp_path / "desk.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=api_url, DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="INFO",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               MIRROR_URL=mirror_url, PYTHONUNBUFFERED="1")
    procs = Processes(tmp_path, env)
    smtp = LocalSmtpServer(tmp_path / "inbox").start()      # the demo's watch list sends signal alerts
    try:
        mirror = procs.start("mirror", sys.executable, "-m", "mirror.server", "--port", str(mirror_port),
                             "--as-of", AS_OF.isoformat())
        # The scheduler stays off: the only run is the one this test triggers.
        server = procs.start("server", str(PREFECT), "server", "start", "--host", "127.0.0.1",
                             "--port", str(server_port), "--no-ui", "--no-scheduler", "--analytics-off")
        wait_for(f"{mirror_url}/_mirror/stats", mirror, 30, "the mirror", lambda: procs.log("mirror"))
        wait_for(f"{api_url}/health", server, 120, "prefect server", lambda: procs.log("server"))

        procs.run("work-pool", str(PREFECT), "work-pool", "create", "desk", "--type", "process", timeout=60)
        # The hourly deployment reads its SMTP settings (for the alerts) from this block, as in production.
        procs.run("smtp-block", sys.executable, "-c",
                  "from prefect.blocks.system import Secret; Secret(value={'host': '127.0.0.1', 'port': "
                  f"{smtp.port}, 'starttls': False, 'mail_from': 'desk@signal-desk.example'}})"
                  ".save('desk-smtp', overwrite=True)", timeout=60)
        yaml_before = (ROOT / "prefect.yaml").read_bytes()
        procs.run("deploy", str(PREFECT), "--no-prompt", "deploy", "--all", "--prefect-file", "prefect.yaml",
                  timeout=150)
        assert (ROOT / "prefect.yaml").read_bytes() == yaml_before, "prefect deploy rewrote prefect.yaml"

        deployed = {d["name"]: d for d in api(api_url, "POST", "/deployments/filter", {})}
        assert set(deployed) == {d["name"] for d in prefect_spec()["deployments"]}
        hourly = deployed["hourly"]
        assert [s["schedule"]["cron"] for s in hourly["schedules"]] == ["7 * * * *"]
        assert hourly["work_pool_name"] == "desk"
        # The build step recorded the folder `prefect deploy` ran in; flow runs start there.
        assert hourly["pull_steps"] == [{"prefect.deployments.steps.set_working_directory":
                                         {"directory": str(ROOT)}}]
        # The alerts exist as automations that run the alert deployment.
        automations = {a["name"]: a for a in api(api_url, "POST", "/automations/filter", {})}
        for name, watched in ALERTS.items():
            assert name in automations, f"alert {name!r} was not created; automations: {sorted(automations)}"
            automation = automations[name]
            trigger = automation["trigger"]
            assert automation["enabled"] and set(trigger["expect"]) == DID_NOT_COMPLETE, automation
            assert labels(trigger["match_related"]["prefect.resource.name"]) == [watched], automation
            [action] = automation["actions"]
            assert action["type"] == "run-deployment" and action["deployment_id"] == deployed["alert"]["id"], action
            assert action["parameters"] == {"flow_run": "{{ event.resource.id }}"}, action
        report = deployed["us-iran-talks"]
        assert report["schedules"][0]["schedule"]["timezone"] == "Europe/London"
        assert report["job_variables"]["env"]["DESK_SMTP_BLOCK"] == "desk-smtp"

        params = dict(config_dir="config/demo", db_path=str(db_path), politeness="mirror",
                      as_of=AS_OF.isoformat())
        out = procs.run("trigger", str(PREFECT), "deployment", "run", "hourly/hourly",
                        *[a for k, v in params.items() for a in ("--param", f"{k}={json.dumps(v)}")], timeout=60)
        flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", out).group(1)

        # --run-once: take the scheduled run, run it to the end, exit. Started from elsewhere on purpose,
        # so the pull step is what puts the run in the project folder.
        procs.run("worker", str(PREFECT), "worker", "start", "--pool", "desk", "--type", "process", "--run-once",
                  "--install-policy", "never", timeout=540, cwd=tmp_path)
        run = api(api_url, "GET", f"/flow_runs/{flow_run_id}")
        assert run["state_type"] == "COMPLETED", f"{run['state_type']}: {run['state']}\n{procs.log('worker')}"
    finally:
        procs.stop_all()
        smtp.stop()

    assert all(proc.poll() is not None for _, proc in procs.started)
    scenario = load_scenario("iran_talks")
    con = db.connect(db.snapshot_path(db_path), read_only=True)
    try:
        runs = con.execute("select flow, status, as_of from runs").fetchall()
        landed = {}
        for source_id, item_id in con.execute("select source_id, item_id from items where not is_service").fetchall():
            landed.setdefault(source_id, set()).add(item_id)
        odds = con.execute("select count(*) from odds_snapshots").fetchone()[0]
        alerts = con.execute("select status, message_id from alerts where channel = 'email'").fetchall()
    finally:
        con.close()
    assert runs == [("hourly", "completed", AS_OF)]
    monkeypatch.setenv("MIRROR_URL", mirror_url)
    cfg = load_config(ROOT / "config" / "demo")
    assert set(landed) == {s.id for s in cfg.sources}
    for src in (s for s in cfg.sources if s.kind == "telegram"):
        published = {str(p.post_id) for p in scenario.posts
                     if p.outlet == src.handle and p.published_at <= AS_OF}
        assert landed[src.id] == published, src.id
    # Al-Alam's 18:05 UTC post on Waltz and the shipping attacks, a seed of the demo day.
    assert "61905" in landed["alalamarabic"]
    assert odds > 0
    # every alert the run owed went out through the block's server, once
    assert {status for status, _ in alerts} <= {"sent"}
    assert sorted(m for _, m in alerts) == sorted(parse(r.data)["Message-ID"] for r in smtp.received)

