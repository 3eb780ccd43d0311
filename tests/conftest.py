import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server starts slowly on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fresh_db(tmp_path):
    """A real, migrated DuckDB file, open for writing."""
    from tasks import db
    path = tmp_path / "desk.duckdb"
    con = db.connect(path)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The embedded demo, replayed once per test session through the real mirror and flows.
    Yields the path of the read-only snapshot it published."""
    from flows.demo import run_demo
    from tasks import db
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    run_demo(path, quiet=True)
    return db.snapshot_path(path)
