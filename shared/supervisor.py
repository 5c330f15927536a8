"""`make run`: every built service's web and worker process, in the foreground; Ctrl-C stops all.

A process that dies is restarted (with back-off), as a container orchestrator would.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client import multiprocess

from shared.config import Settings, http_port
from shared.spec import built_services

ROLES = ("web", "worker")


def main() -> int:
    settings = Settings.from_env()
    services = built_services()
    os.environ.setdefault("YISHI_INTERNAL_TOKEN", secrets.token_urlsafe(24))  # intake's contact lookup for notifications
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = "PostgreSQL" if settings.uses_postgres else f"SQLite under {settings.var_dir}"
    print(f"yishi: starting {', '.join(services)} (events in {store}, broker {settings.amqp_uri})", flush=True)
    for service in services:
        print(f"yishi: {service:<9} http://127.0.0.1:{http_port(service)}  (/health, /metrics)", flush=True)
    procs: dict[tuple[str, str], subprocess.Popen] = {}
    restarts: dict[tuple[str, str], float] = {}

    def spawn(service: str, role: str) -> None:
        metrics_dir = settings.var_dir / "metrics" / service
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "YISHI_VAR_DIR": str(settings.var_dir)}
        procs[(service, role)] = subprocess.Popen([sys.executable, "-m", f"shared.{role}", service], env=env)

    for service in services:
        shutil.rmtree(settings.var_dir / "metrics" / service, ignore_errors=True)
        for role in ROLES:
            spawn(service, role)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(0.5)
        for key, proc in list(procs.items()):
            if proc.poll() is not None and not stopping:
                multiprocess.mark_process_dead(proc.pid, str(settings.var_dir / "metrics" / key[0]))
                delay = min(30.0, 2 * restarts.get(key, 0.5))
                print(f"yishi: {key[0]} {key[1]} exited with {proc.returncode}; restarting in {delay:.0f}s", flush=True)
                restarts[key] = delay
                time.sleep(delay)
                spawn(*key)
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
