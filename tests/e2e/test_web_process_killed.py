"""`make run` runs two web processes per service on one port: killing one under load refuses no report, and the
supervisor replaces it. How fast is measured in docs/operations.md, not asserted here (a busy CI machine is no clock)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.runtime.spec import built_services
from tests.support.load import ReportLoad
from tests.support.processes import ROOT, free_port, wait_until


def web_processes(supervisor: int, service: str) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out if _command(p)[1:4] == [b"-m", b"shared.runtime.web", service.encode()]]


def _command(pid: str) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:  # exited meanwhile
        return []


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_killing_one_web_process_under_load_refuses_no_report(settings, tmp_path):
    ports = {s: free_port() for s in built_services()}
    env = os.environ | {"AMQP_URI": settings.amqp_uri, "YISHI_VAR_DIR": str(settings.var_dir),
                        **{f"YISHI_{s.upper()}_PORT": str(p) for s, p in ports.items()}}
    env.pop("YISHI_HTTP_PORT", None)
    env.pop("DATABASE_URL", None)
    log = open(tmp_path / "supervisor.log", "wb")
    sup = subprocess.Popen([sys.executable, "-m", "shared.runtime.supervisor"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{ports['intake']}"
    try:
        wait_until(lambda: len(web_processes(sup.pid, "intake")) == 2, timeout=30, message="two intake web processes")
        wait_until(lambda: _live(url), timeout=60, message="intake answering")
        time.sleep(2)  # both processes listening
        load = ReportLoad([url], rate=20).start()
        try:
            time.sleep(2)
            victim = web_processes(sup.pid, "intake")[0]
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            replaced = wait_until(lambda: len(w := [p for p in web_processes(sup.pid, "intake") if p != victim]) == 2,
                                  timeout=5, interval=0.02, message="the killed web process replaced")
            restart = time.monotonic() - killed_at
            time.sleep(3)
        finally:
            load.stop()
        statuses = load.statuses()
        print(f"answers {dict(statuses)}, {load.retried} retried after a connection error, replaced in {restart:.2f}s")
        assert replaced
        assert set(statuses) == {201}, [(round(a.at - killed_at, 2), a.status, a.error)
                                        for a in load.answers if a.status != 201]
        assert sum(statuses.values()) > 80
    finally:
        sup.send_signal(signal.SIGINT)
        try:
            sup.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sup.kill()
            for pid in subprocess.run(["pgrep", "-P", str(sup.pid)], capture_output=True, text=True).stdout.split():
                os.kill(int(pid), signal.SIGKILL)


def _live(url: str) -> bool:
    try:
        return requests.get(url + "/health/live", timeout=1).status_code == 200
    except requests.RequestException:
        return False
