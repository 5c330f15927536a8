"""Ten identical intake commands at once, over two web processes, make one effect: one report for one
Idempotency-Key, one vote per resident, one merge, one answer per resolved case (issue 14)."""
import pytest
import requests

from tests.support.identity import http, staff
from tests.support.processes import wait_until
from tests.support.races import COPIES, at_once, statuses

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def report(title: str, building: str) -> dict:
    return {"channel": "online", "category": "设施维护", "title": title, "description": "晚上很黑",
            "location": {"community": "幸福里", "building": building}, "reporter": {"name": "张三", "phone": "13812345678"}}


def test_ten_copies_of_each_intake_command_make_one_effect(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    webs = [system.web("intake").url, system.start_another("intake", "web", "second").url]
    casework = system.web("casework").url

    def spread(path: str, body: dict, headers: dict | None = None):
        return lambda i: requests.post(f"{webs[i % 2]}{path}", json=body, headers=headers or {}, timeout=30)

    copies = at_once(spread("/issues", report("3号楼楼道灯坏了", "3"), {"Idempotency-Key": "race-report-1"}))
    assert statuses(copies) == {201: 1, 200: COPIES - 1}, [c.text for c in copies]
    assert len({c.json()["issue_id"] for c in copies}) == 1
    first = copies[0].json()
    listed = wait_until(lambda: http.get(f"{webs[0]}/issues", params={"limit": 100}, timeout=5).json()["issues"],
                        message="the report listed")
    assert [i["issue_id"] for i in listed] == [first["issue_id"]]

    votes = at_once(spread(f"/issues/{first['issue_id']}/votes", {"voter": "resident-7"}))
    assert statuses(votes) == {201: 1, 200: COPIES - 1}
    assert {v.json()["votes"] for v in votes} == {1}

    other = requests.post(f"{webs[0]}/issues", json=report("健身器材损坏了", "9"), timeout=10).json()
    worker = staff("community_worker", "李社工")
    merges = at_once(spread(f"/issues/{other['issue_id']}/merge", {"into_issue_id": first["issue_id"]},
                            worker))
    assert statuses(merges) == {200: 1, 409: COPIES - 1}, [m.text for m in merges]

    case = wait_until(lambda: requests.get(f"{webs[0]}/issues/{first['tracking_code']}", timeout=5).json()["case"],
                      message="the case opened")
    http.post(f"{casework}/cases/{case['case_id']}/resolution", json={"summary": "已更换灯泡"}, timeout=10,
              headers=staff("property", "王师傅")).raise_for_status()
    wait_until(lambda: requests.get(f"{webs[0]}/issues/{first['tracking_code']}", timeout=5).json()["status"] == "resolved",
               message="intake hears the case resolved")
    answers = at_once(spread(f"/issues/{first['tracking_code']}/confirmation", {"confirmed": True, "satisfaction": 5}))
    assert statuses(answers)[202] >= 1 and set(statuses(answers)) <= {202, 409}, [a.text for a in answers]
    closed = wait_until(lambda: (c := http.get(f"{casework}/cases/{case['case_id']}", timeout=5).json())["status"] == "closed"
                        and c, message="the case closed on the answer")
    history = http.get(f"{casework}/cases/{case['case_id']}/history", timeout=5).json()
    steps = [e["type"] for e in history["entries"]]
    assert sum(1 for s in steps if "Confirmed" in s) == 1, steps
    assert closed["satisfaction"]["rate"] == 1.0
