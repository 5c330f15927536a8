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


def test_ten_alarms_of_one_device_at_once_over_two_web_processes_make_one_issue(system):
    from tests.support.races import COPIES, at_once, statuses
    system.start("intake", "worker")
    webs = [system.start("intake", "web").url, system.start_another("intake", "web", "second").url]
    occurred = datetime.now(timezone.utc).isoformat()

    def alarm(alarm_id: str) -> dict:
        return {"device_id": "LIFT-5", "alarm_id": alarm_id, "kind": "lift_trapped", "occurred_at": occurred,
                "location": {"community": "幸福里", "building": "5"}}
    same = at_once(lambda i: requests.post(f"{webs[i % 2]}/alarms", json=alarm("L-1"), headers=SYSTEM, timeout=10))
    assert statuses(same) == {201: 1, 200: COPIES - 1}
    burst = at_once(lambda i: requests.post(f"{webs[i % 2]}/alarms", json=alarm(f"L-{i + 2}"), headers=SYSTEM,
                                            timeout=10))
    assert statuses(burst) == {200: COPIES}
    assert {a.json()["issue_id"] for a in same + burst} == {same[0].json()["issue_id"]}
    listed = wait_until(lambda: requests.get(f"{webs[0]}/issues", params={"channel": "device"}, timeout=5)
                        .json()["issues"], message="the device's issue is listed")
    assert [i["issue_id"] for i in listed] == [same[0].json()["issue_id"]]
