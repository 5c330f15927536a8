"""Neighbours reporting the same problem follow one case (intake merges, casework joins), on real processes."""
import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http, staff

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def report(title: str, name: str, phone: str) -> dict:
    return {"channel": "online", "title": title, "description": "晚上很黑",
            "location": {"community": "幸福里", "building": "6", "room": "301"}, "reporter": {"name": name, "phone": phone}}


def test_a_repeated_report_follows_the_first_case_and_its_reporter_can_answer_it(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url

    first = requests.post(f"{intake}/issues", json=report("6号楼路灯坏了", "张三", "13812345678"), timeout=5).json()
    wait_until(lambda: requests.get(f"{intake}/issues/{first['issue_id']}", timeout=5).json()["case"],
               message="the first report has its case")
    second = requests.post(f"{intake}/issues", json=report("6号楼路灯坏了,晚上很黑", "李四", "13912345678"), timeout=5)
    assert second.status_code == 201 and second.json()["merged_into"] == first["issue_id"]
    other = requests.post(f"{intake}/issues", json=report("6号楼垃圾清运不及时", "王五", "13712345678"), timeout=5).json()
    assert other["merged_into"] is None

    def cases():
        return {c["issue_id"]: c for c in http.get(f"{casework}/cases", params={"limit": 100}, timeout=5)
                .json()["cases"]}
    merged = wait_until(lambda: (c := cases()).get(second.json()["issue_id"], {}).get("status") == "merged" and c,
                        message="the duplicate's case merged")
    kept = merged[first["issue_id"]]
    assert kept["co_reporters"] == 1 and merged[second.json()["issue_id"]]["merged_into"] == kept["case_id"]

    view = requests.get(f"{intake}/issues/{second.json()['tracking_code']}", timeout=5).json()
    assert view["merged_into"] == first["issue_id"] and view["case"]["case_id"] == kept["case_id"]

    http.post(f"{casework}/cases/{kept['case_id']}/resolution", timeout=5,
                  json={"summary": "已修复"}, headers=staff("property", "王师傅")).raise_for_status()
    wait_until(lambda: requests.get(f"{intake}/issues/{second.json()['tracking_code']}", timeout=5).json()["status"]
               == "resolved", message="the merged report shows its case resolved")
    confirmed = requests.post(f"{intake}/issues/{second.json()['tracking_code']}/confirmation", timeout=5,
                              json={"confirmed": True, "satisfaction": 4})
    assert confirmed.status_code == 202, confirmed.text
    closing = requests.post(f"{intake}/issues/{first['tracking_code']}/confirmation", timeout=5,  # only it closes
                            json={"confirmed": True, "satisfaction": 5})
    assert closing.status_code == 202, closing.text
    closed = wait_until(lambda: (v := requests.get(f"{intake}/issues/{second.json()['tracking_code']}", timeout=5)
                                 .json())["status"] == "closed" and v, message="the merged report shows its case closed")
    assert [t["status"] for t in closed["timeline"]][-1] == "closed"  # the case's steps since the merge
    assert requests.get(f"{intake}/issues", params={"status": "merged"}, timeout=5).json()["issues"][0][
        "issue_id"] == second.json()["issue_id"]
