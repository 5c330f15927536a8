"""A merged case has several residents: the original reporter's answer closes or reopens it; the residents of
the reports merged into it (co-reporters) are heard in its satisfaction only. A report merged at report time
opens its case already merged: no assignment, no escalation, nothing announced of its own."""
from datetime import datetime, timezone

import pytest

from services.casework.domain import case_id_for
from services.casework.published import publisher
from tests.unit.casework.helpers import PROPERTY, Clock, confirm, issue, memory_app, reported

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path):
    app = memory_app(tmp_path, Clock(T0))
    yield app
    app.close()


def merged_case(app) -> tuple[str, str, str]:
    """(case id, original issue id, co-reporter's issue id) of a resolved case with one duplicate merged at report."""
    first, dup = issue("小区路灯故障"), issue("小区路灯坏了")
    app.process(reported(1, first))
    app.process(reported(2, dup | {"duplicate_of": first["issue_id"]}))
    cid = str(case_id_for(first["issue_id"]))
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已修复"})
    assert app.get_case(cid).co_reporters == [dup["issue_id"]]
    return cid, first["issue_id"], dup["issue_id"]


def published(app) -> list:
    publish = publisher(app)
    return [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]


def test_a_co_reporters_answer_does_not_close_the_case_and_the_original_reporter_still_can(app):
    cid, original, co = merged_case(app)
    assert confirm(app, cid, True, 5, issue_id=co).status == "resolved"
    assert confirm(app, cid, True, 5, issue_id=original).status == "closed"


def test_the_original_reporter_may_reject_after_a_co_reporter_was_satisfied(app):
    cid, original, co = merged_case(app)
    confirm(app, cid, True, 5, issue_id=co)
    case = confirm(app, cid, False, issue_id=original)
    assert case.status == "reopened" and app.history(cid)[-1].reason == "居民确认问题尚未解决"


def test_a_co_reporters_low_rating_after_closing_reopens_the_case_as_a_survey_would(app):
    cid, original, co = merged_case(app)
    confirm(app, cid, True, 5, issue_id=original)
    case = confirm(app, cid, True, 2, issue_id=co)  # 1 of 2 satisfied: 50 %
    assert case.status == "reopened" and "50%" in app.history(cid)[-1].reason


def test_a_co_reporters_not_solved_counts_as_unsatisfied(app):
    cid, original, co = merged_case(app)
    confirm(app, cid, True, 5, issue_id=original)
    case = confirm(app, cid, False, issue_id=co)  # no rating given: 1 of 2 satisfied
    assert case.status == "reopened" and "满意度50%" in app.history(cid)[-1].reason


def test_resident_confirmed_says_whose_issue_answered(app):
    cid, original, co = merged_case(app)
    confirm(app, cid, True, 5, issue_id=co)
    confirm(app, cid, True, 4, issue_id=original)
    answers = [p.data for p in published(app) if p.name == "ResidentConfirmed"]
    assert [(a["issue_id"], a["answered_issue_id"]) for a in answers] == [(original, co), (original, original)]


def test_a_report_merged_at_report_time_opens_its_case_already_merged_and_announces_nothing_of_its_own(app):
    first, dup = issue("3号楼楼道灯坏了"), issue("3号楼楼道灯不亮")
    app.process(reported(1, first))
    app.process(reported(2, dup | {"duplicate_of": first["issue_id"]}))
    case = app.get_case(str(case_id_for(dup["issue_id"])))
    assert case.tier == "urgent" and case.status == "merged" and case.party is None
    assert app.get_case(str(case_id_for(first["issue_id"]))).co_reporters == [dup["issue_id"]]
    about_dup = [(p.name, p.data) for p in published(app) if p.data.get("issue_id") == dup["issue_id"]]
    assert [name for name, _ in about_dup] == ["CaseOpened", "CaseMerged"]  # no CaseAssigned of its own
    assert about_dup[0][1]["duplicate_of"] == first["issue_id"]
