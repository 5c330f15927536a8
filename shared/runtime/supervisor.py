"""`make run`: every built service's web and worker process (a front end: its web only), in the foreground; Ctrl-C stops all.

Each service runs YISHI_WEB_PROCESSES (2) web processes on its one port (SO_REUSEPORT: the kernel spreads
connections over them), so a dying web process closes no door, and one worker. A process that dies is
restarted at once (within RESTART_POLL); one that keeps dying soon after its start is restarted with back-off,
without holding up the others. It refuses to
start beside another system: the web servers set SO_REUSEPORT, so a second system on the same ports
would silently share their traffic, and two supervisors on one var dir would share its SQLite files.
"""
from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import multiprocess

from shared import clock
from shared.config import Settings, http_port
from shared.runtime.spec import built_services, web_services

RESTART_POLL = 0.1  # seconds between looks at the children: a dead one is replaced this soon
CRASH_WINDOW = 10.0  # a process that dies sooner than this after its start is crash-looping: back off
MAX_BACKOFF = 30.0


def web_processes() -> int:
    return max(1, int(os.environ.get("YISHI_WEB_PROCESSES", "2")))


def roles(worker: bool = True) -> list[tuple[str, int]]:
    """(role, instance) of every process a service runs (a front end has no worker)."""
    return [("web", i) for i in range(web_processes())] + ([("worker", 0)] if worker else [])


class StartRefused(Exception):
    """Another system holds what this one needs: said in one line, exit status 1."""


def hold_var_dir(var_dir: Path) -> int:
    """Lock `<var dir>/supervisor.lock` for this supervisor's life (the lock dies with the process)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(var_dir / "supervisor.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StartRefused(f"another yishi supervisor (pid {holder}) is running with var dir {var_dir}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def check_ports(ports: dict[str, int]) -> None:
    """Every service on its own port, and no port already held by another system (bound without SO_REUSEPORT)."""
    seen: dict[int, str] = {}
    for service, port in ports.items():
        if port in seen:
            raise StartRefused(f"{seen[port]} and {service} would both listen on port {port}: under make run set "
                               f"YISHI_<SERVICE>_PORT per service (YISHI_HTTP_PORT is one web process's port)")
        seen[port] = service
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed socket in TIME_WAIT is no holder
            try:
                probe.bind(("0.0.0.0", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise StartRefused(f"port {port} ({service}) is held by another process (another yishi system?); "
                                   f"stop it or set YISHI_{service.upper()}_PORT") from None


def main() -> int:
    settings = Settings.from_env()
    services, evented = web_services(), built_services()
    try:
        lock = hold_var_dir(settings.var_dir)  # noqa: F841 (held until exit)
        check_ports({s: http_port(s) for s in services})
    except StartRefused as exc:
        print(f"yishi: not starting: {exc}", file=sys.stderr, flush=True)
        return 1
    os.environ.setdefault("YISHI_INTERNAL_TOKEN", secrets.token_urlsafe(24))  # intake's contact lookup for notifications
    store = "PostgreSQL" if settings.uses_postgres else f"SQLite under {settings.var_dir}"
    print(f"yishi: starting {', '.join(services)} (events in {store}, broker {settings.amqp_uri})", flush=True)
    for service in evented:
        own = settings.for_service(service)
        if own.database_url != settings.database_url:  # YISHI_<SERVICE>_DATABASE_URL (no password printed)
            where = urlsplit(own.database_url or "")
            shown = f"PostgreSQL {where.hostname}:{where.port or 5432}{where.path}" if own.uses_postgres else "SQLite"
            print(f"yishi: {service:<9} events in its own database: {shown}", flush=True)
    if clock.enabled(os.environ):
        print(f"yishi: on the TEST CLOCK ({clock.FILE} in {settings.var_dir}; `yishi clock set|advance` moves it)",
              flush=True)
    for service in services:
        print(f"yishi: {service:<9} http://127.0.0.1:{http_port(service)}  (/health, /metrics)", flush=True)
    procs: dict[tuple[str, str, int], subprocess.Popen] = {}
    started: dict[tuple[str, str, int], float] = {}
    backoff: dict[tuple[str, str, int], float] = {}
    due: dict[tuple[str, str, int], float] = {}  # a dead process's restart time

    def spawn(key: tuple[str, str, int]) -> None:
        service, role, _ = key
        metrics_dir = settings.var_dir / "metrics" / service
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "YISHI_VAR_DIR": str(settings.var_dir)}
        procs[key] = subprocess.Popen([sys.executable, "-m", f"shared.runtime.{role}", service], env=env)
        started[key] = time.monotonic()

    for service in services:
        shutil.rmtree(settings.var_dir / "metrics" / service, ignore_errors=True)
        for role, instance in roles(worker=service in evented):
            spawn((service, role, instance))

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(RESTART_POLL)
        now = time.monotonic()
        for key, proc in list(procs.items()):
            if stopping or key in due or proc.poll() is None:
                continue
            multiprocess.mark_process_dead(proc.pid, str(settings.var_dir / "metrics" / key[0]))
            crashed_at_start = now - started[key] < CRASH_WINDOW
            backoff[key] = min(MAX_BACKOFF, 2 * backoff.get(key, 0.5)) if crashed_at_start else 0.0
            due[key] = now + backoff[key]
            print(f"yishi: {key[0]} {key[1]} exited with {proc.returncode}; restarting "
                  f"{f'in {backoff[key]:.0f}s' if backoff[key] else 'now'}", flush=True)
        for key, when in list(due.items()):
            if not stopping and when <= now:
                del due[key]
                spawn(key)
    print("yishi: stopping", flush=True)
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
