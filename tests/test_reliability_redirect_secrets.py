"""A credential in a source URL stays out of everything stored or shown, also when the source redirects.

Two feeds are configured with `?token=${NAME}` in their URL; the mirror answers one with a 302 to another
path on the same host that keeps the query (the feed then lands from there), and the other with a 302 to
another host that keeps the query (refused: it is reported as the source's error). One subprocess, with
its own PREFECT_HOME, runs the hourly flow; then the canary values are searched for as
tests/test_reliability_secrets.py searches: every table and column of the DuckDB file and its snapshot
and their raw bytes, every file under the run's folder (the Prefect database included), the logs, flow
and task runs and artifacts as the Prefect API returns them, and the process output.
"""
from __future__ import annotations

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

from mirror.scenario_types import Outlet, Post
from mirror.server import MirrorServer
from tests.pipeline_helpers import T0, small_scenario, write_config
from tests.reliability_table import record_outcome
from tests.test_reliability_secrets import places_with

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
AS_OF = T0 + timedelta(hours=4)
CANARY = {"same-host": f"canary-same-host-{uuid.uuid4().hex[:12]}",
          "other-host": f"canary-other-host-{uuid.uuid4().hex[:12]}"}
FEEDS = {  # source id -> (the variable in its URL, the mirror fault)
    "movedfeed": ("DESK_API_TOKEN", "redirect-same-host"),
    "gonefeed": ("DESK_FEED_TOKEN", "redirect-offhost-query"),
}
VALUE_OF = {"DESK_API_TOKEN": CANARY["same-host"], "DESK_FEED_TOKEN": CANARY["other-host"]}

DRIVER = textwrap.dedent('''\
    import asyncio, json, sys
    from datetime import datetime
    from flows.hourly import hourly

    cfg, db, out = sys.argv[1:4]
    as_of = datetime.fromisoformat(sys.argv[4])
    summary = hourly(config_dir=cfg, db_path=db, as_of=as_of, politeness="test", with_markets=False)

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
    api["results"] = [summary]
    with open(out, "w", encoding="utf-8") as f:
        json.dump(api, f, default=str)
''')


def scenario():
    sc = small_scenario(with_market=False)
    for handle in FEEDS:
        sc.outlets.append(Outlet("rss", handle, handle.title(), "en", "western-wire"))
        sc.posts += [Post(handle, "rss", i + 1, T0 + timedelta(minutes=13 * i), f"{handle} body {i}",
                          title=f"{handle} title {i}", links=[f"https://news.example.org/{handle}/{i + 1}"])
                     for i in range(3)]
    return sc


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redirect-secrets")
    with MirrorServer(scenario(), as_of=AS_OF) as mirror:
        extra = "".join(
            f'  - {{id: {sid}, kind: rss, url: "{mirror.base_url}/rss/{sid}.xml?token=${{{var}}}", '
            f"name: {sid}, register: western-wire, language: en}}\n" for sid, (var, _) in FEEDS.items())
        cfg = write_config(tmp / "config", mirror.base_url, extra_sources=extra, with_market=False)
        for sid, (_, fault) in FEEDS.items():
            mirror.add_fault(f"/rss/{sid}.xml", fault)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DESK_"))}
        env.update(PREFECT_HOME=str(tmp / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
                   PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PREFECT_LOGGING_LEVEL="INFO",
                   **VALUE_OF)
        driver = tmp / "driver.py"
        driver.write_text(DRIVER, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(driver), str(cfg), str(tmp / "desk.duckdb"), str(tmp / "api.json"),
             AS_OF.isoformat()],
            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=600)
        moved_requests = mirror.request_count("/moved/rss/movedfeed.xml")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-3000:]
    return dict(tmp=tmp, output=proc.stdout + proc.stderr, moved_requests=moved_requests,
                api=json.loads((tmp / "api.json").read_text(encoding="utf-8")))


def query(db: Path, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_the_redirects_really_happened(written):
    """The same-host redirect was followed and its feed landed; the other-host one was refused and reported,
    both under the placeholder (so what is searched below is really there)."""
    db = written["tmp"] / "desk.duckdb"
    assert written["moved_requests"] >= 1
    assert query(db, "select count(*) from items where source_id = 'movedfeed'")[0][0] == 3
    urls = [u for (u,) in query(db, "select url from raw_fetches where source_id = 'movedfeed'")]
    assert any("/moved/" in u and "${DESK_API_TOKEN}" in u for u in urls), urls
    status, error = query(db, "select status, error from run_sources where source_id = 'gonefeed'")[0]
    assert status == "error" and "redirect to another host" in error and "${DESK_FEED_TOKEN}" in error, error
    summary = query(db, "select summary from runs")[0][0]
    assert "${DESK_FEED_TOKEN}" in summary
    assert any("${DESK_FEED_TOKEN}" in json.dumps(a) for a in written["api"]["artifacts"])
    assert any("${DESK_FEED_TOKEN}" in log["message"] for log in written["api"]["logs"])


@pytest.mark.parametrize("case", ["same-host", "other-host"])
def test_a_token_in_a_redirected_source_url_appears_nowhere(written, case):
    hits = places_with(written, CANARY[case])
    record_outcome("secrets", {"same-host": "token in a source URL, 302 to the same host keeping the query",
                               "other-host": "token in a source URL, 302 to another host keeping the query"}[case],
                   lost=None, duplicates=None,
                   outcome="found nowhere" if not hits else "found in " + "; ".join(hits))
    assert hits == []


# ---- the fetch layer alone ------------------------------------------------------------------------

def _fetch(mirror: MirrorServer, url: str, **fetcher_options):
    import asyncio
    from signal_desk.http import FetchError, Fetcher, FetchPolicy

    async def go():
        async with Fetcher(FetchPolicy.for_tests(), **fetcher_options) as fetcher:
            try:
                return await fetcher.get(url)
            except FetchError as e:
                return e
    return asyncio.run(go())


def test_a_credential_never_follows_a_redirect_to_another_host_even_one_allowed(monkeypatch):
    from signal_desk.http import FetchError
    secret = f"canary-allowed-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("DESK_API_TOKEN", secret)
    with MirrorServer(scenario(), as_of=AS_OF) as mirror:
        # "localhost" is another host to the fetch layer, and still this machine
        port = mirror.base_url.rsplit(":", 1)[1]
        mirror.add_fault("/rss/gonefeed.xml", "redirect-offhost-query", to_host=f"localhost:{port}")
        result = _fetch(mirror, f"{mirror.base_url}/rss/gonefeed.xml?token=${{DESK_API_TOKEN}}",
                        allowed_redirect_hosts=frozenset({"localhost"}))
    text = str(result) if isinstance(result, FetchError) else repr(result)
    record_outcome("secrets", "token in a source URL, 302 to another host on the allowed list", lost=None,
                   duplicates=None, outcome=f"{'found' if secret in text else 'not found'}; "
                                            f"{text.replace(f'localhost:{port}', 'localhost:PORT')}")
    assert isinstance(result, FetchError) and "carries a credential" in result.reason
    assert secret not in text and "${DESK_API_TOKEN}" in text


def test_a_credential_with_characters_urls_encode_is_redacted_in_every_form(monkeypatch):
    """The server may repeat the token percent-encoded (here: the same-host redirect keeps the query as
    httpx encoded it); every stored field names the placeholder."""
    from urllib.parse import quote, quote_plus
    secret = f"canary/enc+{uuid.uuid4().hex[:8]}= x&y"
    monkeypatch.setenv("DESK_API_TOKEN", secret)
    with MirrorServer(scenario(), as_of=AS_OF) as mirror:
        mirror.add_fault("/rss/movedfeed.xml", "redirect-same-host")
        resp = _fetch(mirror, f"{mirror.base_url}/rss/movedfeed.xml?token=${{DESK_API_TOKEN}}")
    stored = " ".join([resp.url, json.dumps(resp.headers), resp.body.decode("utf-8", "replace")])
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    found = sorted(f for f in forms if f in stored)
    record_outcome("secrets", "token with characters URLs encode, same-host 302", lost=None, duplicates=None,
                   outcome="found nowhere" if not found else f"found as {found}")
    assert "/moved/" in resp.url and "${DESK_API_TOKEN}" in resp.url, resp.url
    assert found == []
