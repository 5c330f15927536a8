"""Every casework event the world sees fits its contract, names its issue, and carries no clear phone number."""
import json
from datetime import datetime, timedelta, timezone

from services.casework.domain import case_id_for
from services.casework.published import publisher
from shared.contracts import to_cloudevent
from tests.unit.casework.helpers import PROPERTY, STAFF, Clock, confirm, issue, memory_app, reported


def test_a_full_lifecycle_publishes_valid_contracts(tmp_path):
    clock = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    app = memory_app(tmp_path, clock)
    data = issue("小区路灯故障")
    app.process(reported(1, data))
    cid = str(case_id_for(data["issue_id"]))
    app.command(cid, "plan", {"actor": PROPERTY, "plan": "明天更换,联系电话 13812345678"})
    app.command(cid, "escalation", {"actor": STAFF, "to": "council", "reason": "需议事会协商"})
    app.watch([cid], clock.now + timedelta(days=30))
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换"})
    confirm(app, cid, False)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已再次更换"})
    confirm(app, cid, True, 5)

    publish = publisher(app)
    names = []
    for n in app.notifications_after(0):
        published = publish(app.domain_event(n))
        if published is None:
            continue
        body = to_cloudevent("casework", published.name, sequence=n.id, prevsequence=None, subject=published.subject,
                             time=published.time, data=published.data)  # validates against the catalogue
        assert body["data"]["issue_id"] == data["issue_id"]
        assert "13812345678" not in json.dumps(body, ensure_ascii=False)
        names.append(published.name)
    assert names == ["CaseOpened", "PlanProposed", "CaseEscalated", "DeadlineWarned",
                     "CaseEscalated", "CaseAcknowledgeMissed",  # the property never acknowledged (签收) it
                     "CaseResolved", "ResidentConfirmed", "CaseReopened", "CaseResolved",
                     "ResidentConfirmed", "CaseClosed"]
    app.close()


def test_a_survey_result_is_published_for_the_board(tmp_path):
    clock = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    app = memory_app(tmp_path, clock)
    data = issue("小区路灯故障")
    app.process(reported(1, data))
    cid = str(case_id_for(data["issue_id"]))
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换"})
    app.record_survey({"actor": STAFF, "period": "2026年第四季度", "items": [{"case_id": cid, "satisfied": 6, "total": 9}]})
    publish = publisher(app)
    published = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    [surveyed] = [p for p in published if p.name == "CaseSurveyed"]
    body = to_cloudevent("casework", surveyed.name, sequence=9, prevsequence=None, subject=surveyed.subject,
                         time=surveyed.time, data=surveyed.data)  # validates against the catalogue
    assert {k: body["data"][k] for k in ("issue_id", "period", "satisfied", "total")} == {
        "issue_id": data["issue_id"], "period": "2026年第四季度", "satisfied": 6, "total": 9}
    app.close()


def test_a_residents_name_staff_typed_into_a_plan_or_summary_is_masked_in_the_events(tmp_path):
    clock = Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    app = memory_app(tmp_path, clock)
    data = issue("小区路灯故障")
    app.process(reported(1, data))
    cid = str(case_id_for(data["issue_id"]))
    app.command(cid, "plan", {"actor": PROPERTY, "plan": "明天更换,完成后告知欧阳娜娜"})
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换,联系王建国先生确认"})
    publish = publisher(app)
    texts = json.dumps([p.data for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p],
                       ensure_ascii=False)
    assert "欧阳娜娜" not in texts and "王建国" not in texts and "告知欧***" in texts
    app.close()


def test_the_relay_publishes_a_cases_later_events_without_reading_it_again(tmp_path, monkeypatch):
    """The issue's facts come from the `Opened` event it just published (issue 12: one read less per case)."""
    app = memory_app(tmp_path, Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)))
    data = issue("楼道灯不亮")
    app.process(reported(1, data))
    app.command(str(case_id_for(data["issue_id"])), "assignment",
                {"actor": STAFF, "party": "物业服务企业", "party_kind": "property"})
    publish = publisher(app)
    events = [app.domain_event(n) for n in app.notifications_after(0)]
    reads = []
    get = app.repository.get
    monkeypatch.setattr(app.repository, "get", lambda *a, **k: reads.append(a) or get(*a, **k))
    names = [p.name for p in map(publish, events) if p is not None]
    assert names == ["CaseOpened", "CaseAssigned"] and reads == []
    assert publisher(app)(events[1]).data["issue_id"] == data["issue_id"]  # a relay that restarted reads it once
    assert len(reads) == 1
    app.close()


def test_a_case_is_published_opened_and_dispatched_in_one_event(tmp_path):
    """Issue 12: the first dispatch (派单) rides on CaseOpened — one event, one message and three deliveries
    (intake, liaison, notifications) fewer per report; a CaseAssigned is a reassignment."""
    app = memory_app(tmp_path, Clock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)))
    data = issue("楼道灯不亮")
    app.process(reported(1, data))
    published = [p for p in map(publisher(app), map(app.domain_event, app.notifications_after(0))) if p]
    assert [p.name for p in published] == ["CaseOpened"]
    opened = published[0].data
    assert opened["party"] and opened["party_kind"] and opened["assigned_at"] == opened["opened_at"]
    assert opened["acknowledge_by"] > opened["assigned_at"]
    case = app.get_case(str(case_id_for(data["issue_id"])))
    assert (case.party, case.party_kind, len(case.dispatches)) == (opened["party"], opened["party_kind"], 1)
    app.close()
