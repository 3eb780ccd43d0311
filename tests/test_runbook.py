"""docs/runbook.md, section 9 ("Rehearse on the local mirror"), followed for real: its commands are read
from the runbook's code blocks and run as written, each terminal with its own exports, on free loopback
ports and with `var/rehearsal` moved into a temporary folder. A Prefect server, `prefect deploy --all`,
a process worker, the local mirror and a real SMTP server on 127.0.0.1; one hourly run against the
mirror and one report run, both watched to Completed; then what an operator checks: the items in the
DuckDB snapshot, the mail with the report, the report shown as sent. Afterwards, the runbook's warning
that `prefect deploy` turns a paused schedule back on is checked on the same server.

Every process started here is stopped, with its children, also when the test fails.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("prefect", reason="prefect is not installed")

from signal_desk import db  # noqa: E402
from tests.test_deployment import ROOT, Processes, api, free_port, wait_for  # noqa: E402

pytestmark = pytest.mark.slow

RUNBOOK = ROOT / "docs" / "runbook.md"
SECTION = "## 9. Rehearse on the local mirror"
# The ports the section uses (server, mirror, SMTP); the test gives each a free one instead.
DOCUMENTED_PORTS = ("4300", "8765", "8025")
# Commands that keep running (a terminal's server or worker, or started in the background with `&`).
LONG_RUNNING = re.compile(r"prefect (server|worker) start|&$")
WATCHLIST = "us-iran-talks"
RECIPIENTS = {"desk@example.org", "analyst@example.org"}      # config/demo/watchlists.yaml
# Generous: the machine running the tests may be small and busy.
SERVER_START_S, DEPLOY_S, FLOW_RUN_S, COMMAND_S = 180, 420, 900, 180


@dataclass
class Block:
    terminal: int
    commands: list[str] = field(default_factory=list)


def section(markdown: str) -> str:
    start = markdown.index(SECTION)
    end = markdown.find("\n## ", start + len(SECTION))
    return markdown[start:end if end > 0 else None]


def rehearsal_blocks(markdown: str) -> list[Block]:
    """The section's shell blocks in order, each named by its first line (`# terminal N: ...`), with
    continuation lines joined and comment lines left out."""
    blocks = []
    for body in re.findall(r"^```sh\n(.*?)^```", section(markdown), re.DOTALL | re.MULTILINE):
        lines = body.splitlines()
        label = re.match(r"# terminal (\d+)", lines[0])
        assert label, f"a block of {SECTION!r} does not say its terminal: {lines[0]!r}"
        block, pending = Block(int(label.group(1))), ""
        for line in lines[1:]:
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].strip() + " "
                continue
            command, pending = (pending + line.strip()).strip(), ""
            if command and not command.startswith("#"):
                block.commands.append(command)
        blocks.append(block)
    return blocks


def test_the_rehearsal_uses_three_terminals_and_says_what_each_needs():
    blocks = rehearsal_blocks(RUNBOOK.read_text(encoding="utf-8"))
    assert {b.terminal for b in blocks} == {1, 2, 3}
    first = {}
    for b in blocks:
        first.setdefault(b.terminal, b.commands[0])
    # each terminal's first block begins with its environment, and the worker's has the mirror's address
    assert all(command.startswith("export PREFECT_HOME=") for command in first.values()), first
    worker = [c for b in blocks if b.terminal == 2 for c in b.commands]
    assert any(c.startswith("export MIRROR_URL=http://127.0.0.1:8765") for c in worker), worker
    # the commands terminal is never blocked: only servers, the worker and `&` jobs keep running
    for b in blocks:
        long_running = [c for c in b.commands if LONG_RUNNING.search(c)]
        if b.terminal == 3:
            assert all(c.endswith("&") for c in long_running), long_running
        else:
            assert long_running == [b.commands[-1]], b.commands


class Rehearsal:
    """Runs the section's commands: one environment per terminal, long-running ones as processes."""

    def __init__(self, procs: Processes, folder: Path, ports: dict[str, int]):
        self.procs, self.folder, self.ports = procs, folder, ports
        self.exports: dict[int, list[str]] = {}
        self.outputs: list[tuple[str, str]] = []        # (command as documented, its output)
        self.count = 0

    def adapt(self, command: str) -> str:
        """The documented command with the test's ports and folder."""
        command = command.replace("$PWD/var/rehearsal", str(self.folder)).replace("var/rehearsal", str(self.folder))
        for documented, port in self.ports.items():
            command = re.sub(rf"\b{documented}\b", str(port), command)
        return command

    def in_terminal(self, terminal: int, command: str) -> list[str]:
        """argv running `command` with the exports made so far in that terminal, from the project folder."""
        return ["bash", "-c", "\n".join([*self.exports.get(terminal, []), command])]

    def run(self, block: Block) -> None:
        for documented in block.commands:
            command = self.adapt(documented)
            self.count += 1
            name = f"{self.count:02d}-terminal{block.terminal}-{command.split()[0].rsplit('/', 1)[-1]}"
            if command.startswith("export "):
                self.exports.setdefault(block.terminal, []).append(command)
            elif LONG_RUNNING.search(command):
                self.start(name, block.terminal, command)
            else:
                timeout = (FLOW_RUN_S if " deployment run " in command else
                           DEPLOY_S if " deploy " in command else COMMAND_S)
                out = self.procs.run(name, *self.in_terminal(block.terminal, command), timeout=timeout)
                self.outputs.append((documented, out))

    def start(self, name: str, terminal: int, command: str) -> None:
        """Start it (in the foreground of its own process, so stopping it stops it) and wait until it serves."""
        foreground = command.rstrip("& ")
        proc = self.procs.start(name, *self.in_terminal(terminal, "exec " + foreground))
        words = shlex.split(foreground)
        port = int(words[words.index("--port") + 1]) if "--port" in words else None
        redirected = Path(words[words.index(">") + 1]) if ">" in words else None

        def log() -> str:
            own = redirected.read_text(errors="replace")[-4000:] if redirected and redirected.exists() else ""
            return self.procs.log(name) + own

        if "server start" in command:
            wait_for(f"http://127.0.0.1:{port}/api/health", proc, SERVER_START_S, "the Prefect server", log)
        elif "mirror.smtp" in command:
            wait_for_port(port, proc, COMMAND_S, "the SMTP server", log)
        elif "mirror" in command:
            wait_for(f"http://127.0.0.1:{port}/_mirror/stats", proc, COMMAND_S, "the mirror", log)

    def output_of(self, pattern: str) -> str:
        found = [out for documented, out in self.outputs if re.search(pattern, documented)]
        assert found, f"no command matching {pattern!r} ran"
        return found[-1]


def wait_for_port(port: int, proc, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{log()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"{what} not listening on 127.0.0.1:{port} after {timeout:.0f} s:\n{log()}")


def flow_run_id(output: str) -> str:
    return re.search(r"UUID: ([0-9a-f-]{36})", output).group(1)


@pytest.mark.timeout(2400)
def test_the_rehearsal_runs_as_written(tmp_path):
    blocks = rehearsal_blocks(RUNBOOK.read_text(encoding="utf-8"))
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(DOCUMENTED_PORTS):      # three different ones
        ports = {documented: free_port() for documented in DOCUMENTED_PORTS}
    rehearsal_dir = tmp_path / "rehearsal"
    # What the terminals start from: the runbook's exports must supply the rest (Prefect's settings, the
    # mirror's address, the SMTP settings), so nothing of the test's own environment stands in for them.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "DESK_")) and k not in ("MIRROR_URL", "PYTEST_CURRENT_TEST")}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    procs = Processes(tmp_path, env)
    rehearsal = Rehearsal(procs, rehearsal_dir, ports)
    api_url = f"http://127.0.0.1:{ports['4300']}/api"
    try:
        for block in blocks:
            rehearsal.run(block)

        # Both runs Completed (`--watch` exits 1 otherwise; the server says so too).
        hourly_id = flow_run_id(rehearsal.output_of(r"deployment run hourly/hourly"))
        report_id = flow_run_id(rehearsal.output_of(rf"deployment run report/{WATCHLIST}"))
        for run_id in (hourly_id, report_id):
            run = api(api_url, "GET", f"/flow_runs/{run_id}")
            assert run["state_type"] == "COMPLETED", run["state"]
        hourly_run = api(api_url, "GET", f"/flow_runs/{hourly_id}")
        assert hourly_run["name"] == "hourly 2026-07-01 18:05 UTC"             # a name that says what ran
        artifacts = api(api_url, "POST", "/artifacts/filter",
                        {"artifacts": {"flow_run_id": {"any_": [hourly_id, report_id]}}})
        assert {"hourly-sources", "hourly-run-summary", f"report-{WATCHLIST}"} <= {a["key"] for a in artifacts}

        # What the operator checks, with the runbook's own commands.
        inbox = rehearsal.output_of(r"^ls .*inbox")
        assert "0001.eml" in inbox
        per_source = rehearsal.output_of(r"from items")
        assert "alalamarabic" in per_source and "reuters" in per_source, per_source
        assert re.search(rf"{WATCHLIST}\S*\s.*\bsent\b", rehearsal.output_of(r"from reports")), \
            rehearsal.output_of(r"from reports")
        assert re.search(r"talks-suspended\s.*desk@example\.org\s.*\bsent\b", rehearsal.output_of(r"from alerts")), \
            rehearsal.output_of(r"from alerts")

        check_that_deploy_resumes_a_paused_schedule(procs, api_url, rehearsal)
    finally:
        procs.stop_all()

    assert all(proc.poll() is not None for _, proc in procs.started)
    # The same facts, read directly: items landed, the report sent, the mail arrived with the report.
    con = db.connect(db.snapshot_path(rehearsal_dir / "desk.duckdb"), read_only=True)
    try:
        items = dict(con.execute("select source_id, count(*) from items group by all").fetchall())
        reports = con.execute("select report_id, status, subject from reports").fetchall()
        runs = con.execute("select flow, status, prefect_flow_run_id from runs").fetchall()
    finally:
        con.close()
    assert sum(items.values()) > 100 and items.get("alalamarabic"), items
    assert runs == [("hourly", "completed", hourly_id)]
    [(report, status, subject)] = reports
    assert report.startswith(WATCHLIST) and status == "sent"

    from signal_desk.report.mail import parse
    received = {eml: parse(eml.read_bytes()) for eml in sorted((rehearsal_dir / "inbox").glob("*.eml"))}
    # The hourly run's signal alerts went out through the same desk-smtp block: talks-suspended is
    # corroborated in the run's window, so both of its recipients hear of it.
    suspended = [m for m in received.values() if m["X-Desk-Alert-Id"] and "technical talks" in m["Subject"]
                 and "stays away" in m["Subject"]]
    assert sorted(m["To"] for m in suspended) == sorted(RECIPIENTS), [m["Subject"] for m in received.values()]
    [(eml, mail)] = [(eml, m) for eml, m in received.items() if m["X-Desk-Report-Id"]]
    assert mail["Subject"] == subject and mail["X-Desk-Report-Id"] == report
    assert RECIPIENTS <= set(re.findall(r"[\w.+-]+@[\w.-]+", mail["To"])), mail["To"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Reuters" in text and "Al-Alam Arabic" in text
    assert (rehearsal_dir / "reports" / WATCHLIST / f"{report}.eml").read_bytes() == eml.read_bytes()


def check_that_deploy_resumes_a_paused_schedule(procs: Processes, api_url: str, rehearsal: Rehearsal) -> None:
    """Section 2's warning, on the rehearsal's server: pause the hourly schedule with the runbook's command,
    deploy again, and it is active; the schedule prefect.yaml marks `active: false` stays paused."""
    def schedules(name: str) -> list[dict]:
        return api(api_url, "GET", f"/deployments/name/{name}")["schedules"]

    [hourly] = schedules("hourly/hourly")
    procs.run("pause-hourly", *rehearsal.in_terminal(
        3, f".venv/bin/prefect deployment schedule pause hourly/hourly {hourly['id']}"), timeout=COMMAND_S)
    assert [s["active"] for s in schedules("hourly/hourly")] == [False]
    procs.run("redeploy-hourly", *rehearsal.in_terminal(3, ".venv/bin/prefect deploy --name hourly"), timeout=DEPLOY_S)
    assert [s["active"] for s in schedules("hourly/hourly")] == [True], "prefect deploy left the paused schedule paused"
    assert [s["active"] for s in schedules("signals/signals")] == [False]
