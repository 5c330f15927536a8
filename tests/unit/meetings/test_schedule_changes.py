"""The 3-day notice cannot be defeated: a meeting opens only near its time; cancelled or rescheduled openly."""
from datetime import timedelta

import pytest

from services.meetings.application import MeetingsApplication
from services.meetings.published import publish
from services.meetings.rules import OPENING, RuleBroken
from shared.config import Settings
from shared.contracts import to_cloudevent
from shared.contracts.envelope import rfc3339
from tests.unit.meetings.conftest import Council


def ready(app, clock, days_ahead=4) -> tuple[Council, dict]:
    """A meeting with its agenda published and members invited, the roll call to open it with."""
    council = Council(app, clock, days_ahead=days_ahead)
    council.agenda()
    ids = council.invite(("代表甲", "resident_representative"), ("代表乙", "resident_representative"))
    return council, {"present": ids, "chair": ids[0], "recorder": ids[1]}


def published(app, after: int = 0) -> list:
    out = [publish(app.domain_event(n)) for n in app.notifications_after(after)]
    for p in out:
        if p is not None:  # each is valid against the catalogue
            to_cloudevent("meetings", p.name, sequence=1, prevsequence=None, subject=p.subject, time=p.time,
                          data=p.data)
    return [p for p in out if p is not None]


def test_a_meeting_four_days_ahead_cannot_be_opened_right_after_its_agenda_is_published(app, clock):
    council, roll = ready(app, clock)
    with pytest.raises(RuleBroken) as early:
        app.open_meeting(council.id, roll)
    assert (early.value.rule, early.value.field, early.value.status) == ("opening", "meeting_at", 409)
    assert "会议时间" in early.value.detail_zh and council.meeting().status == "scheduled"


def test_a_meeting_opens_from_the_start_of_its_window_to_its_end(app, clock):
    council, roll = ready(app, clock)
    at = council.meeting().meeting_at
    clock.now = at - OPENING.before - timedelta(minutes=1)
    with pytest.raises(RuleBroken):
        app.open_meeting(council.id, roll)
    clock.now = at - OPENING.before
    app.open_meeting(council.id, roll)
    assert council.meeting().status == "open"

    late, roll = ready(app, clock)
    clock.now = late.meeting().meeting_at + OPENING.after + timedelta(minutes=1)
    with pytest.raises(RuleBroken) as missed:
        app.open_meeting(late.id, roll)
    assert missed.value.rule == "opening" and "改期" in missed.value.detail_zh


def test_the_opening_window_is_configurable(tmp_path, clock):
    wide = MeetingsApplication(Settings(None, "", tmp_path / "var"), clock=clock,
                               env={"PERSISTENCE_MODULE": "eventsourcing.popo",
                                    "YISHI_MEETING_OPENS_EARLY_MINUTES": str(5 * 24 * 60)})
    try:
        council, roll = ready(wide, clock)
        wide.open_meeting(council.id, roll)
        assert council.meeting().status == "open"
    finally:
        wide.close()


def test_a_cancelled_meeting_is_announced_and_does_nothing_more(app, clock):
    council, roll = ready(app, clock)
    before = app.notifications_after(0)[-1].id
    app.cancel_meeting(council.id, {"reason": "暴雨预警,改日再议"})
    assert council.meeting().status == "cancelled"
    [cancelled] = published(app, before)
    assert cancelled.name == "MeetingCancelled" and cancelled.data["reason"] == "暴雨预警,改日再议"
    clock.now = council.meeting().meeting_at
    with pytest.raises(RuleBroken) as refused:
        app.open_meeting(council.id, roll)
    assert refused.value.detail_zh.startswith("会议已取消")
    with pytest.raises(RuleBroken):
        app.reschedule_meeting(council.id, {"meeting_at": rfc3339(clock() + timedelta(days=5))})


def test_rescheduling_earlier_than_the_notice_allows_is_refused_naming_meeting_at(app, clock):
    council, _ = ready(app, clock, days_ahead=10)
    clock.advance(days=2)
    with pytest.raises(RuleBroken) as refused:
        app.reschedule_meeting(council.id, {"meeting_at": rfc3339(clock() + timedelta(days=2, hours=23))})
    assert (refused.value.rule, refused.value.field, refused.value.status) == ("notice", "meeting_at", 409)
    assert "会前3日" in refused.value.detail_zh
    app.reschedule_meeting(council.id, {"meeting_at": rfc3339(clock() + timedelta(days=3))})  # still 3 days' notice


def test_a_later_time_re_announces_the_agenda(app, clock):
    council, roll = ready(app, clock)
    first_time = council.meeting().meeting_at
    before = app.notifications_after(0)[-1].id
    clock.advance(days=1)
    later = first_time + timedelta(days=7)
    app.reschedule_meeting(council.id, {"meeting_at": rfc3339(later), "place": "社区会议室", "reason": "书记出差"})
    moved, agenda = published(app, before)
    assert moved.name == "MeetingRescheduled"
    assert moved.data["meeting_at"] == rfc3339(later)
    assert moved.data["previous_meeting_at"] == rfc3339(first_time) and moved.data["place"] == "社区会议室"
    assert agenda.name == "AgendaPublished" and agenda.data["meeting_at"] == rfc3339(later)
    assert [t["topic_id"] for t in agenda.data["topics"]] == ["t1"]
    clock.now = first_time
    with pytest.raises(RuleBroken):  # the old time is no longer the meeting's
        app.open_meeting(council.id, roll)
    clock.now = later
    app.open_meeting(council.id, roll)


def test_the_agenda_votes_and_minutes_carry_what_their_notices_say(app, clock):
    council = Council(app, clock, kind="mobile")
    voters = council.open_with()
    motion, _ = app.table_motion(council.id, {"text": "同意改建车位", "topic_id": "t1", "mode": "open"})
    for v in voters:
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "participant_id": v, "choice": "for"})
    app.close_meeting(council.id)
    app.record_minutes(council.id, {"resolutions": [{"text": "施划车位", "owner": "物业", "due": "2026-12-31"}]})
    events = {p.name: p.data for p in published(app)}
    agenda = events["AgendaPublished"]
    assert (agenda["kind"], agenda["place"]) == ("mobile", "幸福里3号院凉亭")
    assert agenda["topics"][0]["draft_plan"] == "将荒废绿地改建为车位"
    assert (events["VoteRecorded"]["text"], events["VoteRecorded"]["for"]) == ("同意改建车位", 5)
    assert events["MeetingMinuted"]["kind"] == "mobile" and events["MeetingMinuted"]["resolutions"][0]["owner"] == "物业"
