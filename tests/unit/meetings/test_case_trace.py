"""A case's trace through the council (议事全程留痕): topic, vote, resolution and monthly release, from meetings' own
log, masked as the public reads it, and the same rows again when the read model is rebuilt."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.meetings import record
from services.meetings.trace import CaseTrace, case_trace
from shared.config import Settings
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database
from shared.store.projection import catch_up
from tests.unit.meetings.conftest import Council

CASE = "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a01"
OTHER = "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a02"


@pytest.fixture
def db(tmp_path):
    db = Database("meetings", Settings(None, "", tmp_path / "var"))
    yield db
    db.close()


def project(app, db) -> None:
    """Bring a store's trace up to the log, as a process does at its start (another store: from nothing)."""
    catch_up(app, db, [CaseTrace()])


def decided(app, clock) -> Council:
    """A council that puts CASE on its agenda (t1) beside a topic naming no case (t2), votes on both and minutes
    a resolution for CASE whose text names the resident to tell."""
    council = Council(app, clock)
    council.agenda(case_id=CASE)
    council.agenda(title="社区活动室开放时间")
    voters = council.open_with(5)
    for topic in ("t1", "t2"):
        motion, _ = app.table_motion(council.id, {"text": f"同意{topic}方案", "topic_id": topic, "mode": "open"})
        for voter in voters:
            app.cast_vote(council.id, {"motion_id": motion["motion_id"], "participant_id": voter, "choice": "for"})
    app.close_meeting(council.id)
    app.record_minutes(council.id, {"resolutions": [
        {"text": "施划车位40个,完成后告知欧阳娜娜", "owner": "幸福里物业服务中心",
         "due": "2026-12-31", "topic_id": "t1"}]})
    return council


def test_a_cases_topic_vote_and_resolution_are_traced_in_order_and_other_topics_are_not(app, clock, db):
    council = decided(app, clock)
    project(app, db)

    steps = case_trace(db, CASE)["steps"]
    assert [s["kind"] for s in steps] == ["topic", "vote", "resolution"]
    topic, vote, resolution = steps
    assert topic["meeting_id"] == council.id and topic["topic_id"] == "t1" and topic["title"] == "3号院停车难"
    assert (vote["topic_id"], vote["for"], vote["against"], vote["carried"]) == ("t1", 5, 0, True)
    assert vote["meeting_at"] == topic["meeting_at"]
    assert resolution["owner"] == "幸福里物业服务中心" and resolution["due"] == "2026-12-31T15:59:59Z"
    assert "欧阳娜娜" not in resolution["text"] and resolution["text"].startswith("施划车位40个")  # masked
    assert case_trace(db, OTHER)["steps"] == []


def test_the_months_release_that_lists_the_case_is_traced(app, clock, db):
    decided(app, clock)
    clock.now = clock.now.replace(day=25) + timedelta(hours=1)
    app.release_results("2026-11", {"month": "2026-11", "resolved": [],
                                    "unresolved": [{"case_id": CASE, "title": "3号院停车难"}]}, by="secretary")
    project(app, db)

    release = case_trace(db, CASE)["steps"][-1]
    assert release == {"kind": "release", "month": "2026-11", "list": "unresolved",
                       "released_at": release["released_at"]}


def test_a_cancelled_meetings_topic_is_marked_cancelled(app, clock, db):
    council = Council(app, clock)
    council.agenda(case_id=CASE)
    app.cancel_meeting(council.id, {"reason": "台风预警"})
    project(app, db)

    [topic] = case_trace(db, CASE)["steps"]
    assert topic["cancelled"] is True


def test_a_rescheduled_meetings_topic_keeps_its_place_with_the_new_time(app, clock, db):
    council = Council(app, clock)
    council.agenda(case_id=CASE)
    later = clock() + timedelta(days=10)
    app.reschedule_meeting(council.id, {"meeting_at": rfc3339(later)})
    project(app, db)

    [topic] = case_trace(db, CASE)["steps"]
    assert topic["meeting_at"] == rfc3339(later) and topic["published_at"] == rfc3339(clock())


def test_rebuilt_from_the_log_the_trace_is_the_same(app, clock, db, tmp_path):
    decided(app, clock)
    project(app, db)
    again = Database("meetings", Settings(None, "", tmp_path / "rebuilt"))
    try:
        project(app, again)
        assert case_trace(again, CASE) == case_trace(db, CASE)
        project(app, db)  # the log read again changes nothing
        assert len(case_trace(db, CASE)["steps"]) == 3
    finally:
        again.close()


def test_the_public_record_shows_agenda_counts_and_minutes_but_no_person(app, clock):
    council = decided(app, clock)
    public = record.public_view(council.meeting())
    assert public["topics"][0]["topic_id"] == "t1" and public["topics"][0]["case_id"] == CASE
    assert public["motions"][0]["result"] == {"for": 5, "against": 0, "abstain": 0, "carried": True}
    assert "votes" not in public["motions"][0] and "participants" not in public and "statements" not in public
    assert "欧阳娜娜" not in str(public) and "代表0" not in str(public)
    assert public["minutes"]["resolutions"][0]["owner"] == "幸福里物业服务中心"
