import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server starts slowly on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEMO_ALERTS_INBOX = "alerts-inbox"     # beside demo_db's database: the signal alerts its hourly runs sent


@pytest.fixture
def fresh_db(tmp_path):
    """A real, migrated DuckDB file, open for writing."""
    from signal_desk import db
    path = tmp_path / "desk.duckdb"
    con = db.connect(path)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The embedded demo, replayed once per test session through the real mirror and flows.
    Yields the path of the read-only snapshot it published."""
    from mirror.demo import run_demo
    from signal_desk import db
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    before = {k: os.environ.get(k) for k in ("MIRROR_URL", "DESK_SMTP_HOST", "DESK_SMTP_PORT")}
    run_demo(path, path.parent / DEMO_ALERTS_INBOX, quiet=True)
    # Regression: the demo once left MIRROR_URL at its stopped mirror, and later tests fetched from it.
    assert {k: os.environ.get(k) for k in before} == before, "the demo did not restore the environment"
    return db.snapshot_path(path)


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (the DuckLake catalog); each test takes its own database."""
    from tests.postgres_server import REQUIRE_ENV, PostgresServer, postgres_bin_dir
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture
def lake(postgres, tmp_path, monkeypatch):
    """The database setting of a new, empty DuckLake: a catalog database of its own, Parquet files in tmp."""
    from signal_desk import db
    monkeypatch.setenv(db.LAKE_DATA_PATH_ENV, str(tmp_path / "lake-files") + "/")
    return f"{db.LAKE_PREFIX}postgres:{postgres.create_database()}"


# The object store the DuckLake tests write to: moto's standalone S3 server, in its own process.
S3_BUCKET = "desk-lake"
S3_KEY_ID = "desk-writer"
S3_SECRET = "canary-s3-secret-7Qv2"      # must never be stored or shown


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at `host` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@contextmanager
def s3_server(folder: Path, host: str = "127.0.0.1"):
    """moto's S3 server in its own process on `host`, with one empty bucket; yields its endpoint URL and a
    client."""
    boto3 = pytest.importorskip("boto3")
    port = free_port(host)
    log = open(folder / "moto.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the S3 server did not start: {(folder / 'moto.log').read_text()}")
                time.sleep(0.2)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=S3_KEY_ID,
                              aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        client.create_bucket(Bucket=S3_BUCKET)
        yield endpoint, client
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def s3_store(tmp_path):
    """moto's S3 server on 127.0.0.1 (s3_server)."""
    with s3_server(tmp_path) as store:
        yield store
