"""The system under test: every service's web and worker process, as `make run` starts them, against a
throw-away RabbitMQ vhost (and PostgreSQL database); `close()` removes all of it, whatever got created."""
from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared.runtime import supervisor
from shared.runtime.spec import built_services
from tests.support.infra import create_database, create_vhost, delete_vhost, drop_database
from tests.support.processes import Process

SERVICES = built_services()  # every event-sourced service: a queue nobody consumes would never drain


class Stack:
    def __init__(self, store: str, keep_tmp: bool = False, web_processes: int | None = None):
        """`web_processes` per service on its one port, as `make run` starts them (YISHI_WEB_PROCESSES, 2)."""
        self.store, self.keep_tmp = store, keep_tmp
        self.web_processes = web_processes or supervisor.web_processes()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"yishi-bench-{store}-"))
        self.amqp_uri: str | None = None
        self.database_url: str | None = None
        self.procs: dict[str, Process] = {}

    @property
    def dbname(self) -> str | None:
        return self.database_url.rsplit("/", 1)[1] if self.database_url else None

    def start(self) -> None:
        self.amqp_uri = create_vhost()
        if self.store == "postgres":
            self.database_url = create_database()
        webs = {s: Process(s, "web", {}, self.tmp) for s in SERVICES}
        common = {"AMQP_URI": self.amqp_uri, "DATABASE_URL": self.database_url or "",
                  "YISHI_VAR_DIR": str(self.tmp / "var"), "YISHI_INTERNAL_TOKEN": secrets.token_urlsafe(24),
                  # the load comes from one client with few phone numbers: the abuse limits are off for it
                  "YISHI_LIMIT_REPORTS_PER_CLIENT": "0", "YISHI_LIMIT_REPORTS_PER_PHONE": "0",
                  "YISHI_LIMIT_CODE_GUESSES": "0",
                  **{f"YISHI_{s.upper()}_PORT": str(p.port) for s, p in webs.items()}}
        for service in SERVICES:  # the supervisor's environment: one metrics directory per service
            metrics = self.tmp / "metrics" / service
            metrics.mkdir(parents=True)
            env = common | {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
            worker = self.procs[f"{service}-worker"] = Process(service, "worker", env, self.tmp)
            worker.start()
            webs[service].env = env
            self.procs[f"{service}-web"] = webs[service]
            for n in range(2, self.web_processes + 1):  # the same port: SO_REUSEPORT spreads connections
                more = self.procs[f"{service}-web-{n}"] = Process(service, "web", env, self.tmp, label=str(n))
                more.port = webs[service].port
        for name, process in self.procs.items():
            if process.role == "web":
                process.start()

    def url(self, service: str) -> str:
        return self.procs[f"{service}-web"].url

    def pids(self) -> dict[str, int]:
        return {name: p.proc.pid for name, p in self.procs.items() if p.proc is not None}

    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.proc is not None and p.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.proc.returncode}: {p.log_path.read_text()[-2000:]}")

    def log_problems(self) -> dict[str, int]:
        """Warnings and errors each process logged: worth a look after a run."""
        out = {}
        for name, p in self.procs.items():
            try:
                text = p.log_path.read_text(errors="replace")
            except OSError:
                continue
            count = sum(text.count(level) for level in (" WARNING ", " ERROR ", "Traceback"))
            if count:
                out[name] = count
        return out

    def close(self) -> None:
        live = [p for p in self.procs.values() if p.proc is not None and p.proc.poll() is None]
        for p in live:
            p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for p in live:
            while p.port and p.proc.poll() is None and time.monotonic() < deadline - 1:
                _poke(p.port)  # an idle nameko hub acts on SIGTERM only when it next wakes up
                try:
                    p.proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
            try:
                p.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"bench: {p.service}-{p.role} still running 15 s after SIGTERM; killing it", file=sys.stderr)
                p.kill()
        if self.database_url:
            try:
                drop_database(self.database_url)
            except Exception as exc:
                print(f"bench: could not drop {self.database_url}: {exc}", file=sys.stderr)
        if self.amqp_uri:
            delete_vhost(self.amqp_uri)
        if self.keep_tmp:
            print(f"bench: kept {self.tmp} (logs, SQLite files)", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _poke(port: int) -> None:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        pass
