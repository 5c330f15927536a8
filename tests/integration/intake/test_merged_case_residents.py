"""A merged case's residents over HTTP, on real processes: the report merged as it came in opens its case already
merged; its resident's answer is heard but only the original reporter closes the case; each timeline is true."""
import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http, staff

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def report(title: str, name: str, phone: str) -> dict:
    return {"channel": "online", "title": title, "description": "晚上很黑",
            "location": {"community": "幸福里", "building": "8", "room": "402"}, "reporter": {"name": name, "phone": phone}}


def test_a_co_reporters_answer_is_heard_and_only_the_original_reporter_closes_the_case(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url

    def progress(created: dict) -> dict:
        return requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()

    def answer(created: dict, body: dict) -> None:
        answered = requests.post(f"{intake}/issues/{created['tracking_code']}/confirmation", json=body, timeout=5)
        assert answered.status_code == 202, answered.text

    first = requests.post(f"{intake}/issues", json=report("8号楼路灯坏了", "张三", "13812345678"), timeout=5).json()
    wait_until(lambda: progress(first)["case"], message="the first report has its case")
    second = requests.post(f"{intake}/issues", json=report("8号楼路灯坏了,晚上很黑", "李四", "13912345678"),
                           timeout=5).json()
    assert second["merged_into"] == first["issue_id"]
    dup_case = wait_until(lambda: (c := http.get(f"{casework}/cases", params={"status": "merged"}, timeout=5)
                                   .json()["cases"]) and c[0], message="the duplicate's case opened merged")
    assert dup_case["issue_id"] == second["issue_id"] and dup_case["party"] is None  # nobody assigned to it

    case_id = progress(first)["case"]["case_id"]
    http.post(f"{casework}/cases/{case_id}/resolution", timeout=5,
                  json={"summary": "已修复"}, headers=staff("property", "王师傅")).raise_for_status()
    wait_until(lambda: progress(second)["status"] == "resolved", message="the merged report shows its case resolved")
    answer(second, {"confirmed": True, "satisfaction": 5})
    mine = wait_until(lambda: (v := progress(second))["timeline"][-1].get("step") == "ResidentConfirmed" and v,
                      message="the co-reporter's answer is on their timeline")
    assert mine["status"] == "resolved" and mine["timeline"][-1]["step_zh"] == "您已反馈"
    assert progress(first)["timeline"][-1]["step_zh"] == "其他反映人已反馈"

    answer(first, {"confirmed": True, "satisfaction": 4})
    for created in (first, second):
        wait_until(lambda: progress(created)["status"] == "closed", message="every reporter sees the case closed")
    assert http.get(f"{casework}/cases/{case_id}", timeout=5).json()["satisfaction"]["rate"] == 1.0
