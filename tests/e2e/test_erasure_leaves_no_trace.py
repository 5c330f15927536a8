"""PIPL art. 47: once a resident's data is erased, their name and phone are nowhere — not in any service's
events or read models, the queues, the processes' logs, a dump of the database, nor any webhook payload —
while their case, the statistics and every audit chain still verify.

Real intake, casework and notifications processes on both stores; the SMS gateway and a city system's
webhook receiver are local HTTP servers; city systems' queues are bound to every exchange with '#'.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.integration.notifications.conftest import Receiver
from tests.support.identity import http, staff
from tests.support.processes import wait_until

NAME, PHONE = "欧阳娜娜", "13912345678"
REPORT = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": f"晚上一片黑,联系{NAME} {PHONE}",
          "location": {"community": "幸福里", "building": "3", "unit": "2", "room": "502"},
          "reporter": {"name": NAME, "phone": PHONE, "email": "nana@example.cn"}}
EXCHANGES = ("intake.events", "casework.events", "notifications.events")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def city_queues(settings):
    """Outside systems' queues, one per exchange, bound with '#' before anything is published."""
    with Connection(settings.amqp_uri) as conn:
        queues = [Queue(f"city-{name}", Exchange(name, "topic", durable=True), routing_key="#") for name in EXCHANGES]
        for queue in queues:
            queue(conn.default_channel).declare()

        bodies: list[str] = []

        def drain() -> list[str]:
            """Every message published so far (bodies, as the city systems received them)."""
            for queue in queues:
                while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                    bodies.append(message.body.decode() if isinstance(message.body, bytes) else message.body)
            return bodies

        yield drain


def stored(settings) -> str:
    """Every byte the services keep: a pg_dump of the database, or the SQLite files under the var dir."""
    if settings.database_url:
        return subprocess.run(["pg_dump", "--no-owner", settings.database_url], capture_output=True, text=True,
                              check=True, timeout=120).stdout
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in Path(settings.var_dir).rglob("*")
                   if p.is_file() and "sqlite3" in p.name)


def test_an_erased_resident_is_nowhere_and_their_case_still_verifies(system, settings, receiver, city_queues,
                                                                      tmp_path):
    system.env.update(YISHI_INTERNAL_TOKEN="t-" + os.urandom(8).hex(),
                      YISHI_WEBHOOK_ALLOWLIST="127.0.0.1:32768-60999", YISHI_SMS_WEBHOOK_URL=receiver.url + "/sms")
    for service in ("intake", "casework", "notifications"):
        system.start(service, "web")
        if service == "intake":
            system.env["YISHI_INTAKE_URL"] = system.web("intake").url
        system.start(service, "worker")
    intake, casework, notifications = (system.web(s).url for s in ("intake", "casework", "notifications"))
    subscribed = http.post(f"{notifications}/subscriptions", timeout=5,
                           json={"url": receiver.url + "/city", "types": ["*"], "secret": "whsec_" + "A" * 44})
    assert subscribed.status_code == 201, subscribed.text

    created = requests.post(f"{intake}/issues", json=REPORT, timeout=5)
    assert created.status_code == 201, created.text
    issue_id = created.json()["issue_id"]
    sms = wait_until(lambda: receiver.json_at("/sms"), timeout=60, message="the reporter's SMS receipt")
    assert sms[0]["to"] == PHONE  # the private path worked before the erasure
    case = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case")[0]
    wait_until(lambda: receiver.at("/city"), timeout=60, message="a webhook to the city system")
    reporter_ref = next(json.loads(b)["data"]["reporter_ref"] for b in city_queues()
                        if json.loads(b)["type"] == "cn.yishi.intake.IssueReported.v2")

    seen = requests.get(f"{intake}/residents/{reporter_ref}", params={"purpose": "回访"}, timeout=5,
                        headers=staff("community_worker", "李娜"))
    assert seen.status_code == 200 and seen.json()["phone"] == PHONE
    assert requests.get(f"{intake}/residents/{reporter_ref}", params={"purpose": "x"}, timeout=5,
                        headers=staff("operator")).status_code == 403  # the operator never sees contacts

    erased = system.yishi("erase", reporter_ref, "--url", intake)
    assert "erased at" in erased.stdout
    again = requests.delete(f"{intake}/residents/{reporter_ref}", headers=staff("secretary", "王书记"), timeout=5)
    assert again.status_code == 200 and again.json()["erased"] is False
    assert requests.get(f"{intake}/residents/{reporter_ref}", params={"purpose": "回访"}, timeout=5,
                        headers=staff("community_worker", "李娜")).status_code == 410
    wait_until(lambda: any("ResidentErased" in b for b in city_queues()), message="ResidentErased published")

    reads = http.get(f"{intake}/residents/access-log", headers=staff("secretary"), timeout=5).json()["reads"]
    assert {(r["who"].split(" ")[0], r["outcome"]) for r in reads} >= {("notifications", "read"), ("李娜", "read"),
                                                                        ("李娜", "erased")}

    # the resident's own view, the case and the statistics go on without the contact
    view = requests.get(f"{intake}/issues/{created.json()['tracking_code']}", timeout=5).json()
    assert view["issue_id"] == issue_id and view["reporter"] is None
    assert http.get(f"{casework}/cases/{case['case_id']}", timeout=5).status_code == 200
    assert requests.get(f"{casework}/stats", timeout=5).status_code == 200
    for service in ("intake", "casework", "notifications"):
        system.yishi("audit", "verify", service)

    system.stop()  # every process's log is complete
    traces = {"store": stored(settings), "queues": "\n".join(city_queues()),
              "webhooks": "\n".join(r["body"].decode() for r in receiver.at("/city")),
              "logs": "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))}
    assert traces["store"] and traces["webhooks"] and traces["logs"]  # each place was looked in
    for place, text in traces.items():
        for secret in (NAME, PHONE, "nana@example.cn"):
            assert secret not in text, f"{secret} in {place}"
