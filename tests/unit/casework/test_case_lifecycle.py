"""A case from triage to confirmation, on an in-memory store with a set clock: every tier and its clocks."""
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from services.casework.domain import Case, Forbidden, case_id_for
from shared.errors import Conflict, InvalidInput
from tests.unit.casework.helpers import PROPERTY, STAFF, Clock, confirm, issue, memory_app, minuted, reported

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def app(tmp_path, clock):
    app = memory_app(tmp_path, clock)
    yield app
    app.close()


def open_case(app, title, category="设施维护", sequence=1, **extra) -> Case:
    data = issue(title, category, **extra)
    app.process(reported(sequence, data))
    return app.get_case(str(case_id_for(data["issue_id"])))


def events_of(app, case) -> list[str]:
    return [type(e).__name__ for e in app.history(str(case.id))]


def test_a_redelivered_report_opens_no_second_case(app):
    data = issue("路灯不亮")
    app.process(reported(1, data))
    with pytest.raises(IntegrityError):
        app.process(reported(1, data))  # the same sequence again: tracking refuses it
    assert app.process(reported(2, data)) == 0  # the same issue under a new sequence: nothing new
    assert len(app.notifications_after(0)) == 1  # Opened, its first dispatch in the same event


def test_urgent_case_verify_in_24h_plan_in_48h_from_the_report(app):
    case = open_case(app, "3号楼楼道灯坏了")
    assert case.tier == "urgent"
    assert case.deadlines["verify"]["due"] == T0 + timedelta(hours=24)
    assert case.deadlines["plan"]["due"] == T0 + timedelta(hours=48)
    assert "resolve" not in case.deadlines


def test_routine_case_due_in_7_working_days_and_assigned_by_category(app):
    case = open_case(app, "小区路灯故障")
    assert case.tier == "routine" and case.party == "物业服务企业" and case.party_kind == "property"
    assert case.deadlines["resolve"]["due"] == datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)


def test_routine_case_reported_before_national_day(app):
    case = open_case(app, "垃圾清运不及时", "环境卫生", reported_at="2026-09-30T08:00:00Z")
    assert case.party_kind == "sanitation"
    assert case.deadlines["resolve"]["due"] == datetime(2026, 10, 15, 16, 0, tzinfo=timezone.utc)


def test_complex_case_forms_a_task_force_and_goes_to_the_assembly_with_a_30_day_plan(app):
    case = open_case(app, "小区停车难", "停车交通")
    assert case.tier == "complex" and case.party_kind == "task_force"
    assert case.escalations == ["task_force", "assembly"]
    assert case.deadlines["plan"]["due"] == T0 + timedelta(days=30)


@pytest.mark.parametrize("due, expected", [
    ("2026-12-20", datetime(2026, 12, 20, 15, 59, 59, tzinfo=timezone.utc)),  # the end of that day in Shanghai
    ("2026-12-20T18:00:00+08:00", datetime(2026, 12, 20, 10, 0, tzinfo=timezone.utc))])
def test_a_plan_is_due_on_a_date_or_at_a_time(app, due, expected):
    case = open_case(app, "小区停车难", "停车交通")
    planned, _ = app.command(str(case.id), "plan", {"actor": STAFF, "plan": "改建车位", "due": due})
    assert planned.deadlines["resolve"]["due"] == expected


def test_yellow_then_red_each_once_and_an_overdue_routine_case_goes_to_the_secretary(app, clock):
    case = open_case(app, "小区路灯故障")
    due = case.deadlines["resolve"]["due"]
    cid = str(case.id)
    assert app.watch([cid], due - timedelta(days=2)) == []
    assert app.watch([cid], due - timedelta(hours=12)) == [(cid, "resolve", "yellow")]
    assert app.watch([cid], due - timedelta(hours=1)) == []
    assert app.watch([cid], due) == [(cid, "resolve", "red")]
    assert app.watch([cid], due + timedelta(days=3)) == []
    case = app.get_case(cid)
    assert case.escalations == ["secretary"] and case.alert_level() == "red"
    assert events_of(app, case).count("DeadlineWarned") == 2


def test_a_missed_yellow_window_gives_only_the_red_alert(app):
    case = open_case(app, "3号楼楼道灯坏了")
    cid = str(case.id)
    raised = app.watch([cid], T0 + timedelta(hours=30))
    assert raised == [(cid, "verify", "red")]  # the plan deadline (48 h) is not yet in its warning window
    assert app.watch([cid], T0 + timedelta(hours=40)) == [(cid, "plan", "yellow")]
    assert app.get_case(cid).escalations == []  # only routine cases go to the secretary


def test_two_watchers_racing_record_each_alert_once(app, tmp_path):
    case = open_case(app, "小区路灯故障")
    cid, due = str(case.id), case.deadlines["resolve"]["due"]
    stale = app.get_case(cid)  # a second instance's view, loaded before the first one acts
    assert app.watch([cid], due) == [(cid, "resolve", "red")]
    stale.check_deadlines(due)
    with pytest.raises(IntegrityError):
        app.save(stale)  # the loser's save is refused by the version; reloading it finds nothing owed
    assert app.watch([cid], due) == []
    assert events_of(app, app.get_case(cid)).count("DeadlineWarned") == 1


def test_met_deadlines_raise_nothing(app, clock):
    case = open_case(app, "3号楼楼道灯坏了")
    cid = str(case.id)
    clock.now = T0 + timedelta(hours=3)
    app.command(cid, "verification", {"actor": {"role": "emergency_team", "name": "赵队"}, "note": "灯管损坏属实"})
    app.command(cid, "plan", {"actor": PROPERTY, "plan": "今日更换灯管"})
    assert app.watch([cid], T0 + timedelta(days=5)) == []
    assert all(d["met_at"] for d in app.get_case(cid).deadlines.values())


def test_resolve_and_the_residents_answer_closes_the_case_only_for_its_own_issue(app):
    case = open_case(app, "小区路灯故障")
    cid = str(case.id)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
    other = open_case(app, "健身器材损坏", sequence=2)
    assert confirm(app, cid, True, 5, issue_id=other.issue_id).status == "resolved"  # another issue's resident
    assert app.get_case(str(other.id)).status == "open"  # and their own case is not resolved: nothing
    case = confirm(app, cid, True, 5)
    assert case.status == "closed"
    assert events_of(app, case)[-2:] == ["Confirmed", "Closed"]


def test_rejected_confirmation_reopens_with_a_new_clock(app, clock):
    case = open_case(app, "小区路灯故障")
    cid = str(case.id)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
    clock.now = T0 + timedelta(days=2)
    case = confirm(app, cid, False)
    assert case.status == "reopened"
    assert case.deadlines["resolve"]["met_at"] is None
    assert case.deadlines["resolve"]["due"] > clock.now + timedelta(days=7)
    before = app.log_head()
    assert confirm(app, cid, True, 5).status == "reopened"  # an answer to a case not resolved is dropped
    assert app.log_head() == before


def test_confirmed_but_under_80_percent_satisfied_is_reopened_for_rectification(app):
    case = open_case(app, "小区路灯故障")
    cid = str(case.id)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
    case = confirm(app, cid, True, 3)
    assert case.status == "reopened" and "80%" in app.history(cid)[-1].reason


def test_a_quarterly_survey_under_80_percent_reopens_a_closed_case(app):
    case = open_case(app, "小区路灯故障")
    cid = str(case.id)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
    confirm(app, cid, True, 5)
    # 1 (confirmation) + 6 of 9 surveyed = 7 of 10 = 70 %
    out = app.record_survey({"actor": STAFF, "period": "2026-Q4", "items": [{"case_id": cid, "satisfied": 6,
                                                                              "total": 9}]})
    assert out == [{"case_id": cid, "satisfaction_rate": 0.7, "reopened": True, "status": "reopened"}]
    other = open_case(app, "健身器材损坏", sequence=3)  # 2: the resident's answer
    out = app.record_survey({"actor": STAFF, "period": "2026-Q4",
                             "items": [{"case_id": str(other.id), "satisfied": 8, "total": 10}]})
    assert out[0]["reopened"] is False  # exactly 80 % is not under 80 %


def test_a_survey_naming_an_unknown_case_writes_nothing(app):
    case = open_case(app, "小区路灯故障")
    before = app.log_head()
    with pytest.raises(Exception) as err:
        app.record_survey({"actor": STAFF, "period": "2026-Q4", "items": [
            {"case_id": str(case.id), "satisfied": 1, "total": 9}, {"case_id": str(uuid4()), "satisfied": 1, "total": 2}]})
    assert err.value.field == "items[1].case_id"
    assert app.log_head() == before


@pytest.mark.parametrize("command, payload, field", [
    ("verification", {"note": "x"}, "actor"),
    ("verification", {"actor": {"role": "mayor", "name": "x"}}, "actor.role"),
    ("plan", {"actor": STAFF}, "plan"),
    ("plan", {"actor": STAFF, "plan": "x", "due": "2026-12-01T10:00:00"}, "due"),
    ("plan", {"actor": STAFF, "plan": "x", "due": "2026-02-30"}, "due"),
    ("assignment", {"actor": STAFF, "party": "x", "party_kind": "friends"}, "party_kind"),
    ("escalation", {"actor": STAFF, "to": "mayor", "reason": "x"}, "to"),
    ("resolution", {"actor": STAFF, "summary": " "}, "summary"),
    ("triage", {"actor": STAFF, "tier": "urgent"}, "reason"),
])
def test_bad_commands_name_the_field_and_write_nothing(app, command, payload, field):
    case = open_case(app, "小区路灯故障")
    before = app.log_head()
    with pytest.raises(InvalidInput) as err:
        app.command(str(case.id), command, payload)
    assert err.value.field == field
    assert app.log_head() == before


def test_roles_are_checked_per_step(app):
    case = open_case(app, "小区路灯故障")
    with pytest.raises(Forbidden) as err:
        app.command(str(case.id), "assignment", {"actor": PROPERTY, "party": "自己", "party_kind": "property"})
    assert err.value.field == "actor.role" and "社区工作者" in err.value.detail_zh


def test_staff_override_the_tier_with_a_reason_and_get_the_new_tiers_clocks(app):
    case = open_case(app, "小区路灯故障")
    case, _ = app.command(str(case.id), "triage", {"actor": STAFF, "tier": "urgent", "reason": "路灯下是学校通道"})
    assert case.tier == "urgent" and set(case.deadlines) == {"verify", "plan"}
    assert app.history(str(case.id))[-1].reason == "路灯下是学校通道"


def test_an_idempotency_key_applies_a_command_once(app):
    cid = str(open_case(app, "小区路灯故障").id)
    body = {"actor": STAFF, "to": "council", "reason": "需议事会协商"}
    _, first = app.command(cid, "escalation", body, idempotency_key="k-1")
    case, again = app.command(cid, "escalation", body, idempotency_key="k-1")
    assert (first, again) == (True, False) and case.escalations == ["council"]
    with pytest.raises(Conflict):
        app.command(cid, "escalation", body | {"reason": "别的"}, idempotency_key="k-1")


def test_a_meetings_resolution_sets_plan_owner_and_due_once(app):
    case = open_case(app, "小区停车难", "停车交通")
    resolution = {"resolution_id": "r-1", "case_id": str(case.id), "text": "错时共享周边单位车位 120 个",
                  "owner": "社区居委会 王主任", "due": "2027-01-31T16:00:00Z"}
    meeting = str(uuid4())
    assert app.process(minuted(1, meeting, [resolution, {**resolution, "resolution_id": "r-2", "case_id": None}])) == 1
    case = app.get_case(str(case.id))
    assert (case.plan, case.party) == (resolution["text"], "社区居委会 王主任")
    assert case.deadlines["resolve"]["due"] == datetime(2027, 1, 31, 16, 0, tzinfo=timezone.utc)
    assert case.deadlines["plan"]["met_at"] is not None
    assert app.process(minuted(2, meeting, [resolution])) == 0  # the same resolution again: nothing new


def test_a_staff_triage_rule_applies_to_later_reports(app):
    rule = {"actor": STAFF, "rule_id": "urgent-ebike", "tier": "urgent", "keywords": ["飞线充电"]}
    assert open_case(app, "楼下有人飞线充电", "停车交通", sequence=1).tier == "routine"
    app.add_rule(rule)
    assert open_case(app, "楼下有人飞线充电", "停车交通", sequence=2).tier == "urgent"
    with pytest.raises(Forbidden):
        app.add_rule(rule | {"actor": PROPERTY, "rule_id": "other"})


def test_a_merged_duplicate_stops_its_clock_and_its_reporter_answers_the_case_it_joined(app):
    from shared.contracts import from_cloudevent, to_cloudevent
    first = open_case(app, "小区路灯故障", sequence=1)
    dup_data = issue("小区路灯坏了")
    app.process(reported(2, dup_data))
    merged = from_cloudevent(to_cloudevent("intake", "IssueMerged", sequence=3, prevsequence=2,
                                           subject=dup_data["issue_id"], time=T0,
                                           data={"issue_id": dup_data["issue_id"], "into_issue_id": first.issue_id}))
    assert app.process(merged) == 2  # Merged on the duplicate, Joined on the case it joins
    dup = app.get_case(str(case_id_for(dup_data["issue_id"])))
    assert dup.status == "merged" and dup.merged_into == str(first.id)
    assert app.watch([str(dup.id)], T0 + timedelta(days=30)) == []  # no alerts on a merged case
    app.command(str(first.id), "resolution", {"actor": PROPERTY, "summary": "已修复"})
    case = confirm(app, str(first.id), True, 5, issue_id=dup_data["issue_id"])
    assert case.status == "resolved" and case.responses == [(1, 1)]  # heard; only the original reporter closes it


def test_rectified_work_is_judged_afresh_after_a_low_satisfaction_reopening(app):
    case = open_case(app, "小区路灯故障")
    cid = str(case.id)
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换路灯"})
    case = confirm(app, cid, True, 2)
    assert case.status == "reopened"
    app.command(cid, "resolution", {"actor": PROPERTY, "summary": "重新更换灯具并加装防护罩"})
    case = confirm(app, cid, True, 5)
    assert case.status == "closed"  # not 50 %: the first rating judged the work that was redone


def test_a_case_retriaged_complex_goes_to_a_task_force_and_the_assembly(app):
    case = open_case(app, "小区路灯故障")
    case, _ = app.command(str(case.id), "triage", {"actor": STAFF, "tier": "complex", "reason": "涉及住建、城管多部门"})
    assert case.party_kind == "task_force" and case.escalations == ["task_force", "assembly"]
    assert "plan" in case.deadlines


def test_the_assembly_is_told_the_plan_date_of_the_shanghai_calendar(app):
    # 03:00 on 1 March in Shanghai is still 28 February in UTC: the plan is due on 31 March, Shanghai time
    case = open_case(app, "小区停车难,车位不足", category="停车交通", reported_at="2026-02-28T19:00:00Z")
    assert case.tier == "complex"
    reasons = [e.reason for e in app.history(str(case.id)) if type(e).__name__ == "Escalated"]
    assert "2026年3月31日前形成可行性方案" in reasons[-1]


def test_a_special_group_households_routine_report_is_verified_within_24_hours(app):
    plain = open_case(app, "小区路灯故障", sequence=1)
    special = open_case(app, "小区路灯故障", sequence=2, special_group=True, household_ref="hh-0123456789abcdef",
                        reported_by={"role": "community_worker", "name": "李娜", "subject": "u-li"})
    assert plain.tier == "routine"
    assert special.tier == "urgent" and special.deadlines["verify"]["due"] == T0 + timedelta(hours=24)
    assert "特殊群体家庭" in special.triage_reason
