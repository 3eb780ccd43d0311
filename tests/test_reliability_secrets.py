"""Credentials come from the environment or a Prefect Secret block and are never written anywhere.

One subprocess, with its own PREFECT_HOME, runs the hourly flow, the signals, and the report twice
against a real SMTP server on 127.0.0.1 that requires a login: once with the password from
DESK_SMTP_PASSWORD, once from a Secret block. Unique canary strings stand in for the secrets; then every
place the pipeline writes is searched for them: the DuckDB file and its snapshot (every table and column,
and the raw bytes), the Prefect database and everything else under PREFECT_HOME, the logs, flow and task
runs and artifacts as the Prefect API returns them, the archived reports, the delivered .eml files, and
the processes' own output.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from mirror.server import MirrorServer
from tests.pipeline_helpers import T0, small_scenario, write_config
from tests.reliability_table import record_outcome

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AS_OF = T0 + timedelta(hours=4)
SMTP_USER = "desk-sender"
CANARY = {name: f"canary-{name}-{uuid.uuid4().hex[:12]}" for name in ("smtp-env", "smtp-block", "api-env", "url-key")}

DRIVER = textwrap.dedent('''\
    import asyncio, json, os, sys
    from datetime import datetime, timedelta
    from flows.hourly import hourly
    from flows.report import report
    from flows.signals import recompute_signals

    cfg, db, archive, out = sys.argv[1:5]
    as_of = datetime.fromisoformat(sys.argv[5])
    hourly(config_dir=cfg, db_path=db, as_of=as_of, politeness="test")
    recompute_signals(config_dir=cfg, db_path=db, as_of=as_of)
    by_env = report("test-list", config_dir=cfg, db_path=db, as_of=as_of, archive_dir=archive)

    from prefect.blocks.system import Secret
    Secret(value=json.dumps(json.loads(os.environ.pop("BLOCK_VALUE")))).save("desk-smtp-canary", overwrite=True)
    os.environ["DESK_SMTP_BLOCK"] = "desk-smtp-canary"
    os.environ.pop("DESK_SMTP_PASSWORD")
    by_block = report("test-list", config_dir=cfg, db_path=db, as_of=as_of + timedelta(days=1), archive_dir=archive)

    from prefect.client.orchestration import get_client

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
                    "task_runs": await everything(client.read_task_runs),
                    "logs": await everything(client.read_logs),
                    "artifacts": await everything(client.read_artifacts)}

    api = asyncio.run(dump())
    api["results"] = [by_env, by_block]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(api, f, default=str)
''')


def forms(secret: str) -> list[bytes]:
    """The secret as it could be written: plain, base64 (alone and as SMTP AUTH PLAIN), hex."""
    plain = secret.encode()
    return [plain, base64.b64encode(plain), base64.b64encode(f"\0{SMTP_USER}\0{secret}".encode()),
            plain.hex().encode()]


class Inbox:
    def __init__(self, folder: Path):
        self.folder, self.logins, self.received = folder, [], []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.original_content or envelope.content)
        (self.folder / f"{len(self.received):04d}.eml").write_bytes(self.received[-1])
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = user == SMTP_USER and password in (CANARY["smtp-env"], CANARY["smtp-block"])
        if ok:
            self.logins.append(password)
        return AuthResult(success=ok)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Run everything once in a subprocess; return every place it wrote to."""
    from mirror.smtp import _AnyPortController
    tmp = tmp_path_factory.mktemp("secrets")
    (tmp / "inbox").mkdir()
    inbox = Inbox(tmp / "inbox")
    smtp = _AnyPortController(inbox, hostname="127.0.0.1", port=0, authenticator=inbox.authenticate,
                               auth_require_tls=False)
    smtp.start()
    try:
        with MirrorServer(small_scenario(), as_of=AS_OF) as mirror:
            cfg = write_config(tmp / "config", mirror.base_url)
            sources = cfg / "sources.yaml"
            sources.write_text(sources.read_text(encoding="utf-8").replace(
                "/rss/worldfeed.xml", "/rss/worldfeed.xml?key=${DESK_FEED_KEY}"), encoding="utf-8")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DESK_"))}
            env.update(
                PREFECT_HOME=str(tmp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
                PREFECT_LOGGING_LEVEL="INFO",
                DESK_SMTP_HOST="127.0.0.1", DESK_SMTP_PORT=str(smtp.port), DESK_SMTP_USER=SMTP_USER,
                DESK_SMTP_PASSWORD=CANARY["smtp-env"], DESK_SMTP_STARTTLS="false", DESK_SMTP_TIMEOUT="10",
                DESK_MAIL_FROM="Signal desk <desk@signal-desk.example>",
                DESK_SOURCE_API_KEY=CANARY["api-env"], DESK_FEED_KEY=CANARY["url-key"],
                BLOCK_VALUE=json.dumps({"host": "127.0.0.1", "port": smtp.port, "user": SMTP_USER,
                                        "password": CANARY["smtp-block"], "starttls": False,
                                        "mail_from": "Signal desk <desk@signal-desk.example>"}))
            driver = tmp / "driver.py"
            driver.write_text(DRIVER, encoding="utf-8")
            proc = subprocess.run(
                [sys.executable, str(driver), str(cfg), str(tmp / "desk.duckdb"), str(tmp / "archive"),
                 str(tmp / "api.json"), AS_OF.isoformat()],
                cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=600)
    finally:
        smtp.stop()
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return dict(tmp=tmp, inbox=inbox, output=proc.stdout + proc.stderr,
                api=json.loads((tmp / "api.json").read_text(encoding="utf-8")))


def duckdb_rows_with(path: Path, secret: str) -> list[str]:
    """'table.column' for every value in the database that contains the secret."""
    hits = []
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()]
        for table in tables:
            cur = con.execute(f'select * from "{table}"')
            cols = [d[0] for d in cur.description]
            for row in cur.fetchall():
                for col, value in zip(cols, row):
                    text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)
                    if secret in text:
                        hits.append(f"{table}.{col}")
    finally:
        con.close()
    return sorted(set(hits))


def places_with(written: dict, secret: str) -> list[str]:
    tmp: Path = written["tmp"]
    hits = []
    for db in ("desk.duckdb", "desk.snapshot.duckdb"):
        hits += [f"{db}: {where}" for where in duckdb_rows_with(tmp / db, secret)]
    for path in sorted(p for p in tmp.rglob("*") if p.is_file() and p.name != "driver.py"):
        data = path.read_bytes()
        if any(f in data for f in forms(secret)):
            hits.append(f"file {path.relative_to(tmp)}")
    for kind, rows in written["api"].items():
        if secret in json.dumps(rows) or base64.b64encode(secret.encode()).decode() in json.dumps(rows):
            hits.append(f"Prefect API {kind}")
    if any(f in written["output"] for f in forms(secret)):
        hits.append("process output")
    return hits


def test_both_ways_of_giving_the_smtp_password_were_used(written):
    inbox = written["inbox"]
    assert inbox.logins == [CANARY["smtp-env"], CANARY["smtp-block"]]
    assert len(inbox.received) == 2
    [by_env, by_block] = written["api"]["results"]
    assert by_env["status"] == by_block["status"] == "sent"


def test_what_is_searched_is_really_there(written):
    """The search covers real outputs: logs, artifacts, reports, the Prefect database, the .eml files."""
    tmp, api = written["tmp"], written["api"]
    assert api["logs"] and api["artifacts"] and api["flow_runs"] and api["task_runs"]
    assert list((tmp / "archive").rglob("*.eml")) and list((tmp / "archive").rglob("*.html"))
    assert len(list((tmp / "inbox").glob("*.eml"))) == 2
    assert (tmp / "prefect").is_dir() and any((tmp / "prefect").rglob("*.db"))
    assert duckdb_rows_with(tmp / "desk.duckdb", "test-list")        # the search does find what is there


@pytest.mark.parametrize("name", ["smtp-env", "smtp-block", "api-env"])
def test_a_credential_appears_nowhere(written, name):
    hits = places_with(written, CANARY[name])
    record_outcome("secrets", {"smtp-env": "SMTP password from DESK_SMTP_PASSWORD",
                               "smtp-block": "SMTP password from a Prefect Secret block",
                               "api-env": "API-key-like variable in the run's environment"}[name],
                   lost=None, duplicates=None,
                   outcome="found nowhere" if not hits else "found in " + "; ".join(hits))
    assert hits == []


def test_an_api_key_given_to_a_source_url_through_the_environment_appears_nowhere(written):
    hits = places_with(written, CANARY["url-key"])
    record_outcome("secrets", "API key in a source URL via ${DESK_FEED_KEY}", lost=None, duplicates=None,
                   outcome="found nowhere" if not hits else "found in " + "; ".join(hits))
    assert hits == []
