"""A case before the residents' representative assembly, driven over HTTP as staff would (for tests of what residents
then see): the escalated topic confirmed into an agenda, a carried secret ballot, minutes with a resolution."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import requests

from shared.contracts.envelope import rfc3339
from tests.support.identity import http
from tests.support.processes import wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


def ok(response: requests.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def next_25th(after: datetime) -> datetime:
    """10:00 in Shanghai on the first 25th after `after`: the monthly results release may be made then."""
    local = after.astimezone(SHANGHAI)
    day = local.replace(day=25, hour=10, minute=0, second=0, microsecond=0)
    if day <= local:
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=25)
    return day.astimezone(timezone.utc)


def decide_at_the_assembly(system, meetings: str, case_id: str) -> tuple[str, str, str, datetime]:
    """The proposal confirmed into an assembly's agenda, a carried secret ballot, minutes naming who to tell."""
    [proposal] = wait_until(lambda: http.get(f"{meetings}/proposals", params={"status": "proposed"}, timeout=5)
                            .json()["proposals"], message="topic proposed from the escalation")
    assert proposal["case_id"] == case_id
    meeting_at = datetime.now(timezone.utc) + timedelta(days=3, minutes=5)
    meeting_id = ok(http.post(f"{meetings}/meetings", timeout=5, json={
        "kind": "assembly", "title": "居民代表大会", "place": "社区会议室", "meeting_at": rfc3339(meeting_at)}))["meeting_id"]
    topic_id = ok(http.post(f"{meetings}/proposals/{proposal['proposal_id']}/confirm", timeout=5, json={
        "meeting_id": meeting_id, "title": "3号院停车难", "draft_plan": "错时共享周边单位车位"}))["topic_id"]
    people = [{"name": f"代表{i}", "role": "resident_representative"} for i in range(5)]
    ids = ok(http.post(f"{meetings}/meetings/{meeting_id}/participants", json={"participants": people},
                       timeout=5))["participant_ids"]
    system.yishi("clock", "set", rfc3339(meeting_at))
    ok(http.post(f"{meetings}/meetings/{meeting_id}/open", json={"present": ids, "chair": ids[0], "recorder": ids[1]},
                 timeout=5))
    motion = ok(http.post(f"{meetings}/meetings/{meeting_id}/motions", timeout=5, json={
        "text": "同意错时共享车位方案", "topic_id": topic_id, "major": True, "majority": "two_thirds"}))
    for code, choice in zip(motion["ballots"], ["for", "for", "for", "for", "abstain"]):
        ok(http.post(f"{meetings}/meetings/{meeting_id}/votes", timeout=5,
                     json={"motion_id": motion["motion_id"], "ballot": code, "choice": choice}))
    ok(http.post(f"{meetings}/meetings/{meeting_id}/close", timeout=5))
    due = (meeting_at + timedelta(days=60)).astimezone(SHANGHAI).date().isoformat()
    ok(http.post(f"{meetings}/meetings/{meeting_id}/minutes", timeout=5, json={
        "summary": "通过错时共享方案", "resolutions": [{
            "text": "与周边两家单位签订错时共享协议,完成后告知欧阳娜娜", "owner": "社区居委会", "due": due,
            "topic_id": topic_id}]}))
    return meeting_id, topic_id, motion["motion_id"], meeting_at
