"""Where the desk's tables live: connections, named migrations and the analysts' snapshot.

Two storage backends, chosen by the database setting (`db_path` of every flow, `--db` of every command):

- a DuckDB file (the default, `var/desk.duckdb`): one machine. The write connection is held only
  while writing (see `writer`); analysts read a published snapshot instead of the live file, because
  DuckDB lets no other process open a file a writer holds.
- a DuckLake, `ducklake:postgres:<libpq connection string>`: the catalog in PostgreSQL and the data
  as Parquet files under `DESK_LAKE_DATA_PATH` (shared storage), for several workers writing and many
  analysts reading at once; every committed transaction is a snapshot readers see whole. The
  password comes from libpq's own environment (PGPASSWORD or a .pgpass file), never from the setting.

DuckLake has no PRIMARY KEY or UNIQUE constraints, so every upsert is a MERGE on the table's key
(the same statement on both backends) and migrations drop key constraints when applied to a lake.
"""
from __future__ import annotations

import atexit
import errno
import functools
import glob
import hashlib
import importlib.util
import logging
import os
import random
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from signal_desk.clock import as_utc, utcnow  # noqa: F401 -- re-exported: callers write db.utcnow(), db.as_utc()
from signal_desk.config import env_seconds

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
DEFAULT_DB = Path("var/desk.duckdb")
LAKE_PREFIX = "ducklake:"
LAKE_DATA_PATH_ENV = "DESK_LAKE_DATA_PATH"
LAKE_ALIAS = "desk"
# How long a writer waits for another process to release a DuckDB file before it gives up.
LOCK_WAIT_ENV = "DESK_DB_LOCK_WAIT_S"
DEFAULT_LOCK_WAIT_S = 120.0
_LOCK_HOLDER_RE = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
# The extensions DuckLake needs, loaded from their PyPI packages (no network): entry point name ->
# (package, file name in the package). DuckDB finds an extension's entry point by its file name.
LAKE_EXTENSIONS = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "postgres_scanner": ("duckdb_extension_postgres", "postgres"),
}
S3_EXTENSION = {"httpfs": ("duckdb_extension_httpfs", "httpfs")}     # loaded only for a lake on S3
# The lake's Parquet files on S3-compatible storage (DESK_LAKE_DATA_PATH=s3://bucket/prefix/): the
# credentials come from the standard AWS variables only; this names a store other than AWS itself.
S3_ENDPOINT_ENV = "DESK_S3_ENDPOINT"

_COLUMN_KEY_RE = re.compile(r"\bprimary key\b(?!\s*\()", re.IGNORECASE)
_TABLE_KEY_RE = re.compile(r",([ \t]*--[^\n]*)?\n[ \t]*(?:primary key|unique)\s*\([^)]*\)", re.IGNORECASE)


class StorageError(RuntimeError):
    """The database setting cannot be opened; the message names the setting and what to do."""


class DatabaseLocked(StorageError):
    """Another process held a DuckDB file for longer than a writer waits. `holder` is what DuckDB said
    about it (its PID and program), with its command line when this machine can read it."""

    def __init__(self, path: Path, waited_s: float, holder: str | None):
        self.path, self.waited_s, self.holder = path, waited_s, holder
        who = f"held by {holder}" if holder else "held by another process"
        super().__init__(f"{path}: still {who} after waiting {waited_s:.0f} s; "
                         f"nothing was written (raise {LOCK_WAIT_ENV} to wait longer)")


class SnapshotError(StorageError):
    """The analysts' snapshot could not be published; the message names the file and the reason."""


def is_lake(target: Path | str) -> bool:
    return str(target).startswith(LAKE_PREFIX)


def migrations() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))


def without_key_constraints(sql: str) -> str:
    """A migration as DuckLake can apply it: key columns stay NOT NULL, the keys are kept by MERGE."""
    return _COLUMN_KEY_RE.sub("not null", _TABLE_KEY_RE.sub(r"\1", sql))


def migrate(con: duckdb.DuckDBPyConnection, *, lake: bool = False) -> list[str]:
    """Apply the migrations not yet recorded; returns the names applied now. A migration's recorded
    digest is that of its file, whichever backend it was applied to."""
    con.execute("set timezone = 'UTC'")
    ddl = """
        create table if not exists schema_migrations (
            name varchar primary key, sha256 varchar not null, applied_at timestamptz not null)
    """
    con.execute(without_key_constraints(ddl) if lake else ddl)
    done = dict(con.execute("select name, sha256 from schema_migrations").fetchall())
    applied = []
    for path in migrations():
        sql = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(sql.encode()).hexdigest()
        if path.stem in done:
            _check_digest(path, done[path.stem], digest)
        elif _apply_migration(con, path, without_key_constraints(sql) if lake else sql, digest):
            applied.append(path.stem)
    if applied:
        comment_tables(con, lake=lake)
    return applied


def comment_tables(con: duckdb.DuckDBPyConnection, *, lake: bool = False) -> int:
    """Put docs/tables.md's descriptions on the tables, views and columns as their comments (see
    signal_desk.data_dictionary); returns how many changed. A dictionary that cannot be read is a warning,
    not a failed run: the data is whole without its comments."""
    from signal_desk.data_dictionary import DictionaryError, comment_statements
    try:
        statements = comment_statements(con, lake=lake)
    except (OSError, DictionaryError) as error:
        logging.getLogger(__name__).warning("the tables keep their previous comments: %s", error)
        return 0
    if statements:
        transaction(con, lambda: [con.execute(s) for s in statements], what="commenting the tables")
    return len(statements)


def _apply_migration(con: duckdb.DuckDBPyConnection, path: Path, sql: str, digest: str) -> bool:
    """One migration and its record in one transaction. Whether it is applied is read again inside
    the transaction: another writer of the same lake may have applied it since `migrate` looked."""
    con.execute("begin")
    try:
        row = con.execute("select sha256 from schema_migrations where name = ?", [path.stem]).fetchone()
        if row is not None:
            con.execute("rollback")
            _check_digest(path, row[0], digest)
            return False
        con.execute(sql)
        con.execute("insert into schema_migrations values (?, ?, ?)", [path.stem, digest, utcnow()])
        con.execute("commit")
        return True
    except Exception:
        rollback_if_open(con)
        raise


def _check_digest(path: Path, recorded: str, digest: str) -> None:
    if recorded != digest:
        raise RuntimeError(f"migration {path.name} changed after it was applied; add a new migration instead")


def rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after an error; a failed COMMIT has already ended the transaction."""
    try:
        con.execute("rollback")
    except duckdb.TransactionException:
        pass


def configured_lock_wait_s() -> float:
    """How long a writer waits for a DuckDB file another process holds (DESK_DB_LOCK_WAIT_S)."""
    try:
        return env_seconds(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT_S)
    except ValueError as e:
        raise StorageError(str(e)) from None


def connect(path: Path | str = DEFAULT_DB, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the database setting `path`: a DuckDB file or a `ducklake:` catalog. A write
    connection applies pending migrations first. A writer waits DESK_DB_LOCK_WAIT_S (else 120 s) for a file another process holds, then raises DatabaseLocked."""
    if is_lake(path):
        return _connect_lake(str(path), read_only=read_only)
    path = Path(path)
    if read_only:
        con = duckdb.connect(str(path), read_only=True)
        con.execute("set timezone = 'UTC'")
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting_for_lock(path, configured_lock_wait_s())
    migrate(con)
    _type_frames_from_every_row(con)
    return con


def _type_frames_from_every_row(con: duckdb.DuckDBPyConnection) -> None:
    """Writers land pandas frames; DuckDB types a frame's text columns from a sample of 1,000 rows, so a
    column empty in every sampled row (one forwarded post among 60,000) became NULL-typed and the value
    outside the sample failed the whole landing. Reading every row costs about 0.4 CPU-s per 60,000 items
    landed (docs/reliability.md); typing the frames' columns explicitly would cost nothing and is not done."""
    con.execute("set pandas_analyze_sample = 1000000000")


def _connect_waiting_for_lock(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Another writer (an overlapping run) holds the file: wait for it rather than fail the run."""
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() + delay > deadline:
                # One line naming the holder, instead of DuckDB's message (which suggests read-only mode,
                # of no use to a writer); `from None` keeps the traceback to this line.
                raise DatabaseLocked(path, wait_s, lock_holder(str(e))) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


def lock_holder(message: str) -> str | None:
    """The process DuckDB names in its lock error, with its command line if /proc shows it."""
    found = _LOCK_HOLDER_RE.search(message)
    if not found:
        return None
    pid, program = found["pid"], found["program"]
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        command = ""
    return f"PID {pid} ({command or program})"


def _connect_lake(spec: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()   # in memory: temporary tables stay local, the tables live in the lake
    try:
        s3 = bool(os.environ.get("AWS_ACCESS_KEY_ID")) or os.environ.get(LAKE_DATA_PATH_ENV, "").startswith("s3://")
        for path in _extension_files("lake") + (_extension_files("s3") if s3 else []):
            con.execute(f"load {_quote(str(path))}")
        _add_s3_secret(con)
        options = ["read_only"] if read_only else []
        data_path = os.environ.get(LAKE_DATA_PATH_ENV)
        if data_path and not read_only:
            options.append(f"data_path {_quote(data_path)}")
        with_options = f" ({', '.join(options)})" if options else ""
        try:
            _retrying_conflicts(lambda: con.execute(f"attach {_quote(spec)} as {LAKE_ALIAS}{with_options}"),
                                what=f"attaching {spec!r}")
        except duckdb.Error as error:
            hint = ""
            if read_only and "does not exist" in str(error):
                hint = "; there is no lake there yet: the first run creates it"
            elif not data_path and "data_path" in str(error).lower():
                hint = f"; a new lake needs {LAKE_DATA_PATH_ENV} (where its Parquet files go)"
            raise StorageError(f"cannot open the DuckLake {spec!r}: {error}{hint}") from error
        con.execute(f"use {LAKE_ALIAS}")
        con.execute("set timezone = 'UTC'")
        if not read_only:
            _retrying_conflicts(lambda: migrate(con, lake=True), what=f"migrating {spec!r}")
            _type_frames_from_every_row(con)
        return con
    except BaseException:
        con.close()
        raise


def _add_s3_secret(con: duckdb.DuckDBPyConnection) -> None:
    """An S3 secret for this connection from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN,
    AWS_REGION) and DESK_S3_ENDPOINT, when they are set. Temporary: it lives in this process only."""
    env = os.environ
    if not (env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY")):
        return
    options = {"key_id": env["AWS_ACCESS_KEY_ID"], "secret": env["AWS_SECRET_ACCESS_KEY"],
               "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"}
    if env.get("AWS_SESSION_TOKEN"):
        options["session_token"] = env["AWS_SESSION_TOKEN"]
    flags = []
    if endpoint := env.get(S3_ENDPOINT_ENV):
        scheme, _, host = endpoint.rpartition("://")
        options["endpoint"] = host.rstrip("/")
        options["url_style"] = "path"          # what S3-compatible stores serve; AWS takes both
        flags.append(f"use_ssl {'false' if scheme == 'http' else 'true'}")
    settings = ", ".join([*(f"{k} {_quote(v)}" for k, v in options.items()), *flags])
    try:
        con.execute(f"create or replace temporary secret desk_s3 (type s3, {settings})")
    except duckdb.Error as error:
        # DuckDB's message could quote the statement, and so the secret: it is masked before it is shown.
        said = str(error)
        for value in (options["secret"], options.get("session_token")):
            if value:
                said = said.replace(value, "***")
        raise StorageError(f"cannot set up S3 access from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
                           f"{S3_ENDPOINT_ENV}: {said}") from None


def transaction(con: duckdb.DuckDBPyConnection, work, *, what: str = "a transaction"):
    """`work()` in one transaction. On a DuckLake, a commit lost to a concurrent writer that touched the
    same data is rolled back and `work` runs again on the new state, so `work` must read what it needs.
    Inside a transaction the caller already holds, `work` just joins it: the caller commits, and retries."""
    if in_transaction(con):
        return work()

    def attempt():
        con.execute("begin")
        try:
            result = work()
            con.execute("commit")
            return result
        except BaseException:
            rollback_if_open(con)
            raise
    return _retrying_conflicts(attempt, what=what)


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` is inside an explicit transaction. Probing with BEGIN would not do: a failed BEGIN
    aborts the transaction it ran in. In autocommit mode every statement is a transaction of its own,
    so two statements in a row see different transaction ids; inside a transaction they see one."""
    first = con.execute("select current_transaction_id()").fetchone()[0]
    return con.execute("select current_transaction_id()").fetchone()[0] == first


def retrying_conflicts(work, *, what: str):
    """`work()`, run again after a lost DuckLake commit. For work that manages its own transactions and
    leaves nothing half-done when it fails (it rolls back), so running it again is safe."""
    return _retrying_conflicts(work, what=what)


def is_conflict(error: BaseException) -> bool:
    """Lost to a concurrent writer, so transient: redo the work. Either a DuckLake commit that lost to
    one changing the same thing, or two processes creating a new lake's catalog tables at once (the
    loser's CREATE TABLE hits PostgreSQL's unique index on type names)."""
    message = str(error).lower()
    if isinstance(error, duckdb.TransactionException) and "conflict" in message:
        return True
    return "failed to initialize ducklake" in message and (
        "duplicate key value" in message or "already exists" in message)


def _retrying_conflicts(work, *, what: str, attempts: int = 6, first_wait_s: float = 0.2):
    """Run `work` again after a lost commit, with jittered backoff; any other error is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as error:
            if not is_conflict(error) or attempt == attempts:
                raise
            time.sleep(first_wait_s * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError(f"unreachable: {what}")


@functools.cache
def _extension_files(group: str) -> list[Path]:
    """The extension files of a group (`lake`, `s3`) under their entry-point names (links in a private
    folder for this process)."""
    folder = Path(tempfile.mkdtemp(prefix=f"desk-duckdb-{group}-extensions-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    files = []
    for entry_point, (package, file_name) in {"lake": LAKE_EXTENSIONS, "s3": S3_EXTENSION}[group].items():
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise StorageError(f"the DuckLake backend needs the package {package.replace('_', '-')}")
        root = Path(next(iter(spec.submodule_search_locations)))
        found = root / "extensions" / f"v{duckdb.__version__}" / f"{file_name}.duckdb_extension"
        if not found.is_file():
            raise StorageError(f"{found} is missing: {package.replace('_', '-')} must match duckdb {duckdb.__version__}")
        link = folder / f"{entry_point}.duckdb_extension"
        link.symlink_to(found)
        files.append(link)
    return files


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def writer(path: Path | str = DEFAULT_DB) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived write connection: open, migrate, yield, checkpoint (a file), close."""
    con = connect(path)
    try:
        yield con
        if not is_lake(path):
            con.execute("checkpoint")
    finally:
        con.close()


def snapshot_path(path: Path | str) -> Path | str:
    """What analysts open: the published snapshot beside a DuckDB file, or the lake itself, whose
    readers always see the last committed snapshot."""
    if is_lake(path):
        return str(path)
    path = Path(path)
    return path.with_name(path.stem + ".snapshot" + path.suffix)


def publish_snapshot(path: Path | str = DEFAULT_DB) -> Path | str:
    """Copy the (closed, checkpointed) database beside itself and atomically swap it in as the
    read-only snapshot analysts open. Readers of the previous snapshot keep their open file.
    A lake publishes every commit by itself; publishing one only brings its comments up to date.
    Either way the tables, views and columns carry docs/tables.md's descriptions as their comments (the
    models recreate their tables and views, which drops them).

    A copy that fails (a full disk) is removed at once, and so is any copy an earlier publish left
    behind (killed mid-copy): partial copies would otherwise hold the space every later copy needs.
    Raises SnapshotError; the previous snapshot stays in place."""
    if is_lake(path):
        con = connect(path)
        try:
            _retrying_conflicts(lambda: comment_tables(con, lake=True), what=f"commenting the tables of {path!r}")
        finally:
            con.close()
        return str(path)
    path = Path(path)
    target = snapshot_path(path)
    tmp = target.with_name(f"{target.name}{SNAPSHOT_TMP_MARK}{os.getpid()}")
    # Copy and swap under the writer's lock: another process checkpointing mid-copy would tear the
    # snapshot, and no other publish can be under way, so every partial copy found here is a leftover.
    con = connect(path)
    try:
        remove_snapshot_leftovers(target)
        comment_tables(con)
        con.execute("checkpoint")
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise SnapshotError(f"{target}: the snapshot could not be published: {_disk_reason(error, path)}; "
                                "the partial copy was removed and analysts keep the previous snapshot") from error
    finally:
        con.close()
    return target


SNAPSHOT_TMP_MARK = ".tmp-"


def remove_snapshot_leftovers(target: Path) -> list[Path]:
    """Delete partial snapshot copies (`<snapshot>.tmp-<pid>`); call only under the writer's lock."""
    removed = []
    for leftover in target.parent.glob(f"{glob.escape(target.name)}{SNAPSHOT_TMP_MARK}*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    if removed:
        logging.getLogger(__name__).warning("removed %d partial snapshot copies left by an earlier run: %s",
                                            len(removed), ", ".join(str(p) for p in removed))
    return removed


def _disk_reason(error: OSError, database: Path) -> str:
    if error.errno != errno.ENOSPC:
        return f"{type(error).__name__}: {error.strerror or error}"
    try:
        free = shutil.disk_usage(database.parent).free
        needed = database.stat().st_size
    except OSError:
        return "the disk is full"
    return f"the disk is full (the copy needs {needed / 1e6:.1f} MB, {free / 1e6:.1f} MB free)"


def sha256_text(*parts: str | None) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update((p or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()
