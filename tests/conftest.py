import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

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
