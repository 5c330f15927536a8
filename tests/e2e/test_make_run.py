"""`make run`'s supervisor: every built service up on its port, a dead process restarted, Ctrl-C stops all."""
import os
import signal
import subprocess
import sys

import pytest
import requests

from shared.runtime.spec import built_services, web_services
from tests.support.processes import ROOT, free_port, wait_until


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_supervisor_runs_restarts_and_stops_the_system(settings, tmp_path):
    ports = {s: free_port() for s in web_services()}
    expected = 2 * len(ports) + len(built_services())  # two web processes per service, a worker per event-sourced one
    env = os.environ | {"AMQP_URI": settings.amqp_uri, "YISHI_VAR_DIR": str(settings.var_dir),
                        **{f"YISHI_{s.upper()}_PORT": str(p) for s, p in ports.items()}}
    env.pop("YISHI_HTTP_PORT", None)
    env.pop("DATABASE_URL", None)
    log = open(tmp_path / "supervisor.log", "wb")
    sup = subprocess.Popen([sys.executable, "-m", "shared.runtime.supervisor"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports.values()]
        wait_until(lambda: all(healthy(u) for u in urls), timeout=60, message="all services healthy")
        assert len(children(sup.pid)) == expected

        victim = children(sup.pid)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(children(sup.pid)) == expected and victim not in children(sup.pid), timeout=30,
                   message="the dead process restarted")
        wait_until(lambda: all(healthy(u) for u in urls), timeout=60, message="healthy again")

        sup.send_signal(signal.SIGINT)
        assert sup.wait(timeout=30) == 0
        assert children(sup.pid) == []
        assert not any(healthy(u) for u in urls)
    finally:
        if sup.poll() is None:
            sup.kill()
            for pid in children(sup.pid):
                os.kill(pid, signal.SIGKILL)
