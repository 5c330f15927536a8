"""A complex case escalated to the assembly travels through meetings on the real broker and stores.

casework's CaseOpened and CaseEscalated{to: assembly} are published as CloudEvents to `casework.events`
(as casework's relay would); the meetings worker proposes the topic; staff schedule an assembly, confirm
the topic into its agenda, carry it by secret ballot and record minutes; `MeetingMinuted` with the
resolution's owner and due date appears on `meetings.events`, and the month's results show the case.
"""
import json
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
import requests
from kombu import Connection, Exchange, Producer, Queue

from shared.messaging import topology
from shared.contracts import to_cloudevent
from shared.contracts.envelope import rfc3339
from tests.support.processes import wait_until
from tests.support.identity import http

SH = timezone(timedelta(hours=8))


@pytest.fixture
def city_system(settings):
    """An outside system's queue on meetings.events, and a publisher standing in for casework's relay."""
    with Connection(settings.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        topology.declare(conn)  # consumer queues exist before anything is published, as the relay ensures
        queue = Queue("city-archive", Exchange("meetings.events", "topic", durable=True), routing_key="#")
        queue(conn.default_channel).declare()
        producer = Producer(conn.default_channel, exchange=topology.events_exchange("casework"))
        sequence = [0]

        def publish_casework(name: str, data: dict) -> None:
            sequence[0] += 1
            body = to_cloudevent("casework", name, sequence=sequence[0], prevsequence=sequence[0] - 1 or None,
                                 subject=data["case_id"], time=datetime.now(timezone.utc), data=data)
            producer.publish(json.dumps(body), routing_key=name, content_type="application/json", delivery_mode=2)

        def received() -> list[dict]:
            out = []
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                out.append(json.loads(message.body))
            return out

        yield publish_casework, received


def test_case_escalated_to_the_assembly_is_carried_by_secret_ballot_and_minuted(system, city_system):
    publish_casework, received = city_system
    system.env["YISHI_TEST_CLOCK"] = "1"  # the meeting is 4 days ahead (the 3-day notice): the clock goes there
    system.start("meetings", "worker")
    web = system.start("meetings", "web").url
    case_id, now = str(uuid4()), datetime.now(timezone.utc)

    publish_casework("CaseOpened", {"case_id": case_id, "issue_id": str(uuid4()), "tier": "complex",
                                    "category": "停车交通", "due": {"plan_by": rfc3339(now + timedelta(days=30))},
                                    "opened_at": rfc3339(now), "triage_reason": "涉及多部门"})
    publish_casework("CaseEscalated", {"case_id": case_id, "to": "assembly",
                                       "reason": "3号院停车难,专班方案需提交居民代表大会审议"})
    proposals = wait_until(lambda: http.get(f"{web}/proposals", params={"status": "proposed"}, timeout=5)
                           .json()["proposals"], message="topic proposed from the escalation")
    [proposal] = proposals
    assert proposal["case_id"] == case_id and proposal["kinds"] == ["assembly"]

    meeting_at = now + timedelta(days=4)
    scheduled = http.post(f"{web}/meetings", headers={"Idempotency-Key": "assembly-2026-12"}, timeout=5, json={
        "kind": "assembly", "title": "居民代表大会", "place": "社区会议室", "meeting_at": rfc3339(meeting_at)})
    assert scheduled.status_code == 201, scheduled.text
    meeting_id = scheduled.json()["meeting_id"]
    waiting = wait_until(lambda: http.get(f"{web}/meetings/{meeting_id}", timeout=5).json()["proposed_topics"],
                         message="the proposal waits for this assembly")
    assert waiting[0]["proposal_id"] == proposal["proposal_id"]

    confirmed = http.post(f"{web}/proposals/{proposal['proposal_id']}/confirm", timeout=5, json={
        "meeting_id": meeting_id, "title": "3号院停车难", "draft_plan": "荒废绿地改建车位40个"})
    assert confirmed.status_code == 201, confirmed.text
    topic_id = confirmed.json()["topic_id"]

    people = [{"name": f"王秀英{i}", "role": "resident_representative"} for i in range(5)]
    people.append({"name": "社区书记", "role": "committee"})
    ids = http.post(f"{web}/meetings/{meeting_id}/participants", json={"participants": people},
                        timeout=5).json()["participant_ids"]
    system.yishi("clock", "set", rfc3339(meeting_at))  # held at its announced time, not opened early
    opened = http.post(f"{web}/meetings/{meeting_id}/open", timeout=5,
                           json={"present": ids, "chair": ids[5], "recorder": ids[5]})
    assert opened.status_code == 201, opened.text
    statement = http.post(f"{web}/meetings/{meeting_id}/statements", timeout=5, json={
        "participant_id": ids[1], "topic_id": topic_id, "seconds": 330, "summary": "赞成,但要保留儿童活动区"})
    assert statement.json()["over_limit"] is True and statement.json()["overrun_seconds"] == 30
    http.post(f"{web}/meetings/{meeting_id}/disagreements", timeout=5, json={
        "topic_id": topic_id, "point": "是否占用绿地", "positions": ["有车居民赞成", "无车居民反对"]})

    open_vote = http.post(f"{web}/meetings/{meeting_id}/motions", timeout=5,
                              json={"text": "改建绿地", "topic_id": topic_id, "mode": "open", "major": True})
    assert open_vote.status_code == 409 and open_vote.json()["rule"] == "secret_ballot"
    assert open_vote.json()["field"] == "mode" and "无记名投票" in open_vote.json()["detail"]
    motion = http.post(f"{web}/meetings/{meeting_id}/motions", timeout=5, json={
        "text": "同意将荒废绿地改建车位", "topic_id": topic_id, "major": True, "majority": "two_thirds"}).json()
    assert len(motion["ballots"]) == 5  # the residents' representatives present vote at the assembly
    for i, (code, choice) in enumerate(zip(motion["ballots"], ["for", "for", "for", "for", "against"])):
        vote = http.post(f"{web}/meetings/{meeting_id}/votes", timeout=5,
                             json={"motion_id": motion["motion_id"], "ballot": code, "choice": choice})
        assert vote.status_code == 201, vote.text
        if i == 1:
            reused = http.post(f"{web}/meetings/{meeting_id}/votes", timeout=5, json={
                "motion_id": motion["motion_id"], "ballot": motion["ballots"][0], "choice": "against"})
            assert reused.status_code == 409 and reused.json()["rule"] == "one_vote"
    assert vote.json()["result"] == {"for": 4, "against": 1, "abstain": 0, "carried": True}

    assert http.post(f"{web}/meetings/{meeting_id}/close", timeout=5).status_code == 201
    minutes = http.post(f"{web}/meetings/{meeting_id}/minutes", timeout=5, json={
        "summary": "通过改建方案", "resolutions": [{"text": "施划车位40个并保留儿童活动区", "owner": "幸福里物业服务中心",
                                                "due": "2027-01-31", "topic_id": topic_id, "motion_id": "m1"}]})
    assert minutes.status_code == 201, minutes.text
    assert minutes.json()["late"] is False

    events = {}
    for event in wait_until(lambda: (got := received()) and got, message="meetings' events at the city system"):
        events[event["type"]] = event
    while "cn.yishi.meetings.MeetingMinuted.v1" not in events:
        events |= {e["type"]: e for e in wait_until(received, message="MeetingMinuted")}
    minuted = events["cn.yishi.meetings.MeetingMinuted.v1"]["data"]
    [resolution] = minuted["resolutions"]
    assert resolution["case_id"] == case_id and resolution["owner"] == "幸福里物业服务中心"
    assert resolution["due"] == "2027-01-31T15:59:59Z" and minuted["late"] is False
    assert minuted["disagreements"] == ["3号院停车难:是否占用绿地"]
    vote_recorded = events["cn.yishi.meetings.VoteRecorded.v1"]["data"]
    assert (vote_recorded["mode"], vote_recorded["for"], vote_recorded["against"]) == ("secret", 4, 1)
    agenda = events["cn.yishi.meetings.AgendaPublished.v1"]["data"]
    assert agenda["topics"][0]["case_id"] == case_id
    assert "王秀英" not in json.dumps(list(events.values()), ensure_ascii=False)  # participants stay private

    document = http.get(f"{web}/meetings/{meeting_id}", params={"format": "markdown"}, timeout=5)
    assert document.headers["content-type"].startswith("text/markdown")
    assert "# 居民代表大会 会议记录" in document.text and "| 同意将荒废绿地改建车位 | 无记名投票 |" in document.text
    assert "幸福里物业服务中心" in document.text
    listed = http.get(f"{web}/meetings", params={"kind": "assembly", "from": meeting_at.astimezone(SH)
                                                     .strftime("%Y-%m-%d")}, timeout=5).json()["meetings"]
    assert [m["meeting_id"] for m in listed] == [meeting_id]

    month = now.astimezone(SH).strftime("%Y-%m")
    results = wait_until(lambda: (r := requests.get(f"{web}/reports/results", params={"month": month},
                                                    timeout=5).json())["unresolved"] and r, message="results")
    [unresolved] = results["unresolved"]
    assert unresolved["case_id"] == case_id and unresolved["reasons"][0]["code"] == "escalated"
    wait_until(lambda: any(s["kind"] == "resolution" for s in http.get(
        f"{web}/reports/results", params={"month": month}, timeout=5).json()["unresolved"][0]["next_steps"]),
        message="the resolution is the case's next step")
    printable = requests.get(f"{web}/reports/results", params={"month": month, "format": "html"}, timeout=5)
    assert printable.headers["content-type"].startswith("text/html") and "<td>幸福里物业服务中心</td>" in printable.text


def test_rules_refuse_over_http_naming_the_rule_in_chinese_first(system):
    web = system.start("meetings", "web").url
    soon = http.post(f"{web}/meetings", timeout=5, json={
        "kind": "mobile", "place": "5号院凉亭", "meeting_at": rfc3339(datetime.now(timezone.utc) + timedelta(days=2))})
    meeting_id = soon.json()["meeting_id"]
    late = http.post(f"{web}/meetings/{meeting_id}/agenda", timeout=5, json={
        "topics": [{"title": "垃圾分类", "background": "桶站异味", "draft_plan": "调整清运时间"}]})
    assert late.status_code == 409 and late.headers["content-type"].startswith("application/problem+json")
    body = late.json()
    assert (body["rule"], body["field"]) == ("notice", "topics")
    assert "会前3日" in body["detail"] and "3 days" in body["detail_en"]
    english = http.post(f"{web}/meetings/{meeting_id}/agenda", headers={"Accept-Language": "en"}, timeout=5,
                            json={"topics": [{"title": "垃圾分类", "background": "桶站异味", "draft_plan": "调整清运时间"}]})
    assert english.json()["detail"].startswith("topics must be published at least 72 hours")
    early = http.post(f"{web}/meetings/{meeting_id}/open", timeout=5,
                          json={"present": [], "chair": "p1", "recorder": "p1"})
    assert early.status_code == 409 and early.json()["field"] in ("topics", "meeting_at")
    moved = http.post(f"{web}/meetings/{meeting_id}/reschedule", timeout=5, json={
        "meeting_at": rfc3339(datetime.now(timezone.utc) + timedelta(days=5)), "reason": "场地调整"})
    assert moved.status_code == 201 and moved.json()["place"] == "5号院凉亭"
    agenda = {"topics": [{"title": "垃圾分类", "background": "桶站异味", "draft_plan": "调整清运时间"}]}
    assert http.post(f"{web}/meetings/{meeting_id}/agenda", json=agenda, timeout=5).status_code == 201
    sooner = http.post(f"{web}/meetings/{meeting_id}/reschedule", timeout=5, json={
        "meeting_at": rfc3339(datetime.now(timezone.utc) + timedelta(days=1))})
    assert sooner.status_code == 409 and sooner.json()["field"] == "meeting_at" and "会前3日" in sooner.json()["detail"]
    opened = http.post(f"{web}/meetings/{meeting_id}/open", timeout=5,
                           json={"present": [], "chair": "p1", "recorder": "p1"})
    assert opened.status_code == 409 and (opened.json()["rule"], opened.json()["field"]) == ("opening", "meeting_at")
    cancelled = http.post(f"{web}/meetings/{meeting_id}/cancel", json={"reason": "暴雨预警"}, timeout=5)
    assert cancelled.status_code == 201 and cancelled.json()["status"] == "cancelled"
    bad_month = requests.get(f"{web}/reports/results", params={"month": "2026-13"}, timeout=5)
    assert bad_month.status_code == 422 and bad_month.json()["field"] == "month"
    missing = http.get(f"{web}/meetings/not-a-meeting", timeout=5)
    assert missing.status_code == 404 and missing.json()["field"] == "meeting_id"
    future = http.post(f"{web}/reports/results", json={"month": "2099-01"}, timeout=5)
    assert future.status_code == 409 and future.json()["rule"] == "results_release"
