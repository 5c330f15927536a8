"""The log is the outbox: intake accepts reports while the broker is unreachable, and they flow once it is back."""
import requests

from tests.support.processes import Process, wait_until
from tests.support.identity import http


def test_reports_are_accepted_during_a_broker_outage_and_published_after(system, settings):
    unreachable = system.env | {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}
    web = Process("intake", "web", unreachable, system.log_dir, label="no-broker").start(wait_healthy=False)
    system.procs[("intake", "web-no-broker")] = web
    wait_until(lambda: _status(web.url) == 503, message="intake web answering, degraded")
    checks = requests.get(f"{web.url}/health", timeout=5).json()["checks"]
    assert checks["store"] == "ok" and checks["broker"].startswith("failed")

    created = requests.post(f"{web.url}/issues", json={
        "channel": "hotline", "title": "消防通道堵塞", "description": "电动车堆满",
        "location": {"community": "幸福里"}, "reporter": {"phone": "13900001111"}}, timeout=5)
    assert created.status_code == 201

    system.start("intake", "worker")  # the relay, with the broker back
    casework = system.start("casework", "web")
    system.start("casework", "worker")
    cases = wait_until(lambda: http.get(f"{casework.url}/cases", timeout=5).json()["cases"],
                       message="the report published after the outage")
    assert cases[0]["issue_id"] == created.json()["issue_id"]


def _status(url):
    try:
        return requests.get(f"{url}/health", timeout=5).status_code
    except requests.RequestException:
        return None

