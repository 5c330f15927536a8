"""红黄绿灯 for every responsible unit (实行"红黄绿灯"预警机制,对工作滞后的单位进行督办): monthly, from the
on-time rate, overdue cases, satisfaction and joint-meeting attendance (联席会议出席率), thresholds as data; a red
unit gets a 督办 notice recorded; scorecards and the ranking are public, figures only, and download as CSV."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from services.liaison import lights
from services.liaison.projections import month_lights, unit_lights
from shared.contracts import from_cloudevent, to_cloudevent
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict
from tests.unit.liaison.conftest import SH
from tests.unit.liaison.test_register_and_reception_days import published

NOV = datetime(2026, 11, 2, 9, tzinfo=SH)
DEC = datetime(2026, 12, 1, 9, tzinfo=SH)


def case(casework, n: int, party: str, due: datetime, resolved: datetime | None, satisfaction: int | None = None,
         red: bool = False) -> None:
    cid, iid = f"0f8e4c1a-2b3d-4e5f-8a9b-{n:012d}", f"1a2b4c1a-2b3d-4e5f-8a9b-{n:012d}"
    casework.send("CaseOpened", NOV, case_id=cid, issue_id=iid, tier="routine", category="设施维护",
                  due={"resolve_by": rfc3339(due)}, opened_at=rfc3339(NOV))
    casework.send("CaseAssigned", NOV, case_id=cid, issue_id=iid, party=party, party_kind="property")
    if red:
        casework.send("DeadlineWarned", due, case_id=cid, issue_id=iid, level="red", deadline="resolve",
                      due=rfc3339(due))
    if resolved:
        casework.send("CaseResolved", resolved, case_id=cid, issue_id=iid, resolved_at=rfc3339(resolved))
    if satisfaction:
        casework.send("ResidentConfirmed", resolved, case_id=cid, issue_id=iid, confirmed=True,
                      satisfaction=satisfaction)


@pytest.fixture
def units(app):
    good, _ = app.register_unit({"party": "幸福里物业", "kind": "property",
                                 "responsible": {"name": "张经理", "phone": "13911112222"}})
    late, _ = app.register_unit({"party": "城管中队", "kind": "department", "responsible": {"name": "刘队长"}})
    return str(good.id), str(late.id)


def test_a_unit_on_time_and_present_is_green_and_one_late_and_absent_is_red_and_supervised(
        app, casework, units, clock, project, db):
    good, late = units
    for n in range(4):
        case(casework, n, "幸福里物业", NOV + timedelta(days=7), NOV + timedelta(days=3), satisfaction=5)
    for n in range(4, 8):
        case(casework, n, "城管中队", NOV + timedelta(days=7), NOV + timedelta(days=12) if n < 6 else None,
             satisfaction=2 if n < 6 else None, red=True)
    app.record_attendance(good, {"meeting_id": "joint-2026-11", "meeting_at": rfc3339(NOV + timedelta(days=10)),
                                 "present": True})
    app.record_attendance(late, {"meeting_id": "joint-2026-11", "meeting_at": rfc3339(NOV + timedelta(days=10)),
                                 "present": False})
    project()
    clock.now = NOV  # November is not over
    with pytest.raises(Conflict) as early:
        app.assess_month("2026-11")
    assert early.value.field == "month"

    clock.now = DEC
    lit = {u["party"]: u for u in app.assess_month("2026-11")}
    assert lit["幸福里物业"]["light"] == "green"
    assert lit["城管中队"]["light"] == "red"
    assert lit["城管中队"]["figures"] == {
        "cases_due": 4, "on_time": 0, "overdue": 4, "on_time_rate": 0.0, "satisfaction_rate": 0.0, "answers": 2,
        "joint_meetings": 1, "attended": 0, "attendance_rate": 0.0}
    project()
    [supervised] = [p for p in published(app) if p.name == "UnitSupervised"]
    assert supervised.data["unit_id"] == late and "城管中队" in supervised.data["notice"]
    assert "刘队长" not in json.dumps([p.data for p in published(app)], ensure_ascii=False)
    assert unit_lights(db, late)[0]["supervised"] is True


def test_a_month_is_lit_once(app, casework, units, clock, project, db):
    case(casework, 1, "幸福里物业", NOV + timedelta(days=7), NOV + timedelta(days=3))
    project()
    clock.now = DEC
    app.assess_month("2026-11")
    case(casework, 2, "幸福里物业", NOV + timedelta(days=7), None, red=True)  # a late fact after publication
    project()
    app.assess_month("2026-11")
    project()
    assert [d["light"] for d in month_lights(db, "2026-11")] == ["green", "green"]
    assert sum(p.name == "UnitLightAssessed" for p in published(app)) == 2


def test_one_overdue_case_is_yellow_under_the_thresholds_as_data(app, casework, units, clock, project):
    for n in range(9):
        case(casework, n, "幸福里物业", NOV + timedelta(days=7), NOV + timedelta(days=3), satisfaction=5)
    case(casework, 9, "幸福里物业", NOV + timedelta(days=7), NOV + timedelta(days=9), satisfaction=5)
    project()
    clock.now = DEC
    [good] = [u for u in app.assess_month("2026-11") if u["party"] == "幸福里物业"]
    assert good["figures"]["on_time_rate"] == 0.9 and good["light"] == "yellow"


def test_the_ranking_puts_green_first_and_downloads_as_csv_without_personal_data(app, casework, units, clock,
                                                                              project, db):
    case(casework, 1, "幸福里物业", NOV + timedelta(days=7), NOV + timedelta(days=3), satisfaction=5)
    case(casework, 2, "城管中队", NOV + timedelta(days=7), None, red=True)
    project()
    clock.now = DEC
    app.assess_month("2026-11")
    project()
    rows = lights.ranking(month_lights(db, "2026-11"))
    assert [(r["rank"], r["party"], r["light"]) for r in rows] == [(1, "幸福里物业", "green"), (2, "城管中队", "red")]
    table = list(csv.reader(io.StringIO(lights.ranking_csv(rows))))
    assert table[0][:3] == ["排名", "单位", "亮灯"] and table[2][:3] == ["2", "城管中队", "红灯"]
    assert "张经理" not in lights.ranking_csv(rows) and "13911112222" not in lights.ranking_csv(rows)


def test_a_unit_is_registered_once_by_the_name_assignments_use(app, units):
    again, created = app.register_unit({"party": "幸福里物业", "kind": "property", "responsible": {"name": "另一人"}})
    assert not created and str(again.id) == units[0]


def test_a_joint_meetings_attendance_from_meetings_counts_in_the_units_light(app, units, clock, project, db):
    good, late = units
    for n, (at, property_came) in enumerate([(NOV + timedelta(days=3), True), (NOV + timedelta(days=17), False)]):
        app.process(from_cloudevent(to_cloudevent(
            "meetings", "MeetingOpened", sequence=n + 1, prevsequence=n or None, subject=f"m{n}", time=at,
            data={"meeting_id": f"2c9d8e7f-0000-4000-8000-00000000000{n}", "kind": "joint", "opened_at": rfc3339(at),
                  "attendance": [{"organisation": "幸福里物业", "present": property_came},
                                 {"organisation": "城管中队", "present": True},
                                 {"organisation": "未登记单位", "present": False}]})))
    app.process(from_cloudevent(to_cloudevent(  # a regular council meeting is not a joint meeting
        "meetings", "MeetingOpened", sequence=3, prevsequence=2, subject="m3", time=NOV,
        data={"meeting_id": "2c9d8e7f-0000-4000-8000-000000000003", "kind": "regular", "opened_at": rfc3339(NOV),
              "attendance": [{"organisation": "幸福里物业", "present": False}]})))
    project()
    clock.now = DEC
    lit = {u["party"]: u for u in app.assess_month("2026-11")}
    assert lit["幸福里物业"]["figures"]["attendance_rate"] == 0.5 and lit["幸福里物业"]["light"] == "yellow"
    assert lit["城管中队"]["figures"]["attendance_rate"] == 1.0 and lit["城管中队"]["light"] == "green"
