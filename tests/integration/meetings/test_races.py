"""Ten identical meeting commands at once, over two web processes, make one effect: one motion for one
Idempotency-Key, one vote per ballot code, one open vote per participant (issue 14)."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.contracts.envelope import rfc3339
from tests.support.identity import http
from tests.support.races import COPIES, at_once, statuses

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


def test_ten_copies_of_each_vote_and_motion_count_once(system):
    system.env["YISHI_TEST_CLOCK"] = "1"  # the meeting is 4 days ahead (the 3-day notice): the clock goes there
    system.start("meetings", "worker")
    webs = [system.start("meetings", "web").url, system.start_another("meetings", "web", "second").url]
    web = webs[0]
    meeting_at = datetime.now(timezone.utc) + timedelta(days=4)
    meeting_id = http.post(f"{web}/meetings", timeout=10, json={
        "kind": "regular", "title": "议事会例会", "place": "社区会议室", "meeting_at": rfc3339(meeting_at)}).json()["meeting_id"]
    [topic_id] = http.post(f"{web}/meetings/{meeting_id}/agenda", timeout=10, json={"topics": [
        {"title": "楼道堆物清理", "background": "消防通道堵塞", "draft_plan": "限期清理"}]}).json()["topic_ids"]
    people = [{"name": f"居民代表{i}", "role": "resident_representative"} for i in range(5)] + [{"name": "书记", "role": "committee"}]
    ids = http.post(f"{web}/meetings/{meeting_id}/participants", json={"participants": people},
                    timeout=10).json()["participant_ids"]
    system.yishi("clock", "set", rfc3339(meeting_at))
    opened = http.post(f"{web}/meetings/{meeting_id}/open", timeout=10,
                       json={"present": ids, "chair": ids[5], "recorder": ids[5]})
    assert opened.status_code == 201, opened.text

    def spread(path: str, body: dict, headers: dict | None = None):
        return lambda i: http.post(f"{webs[i % 2]}{path}", json=body, headers=headers or {}, timeout=30)

    secret = at_once(spread(f"/meetings/{meeting_id}/motions", {"text": "限期清理楼道堆物", "topic_id": topic_id,
                                                                "mode": "secret"}, {"Idempotency-Key": "race-motion-1"}))
    assert statuses(secret) == {201: 1, 200: COPIES - 1}, [m.text for m in secret]
    assert len({m.json()["motion_id"] for m in secret}) == 1
    motion = next(m.json() for m in secret if m.status_code == 201)
    ballots = at_once(spread(f"/meetings/{meeting_id}/votes", {"motion_id": motion["motion_id"],
                                                              "ballot": motion["ballots"][0], "choice": "for"}))
    assert statuses(ballots)[201] == 1 and set(statuses(ballots)) <= {201, 409}, [b.text for b in ballots]

    named = http.post(f"{web}/meetings/{meeting_id}/motions", timeout=10,
                      json={"text": "由物业牵头清理", "topic_id": topic_id, "mode": "open"}).json()
    votes = at_once(spread(f"/meetings/{meeting_id}/votes", {"motion_id": named["motion_id"], "participant_id": ids[0],
                                                            "choice": "against"}))
    assert statuses(votes) == {201: 1, 200: COPIES - 1}, [v.text for v in votes]  # the same vote again: already counted
    tally = http.post(f"{web}/meetings/{meeting_id}/motions/{named['motion_id']}/tally", timeout=10)
    assert tally.json()["result"]["against"] == 1, tally.text
    secret_tally = http.post(f"{web}/meetings/{meeting_id}/motions/{motion['motion_id']}/tally", timeout=10)
    assert secret_tally.json()["result"]["for"] == 1, secret_tally.text
