"""A complex case goes to the residents' representative assembly and comes back with an owner and a due date.

intake -> casework (complex: task force, CaseEscalated{to: assembly}) -> meetings (proposed topic, agenda,
secret ballot, minutes) -> MeetingMinuted -> casework (plan, owner, resolve deadline) -> intake (timeline).
Real processes on PostgreSQL and RabbitMQ.
"""
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.contracts.envelope import rfc3339
from tests.support.processes import wait_until
from tests.support.identity import http


def ok(response: requests.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_assembly_resolution_sets_the_cases_owner_and_due_date(system):
    system.env["YISHI_TEST_CLOCK"] = "1"  # the assembly is held at its announced time, 3 days after its notice
    for service in ("intake", "casework", "meetings"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework, meetings = (system.web(s).url for s in ("intake", "casework", "meetings"))

    created = ok(requests.post(f"{intake}/issues", timeout=5, json={
        "channel": "survey", "title": "3号院停车难,晚上车位不足", "description": "希望议事会协调",
        "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "李四"}}))
    case = wait_until(lambda: http.get(f"{casework}/cases", timeout=5).json()["cases"], message="case")[0]
    assert case["tier"] == "complex" and case["party_kind"] == "task_force"
    [proposal] = wait_until(lambda: http.get(f"{meetings}/proposals", params={"status": "proposed"}, timeout=5)
                            .json()["proposals"], message="topic proposed from the escalation")
    assert proposal["case_id"] == case["case_id"] and proposal["kinds"] == ["assembly"]

    meeting_at = datetime.now(timezone.utc) + timedelta(days=3, minutes=5)
    meeting_id = ok(http.post(f"{meetings}/meetings", timeout=5, json={
        "kind": "assembly", "title": "居民代表大会", "place": "社区会议室",
        "meeting_at": rfc3339(meeting_at)}))["meeting_id"]
    topic_id = ok(http.post(f"{meetings}/proposals/{proposal['proposal_id']}/confirm", timeout=5, json={
        "meeting_id": meeting_id, "title": "3号院停车难", "draft_plan": "错时共享周边单位车位"}))["topic_id"]
    people = [{"name": f"代表{i}", "role": "resident_representative"} for i in range(5)]
    ids = ok(http.post(f"{meetings}/meetings/{meeting_id}/participants", json={"participants": people},
                           timeout=5))["participant_ids"]
    system.yishi("clock", "set", rfc3339(meeting_at))
    ok(http.post(f"{meetings}/meetings/{meeting_id}/open", json={"present": ids, "chair": ids[0],
                                                                     "recorder": ids[1]}, timeout=5))
    motion = ok(http.post(f"{meetings}/meetings/{meeting_id}/motions", timeout=5, json={
        "text": "同意错时共享车位方案", "topic_id": topic_id, "major": True, "majority": "two_thirds"}))
    for code, choice in zip(motion["ballots"], ["for", "for", "for", "for", "abstain"]):
        vote = ok(http.post(f"{meetings}/meetings/{meeting_id}/votes", timeout=5,
                                json={"motion_id": motion["motion_id"], "ballot": code, "choice": choice}))
    assert vote["result"]["carried"] is True
    ok(http.post(f"{meetings}/meetings/{meeting_id}/close", timeout=5))
    ok(http.post(f"{meetings}/meetings/{meeting_id}/minutes", timeout=5, json={
        "summary": "通过错时共享方案", "resolutions": [{"text": "与周边两家单位签订错时共享协议,提供车位60个",
                                                    "owner": "社区居委会", "due": "2027-01-31", "topic_id": topic_id}]}))

    def adopted():
        c = http.get(f"{casework}/cases/{case['case_id']}", timeout=5).json()
        return c["resolutions"] and c
    updated = wait_until(adopted, timeout=60, message="casework adopts the assembly's resolution")
    assert updated["party"] == "社区居委会" and updated["plan"].startswith("与周边两家单位签订错时共享协议")
    assert updated["deadlines"]["resolve"]["due"] == "2027-01-31T15:59:59Z"
    assert updated["deadlines"]["plan"]["met_at"] is not None
    history = http.get(f"{casework}/cases/{case['case_id']}/history", timeout=5).json()["entries"]
    assert history[-1]["type"] == "ResolutionAdopted" and history[-1]["data"]["meeting_id"] == meeting_id

    timeline = wait_until(lambda: [t for t in requests.get(f"{intake}/issues/{created['issue_id']}", timeout=5)
                                   .json()["timeline"] if t.get("step") == "PlanProposed"], message="intake timeline")
    assert timeline[-1]["owner"] == "社区居委会"
