"""A private PostgreSQL cluster on a port of its own, for tests that stop and start the database.

The machine's PostgreSQL is shared by everyone: a test that kills a database kills this one only. The cluster
lives in a temporary directory, owned by the `postgres` system user when the tests run as root (initdb refuses
root), and is removed on `destroy`.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found


class PrivateCluster:
    def __init__(self, port: int, max_connections: int = 60):
        self.port = port
        self.max_connections = max_connections
        self.dir = Path(tempfile.mkdtemp(prefix="yishi-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*(["runuser", "-u", self._user, "--"] if self._user else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def create(self) -> "PrivateCluster":
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       # fsync off: a stop kills the server, never the OS, so what the server wrote survives; commits stay
                       # synchronous, or a commit answered before an immediate stop would be lost
                       f"max_connections = {self.max_connections}\nfsync = off\nshared_buffers = 32MB\n")
        return self.start()

    def start(self) -> "PrivateCluster":
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
        return self

    def stop_immediately(self) -> None:
        """What a crash does: every backend killed, no checkpoint (recovery on the next start)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def connections(self) -> int:
        """Client backends connected now (this query's own excepted)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'"
                                ).fetchone()[0]

    def create_database(self, name: str = "yishi") -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_accepting(cluster: PrivateCluster, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.connections()
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise TimeoutError(f"private PostgreSQL on {cluster.port} not accepting connections")
