"""A smoke sensor's burst of alarms over HTTP on the real processes, RabbitMQ and PostgreSQL: one report, one
urgent case in casework, whatever the device sends; only a city system's token is let in."""
from datetime import datetime, timezone

import pytest
import requests

from tests.support.identity import staff
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
SYSTEM = staff("city_system", "烟感监测平台")


def test_a_burst_of_smoke_alarms_makes_one_urgent_case(system):
    for service in ("intake", "casework"):
        system.start(service, "worker")
    intake, casework = system.start("intake", "web").url, system.start("casework", "web").url
    occurred = datetime.now(timezone.utc).isoformat()

    def alarm(alarm_id: str) -> dict:
        return {"device_id": "SD-0301", "alarm_id": alarm_id, "kind": "smoke", "occurred_at": occurred,
                "location": {"community": "幸福里", "building": "3", "unit": "2"}}
    refused = requests.post(f"{intake}/alarms", json=alarm("A-0"), headers=staff("community_worker", "李娜"), timeout=5)
    assert refused.status_code == 403
    assert requests.post(f"{intake}/alarms", json=alarm("A-0"), timeout=5).status_code == 401
    opened = requests.post(f"{intake}/alarms", json=alarm("A-1"), headers=SYSTEM, timeout=5)
    assert opened.status_code == 201, opened.text
    outcomes = [requests.post(f"{intake}/alarms", json=alarm(f"A-{n}"), headers=SYSTEM, timeout=5).json()["outcome"]
                for n in (1, 2, 3, 4, 5)]
    assert outcomes == ["duplicate", "joined", "joined", "joined", "joined"]
    bad = requests.post(f"{intake}/alarms", json=alarm("A-9") | {"kind": "ufo"}, headers=SYSTEM, timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "kind"

    issue_id = opened.json()["issue_id"]

    def cases():
        listed = requests.get(f"{casework}/cases", params={"limit": 1000}, headers=staff("secretary", "王书记"),
                              timeout=5).json()["cases"]
        return [c for c in listed if c["issue_id"] == issue_id] or None
    [case] = wait_until(cases, message="casework opens the alarm's case")
    assert case["tier"] == "urgent" and case["category"] == "安全隐患"
    everything = requests.get(f"{casework}/cases", params={"limit": 1000}, headers=staff("secretary", "王书记"),
                              timeout=5).json()["cases"]
    assert len(everything) == 1
