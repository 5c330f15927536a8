"""A reception day and a representative's supervision on the real broker and stores, with intake running.

Staff open a station, register a representative and schedule a reception day; residents ask for topics and
the day is announced; at the reception a concern becomes an issue in intake (channel `reception`). casework's
CaseOpened and DeadlineWarned for that issue are published to `casework.events` (as casework's relay would):
the representative who took the case up receives the red alert and signs off, and the resident's progress in
intake shows the supervision."""
import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from kombu import Connection, Producer

from shared.contracts import to_cloudevent
from shared.contracts.envelope import rfc3339
from shared.messaging import topology
from tests.support.identity import SignedIn, http
from tests.support.processes import wait_until

WORKER = SignedIn("community_worker", name="李娜")
REPRESENTATIVE = SignedIn("resident_representative", name="王建国")


@pytest.fixture
def casework_relay(settings):
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)  # consumer queues exist before anything is published, as the relay ensures
        producer = Producer(conn.default_channel, exchange=topology.events_exchange("casework"))
        sequence = [0]

        def publish(name: str, data: dict) -> None:
            sequence[0] += 1
            body = to_cloudevent("casework", name, sequence=sequence[0], prevsequence=sequence[0] - 1 or None,
                                 subject=data["case_id"], time=datetime.now(timezone.utc), data=data)
            producer.publish(json.dumps(body), routing_key=name, content_type="application/json", delivery_mode=2)

        yield publish


def test_a_reception_days_concern_is_an_issue_whose_case_a_representative_supervises(system, casework_relay):
    system.env["YISHI_TEST_CLOCK"] = "1"  # the day is announced 3 days ahead, and held later: the clock goes there
    system.start("intake", "worker")
    intake = system.start("intake", "web").url
    system.env["YISHI_INTAKE_URL"] = intake
    system.start("liaison", "worker")
    web = system.start("liaison", "web").url
    now = datetime.now(timezone.utc)

    station = WORKER.post(f"{web}/stations", timeout=5, json={
        "name": "幸福里代表联络站", "community": "幸福里", "place": "党群服务中心二楼"}).json()["station_id"]
    rep = WORKER.post(f"{web}/representatives", timeout=5, json={
        "name": "王建国", "station_id": station, "expertise": ["法律"], "contact": {"phone": "13812345678"}})
    assert rep.status_code == 201, rep.text
    rep_id = rep.json()["representative_id"]
    starts_at = now + timedelta(days=4)
    reception = WORKER.post(f"{web}/receptions", headers={"Idempotency-Key": "reception-12"}, timeout=5, json={
        "station_id": station, "representative_ids": [rep_id], "starts_at": rfc3339(starts_at)})
    assert reception.status_code == 201, reception.text
    rid = reception.json()["reception_id"]
    assert http.post(f"{web}/receptions/{rid}/topics", json={"topic": "小区停车难"}, timeout=5).status_code == 201
    assert WORKER.post(f"{web}/receptions/{rid}/announcement", timeout=5).status_code == 201
    board = wait_until(lambda: http.get(f"{web}/board/receptions", timeout=5).json()["receptions"],
                       message="the announcement on the board")
    assert board[0]["topics"] == ["小区停车难"]

    early = REPRESENTATIVE.post(f"{web}/receptions/{rid}/concerns", timeout=5, json={
        "title": "楼道灯坏了", "description": "3号楼2单元楼道灯不亮", "reporter": {"name": "赵敏"}})
    assert early.status_code == 409 and early.json()["field"] == "reception_id"
    system.yishi("clock", "set", rfc3339(starts_at))
    refused = REPRESENTATIVE.post(f"{web}/receptions/{rid}/concerns", timeout=5, json={
        "title": "楼道灯坏了", "description": "3号楼2单元楼道灯不亮", "reporter": {}})
    assert refused.status_code == 422 and refused.json()["field"] == "reporter", refused.text  # intake's refusal
    concern = REPRESENTATIVE.post(f"{web}/receptions/{rid}/concerns", headers={"Idempotency-Key": "c-1"}, timeout=5,
                                  json={"title": "楼道灯坏了", "description": "3号楼2单元楼道灯不亮",
                                        "location": {"building": "3"}, "reporter": {"name": "赵敏"}})
    assert concern.status_code == 201, concern.text
    again = REPRESENTATIVE.post(f"{web}/receptions/{rid}/concerns", headers={"Idempotency-Key": "c-1"}, timeout=5,
                                json={"title": "楼道灯坏了", "description": "3号楼2单元楼道灯不亮",
                                      "location": {"building": "3"}, "reporter": {"name": "赵敏"}})
    assert again.status_code == 200 and again.json()["issue_id"] == concern.json()["issue_id"]
    issue_id, code = concern.json()["issue_id"], concern.json()["tracking_code"]
    issue = http.get(f"{intake}/issues/{code}", timeout=5).json()
    assert issue["channel"] == "reception" and issue["location"]["community"] == "幸福里"

    case_id = str(uuid4())
    casework_relay("CaseOpened", {"case_id": case_id, "issue_id": issue_id, "tier": "routine", "category": "设施维护",
                                  "due": {"resolve_by": rfc3339(now + timedelta(days=9))}, "opened_at": rfc3339(now)})
    taken = wait_until(lambda: (r := REPRESENTATIVE.post(f"{web}/cases/{case_id}/supervision", timeout=5, json={
        "representative_id": rep_id, "reason": "居民在接待日反映,跟踪督办"})).status_code == 201 and r,
        message="the case known to liaison, taken up")
    assert taken.json()["status"] == "supervising"
    casework_relay("DeadlineWarned", {"case_id": case_id, "issue_id": issue_id, "level": "red", "deadline": "resolve",
                                      "due": rfc3339(now + timedelta(days=9))})
    alerts = wait_until(lambda: REPRESENTATIVE.get(f"{web}/cases/{case_id}/supervision", timeout=5)
                        .json().get("alerts"), message="the red alert reaches the representative")
    assert alerts[0]["level"] == "red"
    signed = REPRESENTATIVE.post(f"{web}/cases/{case_id}/supervision/sign-off", timeout=5, json={
        "representative_id": rep_id, "note": "物业已更换灯具", "solved": True})
    assert signed.status_code == 201, signed.text

    timeline = wait_until(lambda: [e for e in http.get(f"{intake}/issues/{code}", timeout=5).json()["timeline"]
                                   if e.get("step") == "CaseSupervisionSignedOff"],
                          message="the sign-off on the resident's timeline")
    assert timeline[0]["step_zh"] == "人大代表督办结束" and timeline[0]["note"] == "物业已更换灯具"

    public = http.get(f"{web}/representatives", timeout=5).json()["representatives"]
    assert "13812345678" not in json.dumps(public) and public[0]["expertise"] == ["法律"]
    staff_view = WORKER.get(f"{web}/representatives/{rep_id}", timeout=5).json()
    assert staff_view["contact"]["phone"] == "138****5678"
