"""The tracking code proves the resident and never leaves intake: they answer their resolved case here,
and casework hears only whose issue answered (ResidentAnswered)."""
import json
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from services.intake.application import IntakeApplication
from services.intake.projections import case_so_far
from services.intake.published import publish
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import Conflict, InvalidInput
from shared.messaging.relay import message_for

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
CASE = "8a4f7c62-1d2b-4c1e-9a4f-0000000000c1"
REPORT = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": "晚上很黑,找王五 13912345678",
          "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "王五", "phone": "13912345678"}}


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path),
                            clock=lambda: NOW + timedelta(days=1))
    yield app
    app.close()


_SEQ = count(1)


def casework(app, name: str, issue_id: str, **data) -> None:
    body = to_cloudevent("casework", name, sequence=next(_SEQ), prevsequence=None, subject=CASE, time=NOW,
                         data={"case_id": CASE, "issue_id": issue_id, **data})
    app.process(from_cloudevent(body))


def resolved(app, issue_id: str) -> None:
    casework(app, "CaseOpened", issue_id, tier="routine", category="设施维护", due={}, opened_at="2026-11-23T02:00:00Z")
    casework(app, "CaseResolved", issue_id, resolved_at="2026-11-23T08:00:00Z", summary="已更换灯具")


def published(app) -> list:
    return [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]


def test_the_resident_answers_a_resolved_case_and_casework_hears_only_the_answer(app):
    issue, _ = app.report_issue(REPORT)
    resolved(app, str(issue.id))
    app.answer_issue(str(issue.id), {"confirmed": True, "satisfaction": 5, "comment": "谢谢,王五 13912345678"})
    answer = published(app)[-1]
    assert answer.name == "ResidentAnswered"
    assert answer.data == {"issue_id": str(issue.id), "confirmed": True, "satisfaction": 5,
                           "comment": "谢谢,王* 139****5678", "answered_at": "2026-11-24T02:00:00Z"}


def test_no_published_intake_event_carries_the_tracking_code_even_when_the_log_is_replayed(app):
    issue, _ = app.report_issue(REPORT)
    resolved(app, str(issue.id))
    app.answer_issue(str(issue.id), {"confirmed": False})
    # what the relay and `yishi replay` send: every public event of the whole log, as bodies on the wire
    bodies = [message_for("intake", p, seq, None)[0].decode() for seq, p in enumerate(published(app), 1)]
    assert {json.loads(b)["type"] for b in bodies} >= {"cn.yishi.intake.IssueReported.v2",
                                                      "cn.yishi.intake.ResidentAnswered.v1"}
    assert not [b for b in bodies if issue.tracking_code in b or "tracking_code" in b]


def test_an_answer_before_resolution_or_twice_for_one_resolution_is_refused(app):
    issue, _ = app.report_issue(REPORT)
    with pytest.raises(Conflict) as early:
        app.answer_issue(str(issue.id), {"confirmed": True, "satisfaction": 5})
    assert early.value.field == "tracking_code"
    resolved(app, str(issue.id))
    app.answer_issue(str(issue.id), {"confirmed": False})
    with pytest.raises(Conflict):
        app.answer_issue(str(issue.id), {"confirmed": True, "satisfaction": 5})
    casework(app, "CaseReopened", str(issue.id), reason="居民未确认", due="2026-12-03T08:00:00Z")
    casework(app, "CaseResolved", str(issue.id), resolved_at="2026-11-24T01:00:00Z", summary="重新更换")
    app.answer_issue(str(issue.id), {"confirmed": True, "satisfaction": 4})  # a new resolution, a new answer
    assert [p.name for p in published(app)].count("ResidentAnswered") == 2


@pytest.mark.parametrize("body, field", [
    ({"confirmed": "yes"}, "confirmed"),
    ({"confirmed": True}, "satisfaction"),
    ({"confirmed": True, "satisfaction": 6}, "satisfaction"),
    ({"confirmed": False, "tracking_code": "YS-20261123-ABCDEFGH"}, "tracking_code"),
])
def test_a_malformed_answer_is_refused_naming_the_field(app, body, field):
    issue, _ = app.report_issue(REPORT)
    resolved(app, str(issue.id))
    with pytest.raises(InvalidInput) as err:
        app.answer_issue(str(issue.id), body)
    assert err.value.field == field


def test_a_deadline_retimed_by_a_holiday_notice_shows_on_the_residents_timeline_with_its_new_due(app):
    issue, _ = app.report_issue(REPORT)
    casework(app, "CaseOpened", str(issue.id), tier="routine", category="设施维护",
             due={"resolve_by": "2027-02-10T15:59:59Z"}, opened_at="2026-11-23T02:00:00Z")
    casework(app, "CaseRetimed", str(issue.id), deadline="resolve", old_due="2027-02-10T15:59:59Z",
             due="2027-02-18T15:59:59Z", reason="2027年节假日安排", calendar_years=[2027])
    shown = case_so_far(app.read_models, str(issue.id))
    assert shown.case["due"] == {"resolve_by": "2027-02-18T15:59:59Z"}
    assert shown.timeline[-1]["step_zh"] == "按节假日安排调整办理时限"
