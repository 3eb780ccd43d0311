"""The DuckDB database: connections, named migrations, and bulk upserts.

The write connection is held only while writing (see `writer`); analysts read a published
snapshot instead of the live file, because DuckDB lets no other process open a file a writer holds.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
DEFAULT_DB = Path("var/desk.duckdb")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def migrations() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied now."""
    con.execute("set timezone = 'UTC'")
    con.execute("""
        create table if not exists schema_migrations (
            name varchar primary key, sha256 varchar not null, applied_at timestamptz not null)
    """)
    done = dict(con.execute("select name, sha256 from schema_migrations").fetchall())
    applied = []
    for path in migrations():
        sql = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(sql.encode()).hexdigest()
        if path.stem in done:
            if done[path.stem] != digest:
                raise RuntimeError(
                    f"migration {path.name} changed after it was applied; add a new migration instead")
            continue
        con.execute("begin")
        try:
            con.execute(sql)
            con.execute("insert into schema_migrations values (?, ?, ?)", [path.stem, digest, utcnow()])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        applied.append(path.stem)
    return applied


def connect(path: Path | str = DEFAULT_DB, *, read_only: bool = False,
            lock_wait_s: float = 120.0) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if read_only:
        con = duckdb.connect(str(path), read_only=True)
        con.execute("set timezone = 'UTC'")
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting_for_lock(path, lock_wait_s)
    migrate(con)
    return con


def _connect_waiting_for_lock(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Another writer (an overlapping run) holds the file: wait for it rather than fail the run."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as e:
            if "lock" not in str(e).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


@contextmanager
def writer(path: Path | str = DEFAULT_DB) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived write connection: open, migrate, yield, checkpoint, close."""
    con = connect(path)
    try:
        yield con
        con.execute("checkpoint")
    finally:
        con.close()


def snapshot_path(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".snapshot" + path.suffix)


def publish_snapshot(path: Path | str = DEFAULT_DB) -> Path:
    """Copy the (closed, checkpointed) database beside itself and atomically swap it in as the
    read-only snapshot analysts open. Readers of the previous snapshot keep their open file."""
    path = Path(path)
    target = snapshot_path(path)
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    # Copy under the writer's lock: another process checkpointing mid-copy would tear the snapshot.
    con = connect(path)
    try:
        con.execute("checkpoint")
        shutil.copyfile(path, tmp)
    finally:
        con.close()
    os.replace(tmp, target)
    return target


def sha256_text(*parts: str | None) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update((p or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()
