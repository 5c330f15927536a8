"""代表督办 (社区议事会+代表督办): a representative takes up an overdue or contested case, receives its alerts,
sees its history and signs the supervision off with a note; the resident's timeline shows it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from services.liaison.projections import case_history, list_supervisions, supervision_doc
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, NotFound
from tests.unit.liaison.conftest import T0
from tests.unit.liaison.test_register_and_reception_days import published

CASE = "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a01"
ISSUE = "1a2b4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a01"


def open_case(casework) -> None:
    casework.send("CaseOpened", T0, case_id=CASE, issue_id=ISSUE, tier="routine", category="设施维护",
                  due={"resolve_by": rfc3339(T0 + timedelta(days=9))}, opened_at=rfc3339(T0))
    casework.send("CaseAssigned", T0, case_id=CASE, issue_id=ISSUE, party="幸福里物业", party_kind="property")


def test_a_representative_takes_up_an_overdue_case_and_receives_its_alerts(app, casework, representative,
                                                                         clock, project, db):
    open_case(casework)
    casework.send("DeadlineWarned", T0 + timedelta(days=8), case_id=CASE, issue_id=ISSUE, level="yellow",
                  deadline="resolve", due=rfc3339(T0 + timedelta(days=9)))  # before supervision: not theirs
    supervision, created = app.take_up(CASE, {"representative_id": representative, "reason": "逾期未办结,居民多次反映"})
    again, created_again = app.take_up(CASE, {"representative_id": representative, "reason": "逾期未办结,居民多次反映"})
    assert created and not created_again and again.id == supervision.id
    casework.send("DeadlineWarned", T0 + timedelta(days=10), case_id=CASE, issue_id=ISSUE, level="red",
                  deadline="resolve", due=rfc3339(T0 + timedelta(days=9)))
    casework.send("CaseEscalated", T0 + timedelta(days=10), case_id=CASE, issue_id=ISSUE, to="secretary",
                  reason="逾期")
    project()
    doc = supervision_doc(db, CASE)
    assert [a["kind"] for a in doc["alerts"]] == ["DeadlineWarned", "CaseEscalated"]
    assert doc["alerts"][0]["level"] == "red"
    history = case_history(db, CASE)["history"]
    assert [h["step"] for h in history] == ["CaseOpened", "CaseAssigned", "DeadlineWarned", "DeadlineWarned",
                                            "CaseEscalated"]


def test_an_alert_redelivered_reaches_the_representative_once(app, casework, representative, project, db):
    open_case(casework)
    app.take_up(CASE, {"representative_id": representative, "reason": "居民对方案有异议"})
    warned = casework.send("DeadlineWarned", T0 + timedelta(days=10), case_id=CASE, issue_id=ISSUE, level="red",
                           deadline="resolve", due=rfc3339(T0 + timedelta(days=9)))
    with pytest.raises(IntegrityError):  # the consumer's redelivery: already tracked, nothing recorded
        app.process(warned)
    project()
    assert len(supervision_doc(db, CASE)["alerts"]) == 1


def test_only_cases_casework_opened_are_supervised_and_by_one_representative(app, casework, station,
                                                                           representative):
    with pytest.raises(NotFound) as unknown:
        app.take_up(CASE, {"representative_id": representative, "reason": "x"})
    assert unknown.value.field == "case_id"
    open_case(casework)
    app.take_up(CASE, {"representative_id": representative, "reason": "逾期"})
    other, _ = app.register_representative({"name": "李华", "station_id": station, "expertise": []})
    with pytest.raises(Conflict):
        app.take_up(CASE, {"representative_id": str(other.id), "reason": "逾期"})
    with pytest.raises(Conflict) as not_theirs:
        app.sign_off(CASE, {"representative_id": str(other.id), "note": "已解决"})
    assert not_theirs.value.field == "representative_id"


def test_signing_off_records_the_note_and_stops_the_alerts(app, casework, representative, project, db):
    open_case(casework)
    app.take_up(CASE, {"representative_id": representative, "reason": "逾期"})
    app.sign_off(CASE, {"representative_id": representative, "note": "物业已更换灯具,居民确认", "solved": True})
    casework.send("CaseReopened", T0 + timedelta(days=12), case_id=CASE, issue_id=ISSUE, reason="满意度低")
    project()
    [doc] = list_supervisions(db, representative, "signed_off")
    assert doc["note"] == "物业已更换灯具,居民确认" and doc["solved"] and doc["alerts"] == []
    events = {p.name: p.data for p in published(app)}
    assert events["CaseSupervisionTaken"]["issue_id"] == ISSUE
    assert events["CaseSupervisionSignedOff"] | {"signed_off_at": None} == {
        "case_id": CASE, "issue_id": ISSUE, "representative_id": representative, "note": "物业已更换灯具,居民确认",
        "solved": True, "signed_off_at": None}
    with pytest.raises(Conflict):
        app.sign_off(CASE, {"representative_id": representative, "note": "再次"})
