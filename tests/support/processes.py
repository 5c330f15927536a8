"""Start Yishi's real processes (web, worker) for end-to-end and fault tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, service: str, role: str, env: dict[str, str], log_dir: Path, label: str = ""):
        self.service, self.role, self.env = service, role, env
        self.log_path = log_dir / f"{service}-{role}{'-' + label if label else ''}.log"
        self.port = free_port() if role == "web" else None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_healthy: bool = True) -> "Process":
        # PGAPPNAME: libpq names each of this process's PostgreSQL sessions after it (pg_stat_activity)
        env = os.environ | {"PGAPPNAME": self.log_path.stem} | self.env
        if self.port:
            env["YISHI_HTTP_PORT"] = env[f"YISHI_{self.service.upper()}_PORT"] = str(self.port)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", f"shared.runtime.{self.role}", self.service], cwd=ROOT,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        if self.role == "web" and wait_healthy:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.service}-{self.role} exited: {self.log_path.read_text()[-2000:]}")
            try:
                # live: its store and broker answer (its consumers run in the worker, maybe not started yet)
                if requests.get(self.url + "/health/live", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.service} web not healthy: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class System:
    """The services' processes against one store and one vhost."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.procs: dict[tuple[str, str], Process] = {}

    def start(self, service: str, role: str) -> Process:
        proc = Process(service, role, self.env, self.log_dir).start()
        self.procs[(service, role)] = proc
        return proc

    def start_another(self, service: str, role: str, label: str) -> Process:
        """A second instance (a standby, a scale-out worker) beside the one `start` began."""
        proc = Process(service, role, self.env, self.log_dir, label).start()
        self.procs[(service, f"{role}-{label}")] = proc
        return proc

    def web(self, service: str) -> Process:
        return self.procs[(service, "web")]

    def yishi(self, *args: str) -> subprocess.CompletedProcess:
        """The operator's command against this system (`yishi clock advance P10D`, say)."""
        result = subprocess.run([sys.executable, "-m", "shared.ops.cli", *args], cwd=ROOT, env=os.environ | self.env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
