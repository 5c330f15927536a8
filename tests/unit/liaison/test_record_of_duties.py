"""代表履职档案 and the "五个一" (每月至少1次走访、每季度至少1次政策宣讲、每半年至少1次专题调研、每年至少解决1个
民生难题、形成1份履职报告) as checks, with the plan's warnings: 连续两周无活动 blue, 问题解决率低于80% yellow, a
duty's period ended without it red. The yearly report prints."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.liaison import records
from services.liaison.projections import list_representatives
from shared.contracts.envelope import rfc3339
from shared.edge.documents import markdown, to_html
from shared.errors import InvalidInput
from tests.unit.liaison.conftest import SH, T0, Intake
from tests.unit.liaison.test_supervision import CASE, ISSUE, open_case


def rec(db, representative, year, now):
    [doc] = [r for r in list_representatives(db, None) if r["representative_id"] == representative]
    return records.record(db, doc, year, now)


def test_a_reception_day_held_is_the_months_visit_with_its_residents_met(app, representative, station, clock,
                                                                       project, db):
    reception, _ = app.schedule_reception({"station_id": station, "representative_ids": [representative],
                                           "starts_at": rfc3339(clock() + timedelta(days=4))})
    clock.advance(days=4)
    app.raise_concern(str(reception.id), {"title": "路灯不亮", "description": "东门路灯坏了",
                                          "reporter": {"phone": "13800000000"}}, Intake())
    app.hold(str(reception.id), {"visitors": 9})
    project()
    record = rec(db, representative, 2026, clock())
    assert (record["figures"]["receptions"], record["figures"]["residents_met"], record["figures"]["concerns"]) \
        == (1, 9, 1)
    november = [c for c in record["duties"] if c["duty"] == "visit" and c["period"] == "2026-11"]
    assert november[0]["status"] == "done"


def test_a_month_ended_without_a_visit_is_a_red_warning(app, representative, clock, project, db):
    app.record_duty(representative, {"duty": "visit", "done_at": rfc3339(datetime(2026, 11, 3, 10, tzinfo=SH))})
    app.record_duty(representative, {"duty": "briefing", "done_at": rfc3339(datetime(2026, 10, 20, 10, tzinfo=SH))})
    project()
    now = datetime(2026, 12, 2, 9, tzinfo=SH)
    record = rec(db, representative, 2026, now)
    visits = {c["period"]: c["status"] for c in record["duties"] if c["duty"] == "visit"}
    assert visits["2026-10"] == "missed" and visits["2026-11"] == "done" and visits["2026-12"] == "due"
    briefings = {c["period"]: c["status"] for c in record["duties"] if c["duty"] == "briefing"}
    assert briefings == {"2026-Q1": "missed", "2026-Q2": "missed", "2026-Q3": "missed", "2026-Q4": "done"}
    red = [w for w in record["warnings"] if w["level"] == "red"]
    assert any(w["rule"] == "visit" and w["period"] == "2026-10" for w in red)
    assert not any(w["period"] == "2026-12" for w in red)  # December is still on


def test_two_weeks_without_activity_is_a_blue_warning(app, representative, project, db):
    app.record_duty(representative, {"duty": "visit", "done_at": rfc3339(datetime(2026, 11, 3, 10, tzinfo=SH))})
    project()
    quiet = rec(db, representative, 2026, datetime(2026, 11, 18, 10, tzinfo=SH))
    active = rec(db, representative, 2026, datetime(2026, 11, 16, 10, tzinfo=SH))
    assert [w["level"] for w in quiet["warnings"] if w["rule"] == "quiet"] == ["blue"]
    assert not [w for w in active["warnings"] if w["rule"] == "quiet"]


def test_a_resolution_rate_under_80_percent_is_a_yellow_warning_and_a_solved_case_the_years_hard_problem(
        app, casework, representative, project, db, clock):
    open_case(casework)
    app.take_up(CASE, {"representative_id": representative, "reason": "逾期"})
    app.sign_off(CASE, {"representative_id": representative, "note": "未能解决,转街道协调", "solved": False})
    project()
    record = rec(db, representative, 2026, clock())
    assert record["figures"]["resolution_rate"] == 0.0
    assert [w["level"] for w in record["warnings"] if w["rule"] == "resolution_rate"] == ["yellow"]
    assert {c["status"] for c in record["duties"] if c["duty"] == "hard_problem"} == {"due"}

    other = CASE.replace("4a01", "4a02")
    casework.send("CaseOpened", T0, case_id=other, issue_id=ISSUE.replace("4a01", "4a02"), tier="complex",
                  category="停车交通", due={}, opened_at=rfc3339(T0))
    app.take_up(other, {"representative_id": representative, "reason": "停车难"})
    casework.send("ResidentConfirmed", T0 + timedelta(days=20), case_id=other, issue_id=ISSUE.replace("4a01", "4a02"),
                  confirmed=True, satisfaction=5)
    app.sign_off(other, {"representative_id": representative, "note": "新增车位40个", "solved": True})
    project()
    record = rec(db, representative, 2026, clock())
    assert record["figures"]["cases_solved"] == 1 and record["figures"]["satisfaction_rate"] == 1.0
    assert {c["status"] for c in record["duties"] if c["duty"] == "hard_problem"} == {"done"}


def test_the_yearly_report_prints_in_chinese_first(app, representative, project, db, clock):
    app.record_duty(representative, {"duty": "report", "done_at": rfc3339(clock())})
    project()
    record = rec(db, representative, 2026, clock())
    page = to_html(records.yearly_report(record, "zh"), "zh")
    assert "王建国代表2026年度履职报告" in page and "“五个一”完成情况" in page and 'lang="zh-CN"' in page
    assert "13812345678" not in page
    assert "record of duties 2026" in markdown(records.yearly_report(record, "en"))


def test_hard_problems_are_counted_from_cases_not_entered_by_hand(app, representative):
    with pytest.raises(InvalidInput) as refused:
        app.record_duty(representative, {"duty": "hard_problem", "done_at": rfc3339(T0)})
    assert refused.value.field == "duty"
