"""The council's rules of procedure (议事规则), each at its boundary, on the in-memory store."""
from datetime import timedelta

import pytest

from services.meetings import record
from services.meetings.rules import RuleBroken
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, InvalidInput
from tests.unit.meetings.conftest import Council

TOPIC = {"title": "3号院停车难", "background": "车位不足", "draft_plan": "改建荒废绿地"}


def meeting_in(app, clock, delta: timedelta, kind="regular"):
    meeting, _ = app.schedule({"kind": kind, "place": "社区会议室", "meeting_at": rfc3339(clock() + delta)})
    return str(meeting.id)


# step 1: topics published at least 3 days before (会前3日公示议题) -------------------------------------
def test_topics_published_exactly_72_hours_before_the_meeting_are_accepted(app, clock):
    meeting_id = meeting_in(app, clock, timedelta(hours=72))
    topic_ids, created = app.publish_agenda(meeting_id, {"topics": [TOPIC]})
    assert created and topic_ids == ["t1"]
    assert app.get_meeting(meeting_id).agenda_published_at == clock()


def test_topics_published_71_hours_59_minutes_before_are_refused_naming_the_notice_rule(app, clock):
    meeting_id = meeting_in(app, clock, timedelta(hours=71, minutes=59))
    with pytest.raises(RuleBroken) as refused:
        app.publish_agenda(meeting_id, {"topics": [TOPIC]})
    assert refused.value.rule == "notice" and refused.value.field == "topics" and refused.value.status == 409
    assert "会前3日" in refused.value.detail_zh and "71 小时 59 分钟" in refused.value.detail_zh
    assert "3 days" in refused.value.detail
    assert app.get_meeting(meeting_id).topics == []


def test_a_topic_needs_background_and_a_draft_plan(app, clock):
    meeting_id = meeting_in(app, clock, timedelta(days=5))
    with pytest.raises(InvalidInput) as refused:
        app.publish_agenda(meeting_id, {"topics": [{"background": "车位不足"}]})
    assert refused.value.field == "topics[0].draft_plan"


def test_a_meeting_without_published_topics_cannot_open(app, clock):
    council = Council(app, clock)
    ids = council.invite(("代表甲", "resident_representative"), ("记录员", "committee"))
    with pytest.raises(RuleBroken) as refused:
        app.open_meeting(council.id, {"present": ids, "chair": ids[0], "recorder": ids[1]})
    assert refused.value.rule == "notice"


# statements limited to 5 minutes each (发言限时制) --------------------------------------------------
def test_statements_up_to_five_minutes_pass_and_time_beyond_is_flagged(app, clock):
    council = Council(app, clock)
    voters = council.open_with()
    statement = {"participant_id": voters[1], "topic_id": "t1", "summary": "赞成改建"}
    app.record_statement(council.id, statement | {"seconds": 300})
    app.record_statement(council.id, statement | {"seconds": 90, "participant_id": voters[2]})
    app.record_statement(council.id, statement | {"seconds": 40, "participant_id": voters[2]})
    s = council.meeting().statements
    assert [(x["over_limit"], x["overrun_seconds"]) for x in s] == [(False, 0), (False, 0), (False, 0)]

    app.record_statement(council.id, statement | {"seconds": 1})  # voters[1] is already at five minutes
    last = council.meeting().statements[-1]
    assert (last["over_limit"], last["overrun_seconds"]) == (True, 1)


def test_a_statement_needs_a_participant_present_and_a_topic_on_the_agenda(app, clock):
    council = Council(app, clock)
    voters = council.open_with(members=5, present=3)
    with pytest.raises(RuleBroken) as absent:
        app.record_statement(council.id, {"participant_id": voters[4], "topic_id": "t1", "seconds": 60,
                                          "summary": "…"})
    assert absent.value.rule == "participants"
    with pytest.raises(InvalidInput) as no_topic:
        app.record_statement(council.id, {"participant_id": voters[1], "topic_id": "t9", "seconds": 60,
                                          "summary": "…"})
    assert no_topic.value.field == "topic_id"


def test_disagreements_carry_the_named_recorder(app, clock):
    council = Council(app, clock)
    council.open_with()
    app.record_disagreement(council.id, {"topic_id": "t1", "point": "是否占用绿地",
                                         "positions": ["有车居民:赞成", "无车居民:反对"]})
    assert council.meeting().disagreements[0]["recorded_by"] == "物业李经理"


# votes: one per eligible participant; major matters by secret ballot ------------------------------------
def test_each_eligible_participant_votes_once_in_a_named_vote(app, clock):
    council = Council(app, clock)
    voters = council.open_with(members=5, present=4)
    motion, _ = app.table_motion(council.id, {"text": "同意改建方案", "topic_id": "t1", "mode": "open"})
    vote = {"motion_id": motion["motion_id"], "choice": "for"}

    _, created = app.cast_vote(council.id, vote | {"participant_id": voters[0]})
    _, again = app.cast_vote(council.id, vote | {"participant_id": voters[0]})  # a retry changes nothing
    assert (created, again) == (True, False)
    with pytest.raises(RuleBroken) as twice:
        app.cast_vote(council.id, vote | {"participant_id": voters[0], "choice": "against"})
    assert twice.value.rule == "one_vote" and twice.value.field == "participant_id"
    with pytest.raises(RuleBroken) as absent:
        app.cast_vote(council.id, vote | {"participant_id": voters[4]})
    assert absent.value.rule == "one_vote"
    manager = council.meeting().participants[-1]["participant_id"]
    with pytest.raises(RuleBroken) as no_vote:  # invited per topic: heard, but has no vote
        app.cast_vote(council.id, vote | {"participant_id": manager})
    assert no_vote.value.rule == "one_vote"
    assert council.meeting().motion(motion["motion_id"])["counts"] == {"for": 1, "against": 0, "abstain": 0}


def test_a_major_matter_cannot_be_put_to_a_named_vote(app, clock):
    council = Council(app, clock)
    council.open_with()
    with pytest.raises(RuleBroken) as refused:
        app.table_motion(council.id, {"text": "改建绿地", "mode": "open", "major": True})
    assert refused.value.rule == "secret_ballot" and refused.value.field == "mode"
    motion, _ = app.table_motion(council.id, {"text": "改建绿地", "major": True})
    assert council.meeting().motion(motion["motion_id"])["mode"] == "secret"


def test_without_a_quorum_no_motion_is_put_to_the_vote(app, clock):
    council = Council(app, clock)
    council.open_with(members=6, present=3)  # 3 of 6 is not more than half
    with pytest.raises(RuleBroken) as refused:
        app.table_motion(council.id, {"text": "同意改建方案"})
    assert refused.value.rule == "quorum" and "3 of 6" in refused.value.detail


def test_a_secret_ballot_is_cast_once_per_ballot_and_carries_by_the_marked_majority(app, clock):
    council = Council(app, clock, kind="assembly")
    council.open_with(members=6, present=6)
    motion, _ = app.table_motion(council.id, {"text": "改建绿地", "major": True, "majority": "two_thirds"})
    ballots = motion["ballots"]
    assert len(ballots) == 6 and len(set(ballots)) == 6
    for code, choice in zip(ballots, ["for", "for", "for", "for", "against"]):
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": code, "choice": choice})
    with pytest.raises(RuleBroken) as reused:
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": ballots[0], "choice": "against"})
    assert reused.value.rule == "one_vote" and reused.value.field == "ballot"
    with pytest.raises(RuleBroken) as forged:
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": "made-up", "choice": "for"})
    assert forged.value.rule == "one_vote"
    result, _ = app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": ballots[5],
                                           "choice": "abstain"})
    # every ballot is in: counted at once; 4 of 6 votes cast is two thirds
    assert result["status"] == "counted"
    assert result["result"] == {"for": 4, "against": 1, "abstain": 1, "carried": True}


def test_two_thirds_majority_is_not_reached_by_a_simple_majority(app, clock):
    council = Council(app, clock, kind="assembly")
    council.open_with(members=6)
    motion, _ = app.table_motion(council.id, {"text": "改建绿地", "major": True, "majority": "two_thirds"})
    for code, choice in zip(motion["ballots"], ["for", "for", "for", "against", "against"]):
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": code, "choice": choice})
    assert app.tally(council.id, motion["motion_id"]) == {"for": 3, "against": 2, "abstain": 0, "carried": False}


def test_the_secret_ballot_stores_no_voter_identity(app, clock):
    council = Council(app, clock, kind="assembly")
    voters = council.open_with(members=5)
    names = [p["name"] for p in council.meeting().participants]
    before = app.log_head()
    motion, _ = app.table_motion(council.id, {"text": "改建绿地", "major": True})
    codes = motion["ballots"]
    for code, choice in zip(codes, ["for", "against", "for", "abstain", "for"]):
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": code, "choice": choice})

    stored = app.recorder.select_notifications(before, 100, inclusive_of_start=False)
    topics = [n.topic.rsplit(".", 1)[-1] for n in stored]
    assert topics == ["MotionTabled", *["BallotCast"] * 5, "VoteTallied"]
    for notification in stored:
        text = notification.state.decode()
        assert not any(v in text for v in voters), "a participant id is stored with the ballot"
        assert not any(n in text for n in names), "a name is stored with the ballot"
        assert not any(c in text for c in codes), "a ballot code is stored in clear"
    motion_view = record.view(council.meeting())["motions"][0]
    assert "votes" not in motion_view and "ballots" not in motion_view and "used" not in motion_view
    assert motion_view["result"] == {"for": 3, "against": 1, "abstain": 1, "carried": True}


def test_ballots_can_be_reissued_only_before_anyone_votes(app, clock):
    council = Council(app, clock, kind="assembly")
    council.open_with(members=3)
    motion, _ = app.table_motion(council.id, {"text": "改建绿地", "mode": "secret"})
    fresh = app.reissue_ballots(council.id, motion["motion_id"])
    with pytest.raises(RuleBroken):  # the lost codes are void
        app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": motion["ballots"][0], "choice": "for"})
    app.cast_vote(council.id, {"motion_id": motion["motion_id"], "ballot": fresh[0], "choice": "for"})
    with pytest.raises(RuleBroken) as refused:
        app.reissue_ballots(council.id, motion["motion_id"])
    assert refused.value.rule == "one_vote"


# minutes within 24 hours (会后24小时内形成会议纪要) ---------------------------------------------------
def closed_meeting(app, clock):
    council = Council(app, clock)
    council.open_with()
    app.close_meeting(council.id)
    return council


RESOLUTION = {"text": "物业于月底前完成车位施划", "owner": "幸福里物业服务中心", "due": "2026-12-31"}


def test_minutes_23_hours_59_minutes_after_closing_are_on_time(app, clock):
    council = closed_meeting(app, clock)
    clock.advance(hours=23, minutes=59)
    app.record_minutes(council.id, {"resolutions": [RESOLUTION]})
    minutes = council.meeting().minutes
    assert minutes["late"] is False
    assert rfc3339(minutes["resolutions"][0]["due"]) == "2026-12-31T15:59:59Z"  # end of the day in Shanghai
    assert minutes["resolutions"][0]["owner"] == "幸福里物业服务中心"


def test_minutes_24_hours_1_minute_after_closing_are_accepted_and_flagged_late(app, clock):
    council = closed_meeting(app, clock)
    clock.advance(hours=24, minutes=1)
    app.record_minutes(council.id, {"resolutions": [RESOLUTION]})
    assert council.meeting().minutes["late"] is True
    assert council.meeting().status == "minuted"


def test_every_resolution_names_an_owner_and_a_deadline(app, clock):
    council = closed_meeting(app, clock)
    with pytest.raises(InvalidInput) as no_owner:
        app.record_minutes(council.id, {"resolutions": [{"text": "施划车位", "due": "2026-12-31"}]})
    assert no_owner.value.field == "resolutions[0].owner"
    with pytest.raises(InvalidInput) as no_due:
        app.record_minutes(council.id, {"resolutions": [{"text": "施划车位", "owner": "物业"}]})
    assert no_due.value.field == "resolutions[0].due" and "完成时限" in no_due.value.detail_zh


def test_minutes_come_after_closing_and_only_once(app, clock):
    council = Council(app, clock)
    council.open_with()
    with pytest.raises(RuleBroken) as early:
        app.record_minutes(council.id, {"resolutions": [RESOLUTION]})
    assert early.value.rule == "procedure"
    app.close_meeting(council.id)
    app.record_minutes(council.id, {"resolutions": [RESOLUTION]})
    with pytest.raises(RuleBroken) as again:
        app.record_minutes(council.id, {"resolutions": [RESOLUTION]})
    assert again.value.detail_zh.startswith("会议纪要已形成,不能再提交会议纪要")  # was 会议已形成纪要,不能形成会议纪要


def test_a_resolution_on_a_topic_inherits_its_case(app, clock):
    council = Council(app, clock)
    case_id = "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
    council.agenda(case_id=case_id)
    ids = council.invite(("代表甲", "resident_representative"), ("代表乙", "resident_representative"))
    clock.now = council.meeting().meeting_at
    app.open_meeting(council.id, {"present": ids, "chair": ids[0], "recorder": ids[1]})
    app.close_meeting(council.id)
    app.record_minutes(council.id, {"resolutions": [RESOLUTION | {"topic_id": "t1"}]})
    assert council.meeting().minutes["resolutions"][0]["case_id"] == case_id


# idempotency ------------------------------------------------------------------------------------
def test_a_retried_command_with_the_same_key_has_one_effect(app, clock):
    body = {"kind": "mobile", "place": "5号院凉亭", "meeting_at": rfc3339(clock() + timedelta(days=4))}
    first, created = app.schedule(body, key="desk-1")
    again, repeated = app.schedule(body, key="desk-1")
    assert (created, repeated) == (True, False) and first.id == again.id
    with pytest.raises(Conflict):
        app.schedule(body | {"place": "6号院"}, key="desk-1")
    ids, _ = app.publish_agenda(str(first.id), {"topics": [TOPIC]}, key="agenda-1")
    same, created = app.publish_agenda(str(first.id), {"topics": [TOPIC]}, key="agenda-1")
    assert (ids, same, created) == (["t1"], ["t1"], False)
    assert len(app.get_meeting(str(first.id)).topics) == 1


def test_a_meeting_in_the_past_or_of_an_unknown_kind_is_refused(app, clock):
    with pytest.raises(InvalidInput) as past:
        app.schedule({"kind": "regular", "place": "会议室", "meeting_at": rfc3339(clock() - timedelta(minutes=1))})
    assert past.value.field == "meeting_at"
    with pytest.raises(InvalidInput) as kind:
        app.schedule({"kind": "party", "place": "会议室", "meeting_at": rfc3339(clock() + timedelta(days=5))})
    assert kind.value.field == "kind"
