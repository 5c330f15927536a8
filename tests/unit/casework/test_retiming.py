"""A year's holiday notice entered by staff re-times the open cases it moves, visibly, once."""
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from services.casework.calendar import WorkingCalendar
from services.casework.clocks import deadline
from services.casework.domain import Case, Forbidden, case_id_for
from services.casework.projections import case_view
from services.casework.published import publisher
from shared.contracts import to_cloudevent
from tests.unit.casework.helpers import PROPERTY, STAFF, Clock, issue, memory_app, reported
from tests.unit.casework.test_calendar import NOTICE_2027

REPORTED = datetime(2027, 2, 4, 2, 0, tzinfo=timezone.utc)  # Thursday 10:00 in Shanghai, before the Spring Festival
GUESSED_DUE = datetime(2027, 2, 19, 16, 0, tzinfo=timezone.utc)  # fallback: holidays package, no make-up days
ENTERED_DUE = datetime(2027, 2, 20, 16, 0, tzinfo=timezone.utc)  # the entered make-up Saturday 02-20 is day 7


@pytest.fixture
def clock():
    return Clock(REPORTED)


@pytest.fixture
def app(tmp_path, clock):
    app = memory_app(tmp_path, clock)
    yield app
    app.close()


def open_routine(app, sequence=1) -> str:
    data = issue("小区路灯故障", reported_at=REPORTED.isoformat())
    app.process(reported(sequence, data))
    return str(case_id_for(data["issue_id"]))


def enter_2027(app, **extra) -> dict:
    return app.set_calendar_year("2027", {"actor": STAFF, **NOTICE_2027, "document": "测试用通知"} | extra)


def published(app) -> list[tuple[str, dict]]:
    publish = publisher(app)
    out = []
    for n in app.notifications_after(0):
        if (p := publish(app.domain_event(n))) is not None:
            to_cloudevent("casework", p.name, sequence=n.id, prevsequence=None, subject=p.subject, time=p.time,
                          data=p.data)  # validates against the catalogue
            out.append((p.name, p.data))
    return out


def test_a_7_working_day_deadline_is_retimed_over_an_entered_makeup_saturday_with_an_event_on_its_timeline(app):
    cid = open_routine(app)
    assert app.get_case(cid).deadlines["resolve"]["due"] == GUESSED_DUE

    assert enter_2027(app)["recorded"] is True
    assert app.retime([cid]) == [(cid, "resolve")]

    case = app.get_case(cid)
    assert case.deadlines["resolve"]["due"] == ENTERED_DUE
    assert case.deadlines["resolve"]["warn_at"] == ENTERED_DUE - timedelta(days=1)
    assert case_view(case)["deadlines"]["resolve"]["counted"] == {"from": "2027-02-04T02:00:00Z", "workdays": 7}
    retimed = app.history(cid)[-1]
    assert type(retimed).__name__ == "Retimed"
    assert (retimed.old_due, retimed.due, retimed.calendar_years) == (GUESSED_DUE, ENTERED_DUE, [2027])
    assert "2027年节假日安排" in retimed.reason
    name, data = published(app)[-1]
    assert name == "CaseRetimed" and data["old_due"] == "2027-02-19T16:00:00Z" and data["due"] == "2027-02-20T16:00:00Z"
    assert data["issue_id"] == case.issue_id

    assert app.retime([cid]) == []  # counted on this calendar already: nothing twice
    assert enter_2027(app)["recorded"] is False  # the same notice again records nothing


def test_a_case_opened_after_the_entry_counts_on_it_and_needs_no_retiming(app):
    enter_2027(app)
    cid = open_routine(app)
    assert app.get_case(cid).deadlines["resolve"]["due"] == ENTERED_DUE
    assert app.retime([cid]) == []


def test_an_alert_raised_on_the_guessed_due_is_withdrawn_when_the_due_moves_later(app, clock):
    cid = open_routine(app)
    clock.now = GUESSED_DUE - timedelta(hours=12)  # past the yellow line of the guess
    assert app.watch([cid]) == [(cid, "resolve", "yellow")]
    enter_2027(app)
    app.retime([cid])
    assert app.get_case(cid).deadlines["resolve"]["alert"] is None  # the new yellow line is still ahead
    clock.now = ENTERED_DUE - timedelta(hours=12)
    assert app.watch([cid]) == [(cid, "resolve", "yellow")]


def test_met_deadlines_and_settled_cases_keep_the_due_they_were_judged_by(app):
    cid = open_routine(app)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换"})
    enter_2027(app)
    assert app.retime([cid]) == []
    assert app.get_case(cid).deadlines["resolve"]["due"] == GUESSED_DUE


def test_a_case_recorded_before_deadlines_kept_their_count_is_retimed_too(app):
    legacy = Case(id=uuid4(), issue_id=str(uuid4()), category="设施维护", title="小区路灯故障", community="幸福里",
                  building="3", tier="routine", triage_reason="", rule_ids=[],
                  deadlines={"resolve": deadline(GUESSED_DUE, timedelta(days=1), REPORTED)},  # no `workdays`
                  reported_at=REPORTED, opened_at=REPORTED)
    app.save(legacy)
    enter_2027(app)
    assert app.retime([str(legacy.id)]) == [(str(legacy.id), "resolve")]
    assert app.get_case(str(legacy.id)).deadlines["resolve"]["due"] == ENTERED_DUE


def test_only_the_community_worker_or_secretary_enters_a_notice(app):
    with pytest.raises(Forbidden):
        enter_2027(app, actor=PROPERTY)
    assert app.calendar.source(2027) == "fallback"


def test_the_calendar_view_says_where_each_year_comes_from(app):
    enter_2027(app)
    view = {y["year"]: y for y in app.calendar_view()["years"]}
    assert {y: v["source"] for y, v in view.items()} == {2026: "package", 2027: "entered", 2028: "fallback"}
    assert view[2027]["workdays"] == ["2027-02-20"] and view[2027]["entered_by"] == STAFF
    assert isinstance(app.calendar, WorkingCalendar) and app.calendar_version() == 2
