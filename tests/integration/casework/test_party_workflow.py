"""The responsible party's workflow end to end on the real processes, RabbitMQ and PostgreSQL: a property
company acknowledges and returns, the secretary overrules the return, the resident reads it all in plain
Chinese on their timeline, the deadline never moves, and the party's rates count it."""
import pytest
import requests

from tests.support.identity import staff
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
PROPERTY = staff("property", "王师傅", party="物业服务企业")
OTHER_PARTY = staff("property", "李经理", party="另一家物业")
WORKER = staff("community_worker", "李娜")
SECRETARY = staff("secretary", "王书记")


@pytest.fixture
def running(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    return system


def ok(response: requests.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_a_return_overruled_by_the_secretary_shows_on_the_residents_timeline_and_counts_against_the_party(running):
    intake, casework = running.web("intake").url, running.web("casework").url
    created = ok(requests.post(f"{intake}/issues", json={
        "channel": "hotline", "title": "小区路灯故障", "description": "晚上一片黑,联系电话13812345678",
        "location": {"community": "幸福里", "building": "3", "unit": "2", "room": "502"},
        "reporter": {"name": "张三", "phone": "13812345678"}}, timeout=10))

    def case():
        cases = requests.get(f"{casework}/cases", params={"limit": 1000}, headers=WORKER, timeout=5).json()["cases"]
        return next((c for c in cases if c["issue_id"] == created["issue_id"]), None)
    opened = wait_until(case, message="the case opens")
    cid, due = opened["case_id"], opened["due"]
    assert opened["dispatch"]["party"] == "物业服务企业" and opened["dispatch"]["acknowledge_by"]

    def command(name: str, body: dict, headers: dict) -> requests.Response:
        return requests.post(f"{casework}/cases/{cid}/{name}", json=body, headers=headers, timeout=10)
    refused = command("acknowledgement", {}, OTHER_PARTY)
    assert refused.status_code == 403 and refused.json()["field"] == "case_id"
    ok(command("acknowledgement", {}, PROPERTY))
    ok(command("return", {"reason": "路灯属市政管理"}, PROPERTY))
    not_yours = command("return-ruling", {"upheld": False, "reason": "不成立"}, WORKER)
    assert not_yours.status_code == 403
    bad = command("return-ruling", {"upheld": "no", "reason": "不成立"}, SECRETARY)
    assert bad.status_code == 422 and bad.json()["field"] == "upheld"
    ruled = ok(command("return-ruling", {"upheld": False, "reason": "小区内路灯由物业负责"}, SECRETARY))
    assert ruled["due"] == due and ruled["dispatch"]["party"] == "物业服务企业"
    ok(command("note", {"text": "居民白天不在家", "visible_to": ["secretary"]}, WORKER))
    notes = requests.get(f"{casework}/cases/{cid}/notes", headers=PROPERTY, timeout=5).json()["notes"]
    assert notes == []
    ok(command("resolution", {"template_id": "facility-repaired"}, PROPERTY))

    def timeline():
        view = requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()
        steps = [t.get("step") for t in view["timeline"]]
        return view if "CaseResolved" in steps else None
    view = wait_until(timeline, message="intake hears every step")
    said = [t.get("step_zh") for t in view["timeline"]]
    assert "责任单位已签收,正在办理(办理时限仍从您反映之日起计算)" in said
    assert "责任单位退回派单,社区将重新派单(办理时限不变)" in said
    assert "社区书记裁定退单理由不成立,原责任单位继续办理(办理时限不变)" in said
    assert view["case"]["due"]["resolve_by"] == due["resolve_by"]

    def rates():
        parties = requests.get(f"{casework}/stats/parties", timeout=5).json()["parties"]
        row = parties.get("物业服务企业")
        return row if row and row["returns_overruled"] == 1 else None
    row = wait_until(rates, message="the ledger folds the steps")
    assert (row["dispatches"], row["acknowledged"], row["returns"], row["return_rate"]) == (1, 1, 1, 1.0)
    assert "13812345678" not in requests.get(f"{casework}/stats/parties", timeout=5).text
    surveyed = requests.post(f"{casework}/surveys", json={"period": "2026Q4", "items": [
        {"case_id": cid, "satisfied": 3, "total": 10}]}, headers=SECRETARY, timeout=10)  # the round saved on PostgreSQL
    assert surveyed.status_code == 201 and surveyed.json()["items"][0]["reopened"] is True
