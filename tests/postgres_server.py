"""A real PostgreSQL server for the DuckLake tests: a fresh cluster in a temporary folder, on a free
port of 127.0.0.1, stopped and deleted afterwards. PostgreSQL refuses to run as root, so under root
the server runs as the `postgres` user that Debian's package creates.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import free_port

REQUIRE_ENV = "DESK_REQUIRE_POSTGRES"   # set by CI: a missing PostgreSQL fails instead of skipping


def postgres_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PostgresServer:
    """host: the address it listens on and is reached at; allow: a further network (CIDR) whose clients it
    trusts, for workers on other hosts."""

    def __init__(self, bin_dir: Path, host: str = "127.0.0.1", allow: str | None = None):
        self.bin_dir, self.host, self.allow = bin_dir, host, allow
        self.port = free_port(host)
        self.user = "desk"
        self.folder = Path(tempfile.mkdtemp(prefix="desk-postgres-"))
        self.data = self.folder / "data"
        self._databases = 0
        self._run_as = None
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [*(self._run_as or []), str(self.bin_dir / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "--no-sync", "-E", "UTF8")
        if self.allow:
            with open(self.data / "pg_hba.conf", "a") as hba:
                hba.write(f"host all all {self.allow} trust\n")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses={self.host} -c fsync=off "
                   "-c synchronous_commit=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "start", timeout=90)
        return self

    def create_database(self) -> str:
        """A new, empty database; returns its libpq connection string."""
        self._databases += 1
        name = f"lake{self._databases}"
        self._run("createdb", "-h", self.host, "-p", str(self.port), "-U", self.user, name)
        return f"host={self.host} port={self.port} dbname={name} user={self.user}"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
