"""The meetings 《代表进社区工作方案》 names: the quarterly 代表-部门-社区 joint meeting (三方联席会议), hearings (听证会)
and consultations (咨询会), each opening only with its required participants; who of the organisations invited
came is published (联席会议出席率, for the units' lights), never who the people were."""
from __future__ import annotations

import pytest

from services.meetings.published import publish
from services.meetings.rules import RuleBroken
from shared.contracts import CATALOGUE
from tests.unit.meetings.conftest import Council

PEOPLE = [("王代表", "resident_representative", "人大代表"), ("城管李科长", "department_liaison", "城管中队"),
          ("环卫张站长", "department_liaison", "环卫所"), ("刘书记", "committee", "幸福里社区")]


def invite(council: Council, people) -> list[str]:
    council.agenda()
    return council.app.invite(council.id, {"participants": [{"name": n, "role": r, "organisation": o}
                                                            for n, r, o in people]})[0]


def test_a_joint_meeting_opens_only_with_representatives_departments_and_the_community(app, clock):
    council = Council(app, clock, kind="joint")
    ids = invite(council, PEOPLE)
    clock.now = council.meeting().meeting_at
    with pytest.raises(RuleBroken) as refused:  # the department did not come
        app.open_meeting(council.id, {"present": [ids[0], ids[3]], "chair": ids[3], "recorder": ids[3]})
    assert refused.value.rule == "participants" and "下沉单位联络员" in refused.value.detail_zh
    app.open_meeting(council.id, {"present": [ids[0], ids[1], ids[3]], "chair": ids[3], "recorder": ids[3]})

    events = [publish(app.domain_event(n)) for n in app.notifications_after(0, 100)]
    [event] = [p for p in events if p and p.name == "MeetingOpened"]
    CATALOGUE.get("meetings", "MeetingOpened").validate(event.data)
    assert event.data["kind"] == "joint"
    assert {a["organisation"]: a["present"] for a in event.data["attendance"]} == {
        "人大代表": True, "幸福里社区": True, "城管中队": True, "环卫所": False}
    assert "李科长" not in str(event.data)


def test_a_consultation_needs_its_experts(app, clock):
    council = Council(app, clock, kind="consultation")
    ids = invite(council, [("刘书记", "committee", "幸福里社区")])
    clock.now = council.meeting().meeting_at
    with pytest.raises(RuleBroken) as refused:
        app.open_meeting(council.id, {"present": ids, "chair": ids[0], "recorder": ids[0]})
    assert "专家" in refused.value.detail_zh and refused.value.field == "present"
