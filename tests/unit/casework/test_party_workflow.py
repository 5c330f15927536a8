"""The responsible party's workflow (派单) as a 12345 hotline runs it: 签收 on a clock of its own, 退单 with a
reason and the secretary's ruling, 延期申请 decided by the secretary — and none of it stops the resident's clock."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.casework.party_stats import party_stats
from services.casework.domain import Forbidden, case_id_for
from services.casework.published import publisher
from services.intake.progress import CASE_STEPS, CaseSoFar
from shared.contracts import from_cloudevent, to_cloudevent
from shared.errors import Conflict, InvalidInput, NotFound
from tests.unit.casework.helpers import PROPERTY, STAFF, Clock, issue, memory_app

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai
SECRETARY = {"role": "secretary", "name": "王书记"}
SANITATION = {"role": "sanitation", "name": "赵班长"}


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def app(tmp_path, clock):
    app = memory_app(tmp_path, clock)
    yield app
    app.close()


def open_case(app, title="小区路灯故障", category="设施维护", sequence=1) -> str:
    """A report casework hears of as it is made (T0): the case is sent to its party at once."""
    data = issue(title, category)
    app.process(from_cloudevent(to_cloudevent("intake", "IssueReported", sequence=sequence, prevsequence=None,
                                              subject=data["issue_id"], time=T0, data=data)))
    return str(case_id_for(data["issue_id"]))


def deadlines(app, cid):
    return {name: d["due"] for name, d in app.get_case(cid).deadlines.items()}


def test_a_routine_case_must_be_acknowledged_by_the_end_of_the_next_working_day(app):
    cid = open_case(app)
    dispatch = app.get_case(cid).dispatches[-1]
    assert dispatch["party"] == "物业服务企业" and dispatch["assigned_at"] == T0
    assert dispatch["acknowledge_by"] == datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)  # Tue 24:00 Shanghai


def test_an_urgent_case_must_be_acknowledged_within_two_hours(app):
    cid = open_case(app, "3号楼楼道灯坏了")
    assert app.get_case(cid).dispatches[-1]["acknowledge_by"] == T0 + timedelta(hours=2)


def test_acknowledging_records_whether_it_was_on_time(app, clock):
    cid = open_case(app)
    clock.now = T0 + timedelta(hours=3)
    case, _ = app.command(cid, "acknowledgement", {"actor": PROPERTY})
    assert case.dispatches[-1]["acknowledged_at"] == clock.now
    with pytest.raises(Conflict):
        app.command(cid, "acknowledgement", {"actor": PROPERTY})


def test_no_step_of_the_party_moves_the_residents_deadline(app, clock):
    cid = open_case(app)
    before = deadlines(app, cid)
    app.command(cid, "acknowledgement", {"actor": PROPERTY})
    app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-20", "reason": "需订购配件"})
    app.command(cid, "extension-decision", {"actor": SECRETARY, "approved": True, "reason": "同意,请按期办结"})
    app.command(cid, "return", {"actor": PROPERTY, "reason": "路灯属市政管理"})
    app.command(cid, "return-dispute", {"actor": STAFF, "reason": "小区内路灯属物业"})
    app.command(cid, "return-ruling", {"actor": SECRETARY, "upheld": False, "reason": "小区内路灯由物业负责"})
    assert deadlines(app, cid) == before
    clock.now = before["resolve"] + timedelta(minutes=1)
    assert (cid, "resolve", "red") in app.watch([cid])  # red alert on the original due, extension or not
    assert "secretary" in app.get_case(cid).escalations


def test_a_returned_case_cannot_be_acknowledged_and_waits_to_be_sent_elsewhere(app):
    cid = open_case(app, "垃圾清运不及时", "环境卫生")
    app.command(cid, "return", {"actor": SANITATION, "reason": "属物业保洁范围"})
    with pytest.raises(Conflict):
        app.command(cid, "acknowledgement", {"actor": SANITATION})
    case, _ = app.command(cid, "assignment", {"actor": STAFF, "party": "物业服务企业", "party_kind": "property"})
    returned, current = case.dispatches
    assert returned["return_state"] == "accepted" and returned["return_reason"] == "属物业保洁范围"
    assert current["party"] == "物业服务企业" and current["acknowledged_at"] is None


def test_a_disputed_return_overruled_by_the_secretary_goes_back_with_a_new_acknowledge_clock(app, clock):
    cid = open_case(app)
    app.command(cid, "return", {"actor": PROPERTY, "reason": "不归我们管"})
    app.command(cid, "return-dispute", {"actor": STAFF, "reason": "属物业服务合同范围"})
    clock.now = T0 + timedelta(hours=5)
    case, _ = app.command(cid, "return-ruling", {"actor": SECRETARY, "upheld": False, "reason": "退单理由不成立"})
    assert [d["return_state"] for d in case.dispatches] == ["overruled", None]
    assert case.dispatches[-1]["party"] == "物业服务企业" and case.dispatches[-1]["assigned_at"] == clock.now
    app.command(cid, "acknowledgement", {"actor": PROPERTY})
    row = party_stats([app.get_case(cid)], clock.now)["物业服务企业"]
    assert (row["dispatches"], row["returns"], row["return_rate"], row["returns_overruled"]) == (1, 1, 1.0, 1)


def test_only_the_secretary_rules_on_returns_and_extensions(app):
    cid = open_case(app)
    app.command(cid, "return", {"actor": PROPERTY, "reason": "不归我们管"})
    with pytest.raises(Forbidden):
        app.command(cid, "return-ruling", {"actor": STAFF, "upheld": True, "reason": "同意"})
    with pytest.raises(Forbidden):
        app.command(cid, "return", {"actor": STAFF, "reason": "工作人员不能退单"})


def test_a_ruling_needs_a_return_waiting(app):
    cid = open_case(app)
    with pytest.raises(Conflict):
        app.command(cid, "return-ruling", {"actor": SECRETARY, "upheld": True, "reason": "同意"})


def test_an_extension_must_ask_for_more_than_the_current_deadline_and_one_at_a_time(app):
    cid = open_case(app)
    with pytest.raises(InvalidInput) as refused:
        app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-11-25", "reason": "太忙"})
    assert refused.value.field == "due"
    with pytest.raises(InvalidInput) as missing:
        app.command(cid, "extension", {"actor": PROPERTY, "reason": "太忙"})
    assert missing.value.field == "due"
    app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-20", "reason": "需订购配件"})
    with pytest.raises(Conflict):
        app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-30", "reason": "再延"})


def test_a_refused_extension_leaves_no_agreed_date_and_an_approved_one_is_still_late(app, clock):
    cid = open_case(app)
    app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-20", "reason": "需订购配件"})
    case, _ = app.command(cid, "extension-decision", {"actor": SECRETARY, "approved": False, "reason": "请按时办结"})
    assert case.agreed_due is None and case.extensions[0]["decision"] == "refused"
    app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-20", "reason": "配件缺货"})
    case, _ = app.command(cid, "extension-decision", {"actor": SECRETARY, "approved": True, "reason": "同意"})
    assert case.agreed_due == datetime(2026, 12, 20, 15, 59, 59, tzinfo=timezone.utc)
    clock.now = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)
    case, _ = app.command(cid, "resolution", {"actor": PROPERTY, "summary": "已更换"})
    assert case.deadlines["resolve"]["met_at"] > case.deadlines["resolve"]["due"]  # late against the report
    row = party_stats([case], clock.now)["物业服务企业"]
    assert (row["extension_requests"], row["extensions_approved"]) == (2, 1)
    assert (row["deadlines_settled"], row["on_time_rate"]) == (1, 0.0)  # the extension did not make it on time


def test_party_rates_count_on_time_late_and_missed_acknowledgements(app, clock):
    on_time, late, missed = (open_case(app, f"{n}号楼路灯故障", sequence=n) for n in (1, 2, 3))
    app.command(on_time, "acknowledgement", {"actor": PROPERTY})
    clock.now = T0 + timedelta(days=3)
    app.command(late, "acknowledgement", {"actor": PROPERTY})
    row = party_stats([app.get_case(c) for c in (on_time, late, missed)], clock.now)["物业服务企业"]
    assert (row["dispatches"], row["acknowledged"], row["acknowledged_on_time"], row["acknowledge_missed"]) == (3, 2, 1, 1)
    assert row["acknowledge_on_time_rate"] == round(1 / 3, 4)
    assert row["returns"] == 0 and row["return_rate"] == 0.0


def test_internal_notes_are_shown_to_the_roles_they_name_and_never_published(app):
    cid = open_case(app)
    app.command(cid, "note", {"actor": STAFF, "text": "业主张先生电话13812345678,白天不在家"})
    app.command(cid, "note", {"actor": STAFF, "text": "已与物业约定周三上门", "visible_to": ["property"]})
    case = app.get_case(cid)
    assert [n["text"] for n in case.notes_for("property")] == ["已与物业约定周三上门"]
    assert len(case.notes_for("community_worker")) == 2 and len(case.notes_for("secretary")) == 1
    publish = publisher(app)
    published = [publish(app.domain_event(n)) for n in app.notifications_after(0)]
    assert "13812345678" not in json.dumps([p.data for p in published if p], ensure_ascii=False)
    with pytest.raises(InvalidInput) as refused:
        app.command(cid, "note", {"actor": STAFF, "text": "x", "visible_to": ["resident"]})
    assert refused.value.field == "visible_to[0]"  # the entry itself


def test_a_resolution_is_one_click_with_a_response_template(app):
    cid = open_case(app)
    case, _ = app.command(cid, "resolution", {"actor": PROPERTY, "template_id": "facility-repaired"})
    assert case.status == "resolved"
    summaries = [e.summary for e in app.history(cid) if type(e).__name__ == "Resolved"]
    assert summaries == ["您反映的设施问题已维修完毕,经现场查看已恢复正常使用。如仍有问题,请在进度查询中反馈。"]
    with pytest.raises(NotFound) as unknown:
        app.command(open_case(app, sequence=2), "resolution", {"actor": PROPERTY, "template_id": "no-such"})
    assert unknown.value.field == "template_id"


def test_staff_edit_and_retire_response_templates(app):
    app.save_template("facility-repaired", {"actor": STAFF, "category": "设施维护", "kind": "resolution",
                                            "text": "已修好,感谢您的反映。"})
    app.save_template("lift-repaired", {"actor": STAFF, "category": "设施维护", "kind": "resolution",
                                        "text": "电梯已由维保单位修复并通过检测。"})
    ours = {t["template_id"]: t for t in app.list_templates("设施维护")}
    assert ours["facility-repaired"]["text"] == "已修好,感谢您的反映。" and ours["facility-repaired"]["source"] == "staff"
    assert "lift-repaired" in ours
    app.retire_template("facility-repaired", {"actor": STAFF})
    assert "facility-repaired" not in {t["template_id"] for t in app.list_templates()}
    with pytest.raises(InvalidInput) as refused:
        app.save_template("lift", {"actor": STAFF, "category": "设施维护", "kind": "memo", "text": "x"})
    assert refused.value.field == "kind"


def test_every_step_is_published_to_its_contract_masked_and_shown_to_the_resident(app):
    cid = open_case(app)
    app.command(cid, "acknowledgement", {"actor": PROPERTY})
    app.command(cid, "extension", {"actor": PROPERTY, "due": "2026-12-20", "reason": "需订购配件,联系13812345678"})
    app.command(cid, "extension-decision", {"actor": SECRETARY, "approved": False, "reason": "请按时办结"})
    app.command(cid, "return", {"actor": PROPERTY, "reason": "路灯属市政"})
    app.command(cid, "return-dispute", {"actor": STAFF, "reason": "小区内路灯属物业"})
    app.command(cid, "return-ruling", {"actor": SECRETARY, "upheld": True, "reason": "属市政路灯"})
    publish = publisher(app)
    progress, names = CaseSoFar(), []
    for n in app.notifications_after(0):
        published = publish(app.domain_event(n))
        if published is None:
            continue
        body = to_cloudevent("casework", published.name, sequence=n.id, prevsequence=None, subject=published.subject,
                             time=published.time, data=published.data)  # validates against the catalogue
        assert "13812345678" not in json.dumps(body, ensure_ascii=False)
        names.append(published.name)
        if published.name in CASE_STEPS:
            progress.step(published.name, published.data, published.time)
    assert names[-6:] == ["CaseAcknowledged", "CaseExtensionRequested", "CaseExtensionRefused", "CaseReturned",
                          "CaseReturnDisputed", "CaseReturnUpheld"]
    steps = [p["step_zh"] for p in progress.timeline]
    assert "责任单位已签收,正在办理(办理时限仍从您反映之日起计算)" in steps
    assert "社区书记裁定退单理由成立,社区将重新派单(办理时限不变)" in steps
    assert progress.case["due"] == {"resolve_by": "2026-12-02T16:00:00Z"}  # as opened: nothing moved it


def test_a_missed_acknowledge_clock_is_recorded_once_and_tells_the_resident_nothing_moved(app, clock):
    from services.casework.projections import next_check
    cid = open_case(app, "3号楼楼道灯坏了")  # urgent: acknowledge within 2 hours
    case = app.get_case(cid)
    assert next_check(case) == T0 + timedelta(hours=2)  # before the 24 h verification's warning: the watcher wakes
    before = deadlines(app, cid)
    clock.now = T0 + timedelta(hours=2, minutes=1)
    assert app.watch([cid]) == []  # no deadline of the resident's is owed an alert: the party's clock is its own
    app.watch([cid])  # once per dispatch, however often the watcher runs
    case = app.get_case(cid)
    assert case.dispatches[-1]["missed_at"] == clock.now and deadlines(app, cid) == before
    assert [type(e).__name__ for e in app.history(cid)].count("AcknowledgeMissed") == 1
    assert party_stats([case], clock.now)["物业服务企业"]["acknowledge_missed"] == 1
    app.command(cid, "acknowledgement", {"actor": {"role": "property", "name": "王师傅"}})  # late, but taken up
    publish = publisher(app)
    names = [p.name for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p]
    assert "CaseAcknowledgeMissed" in names
    assert CASE_STEPS["CaseAcknowledgeMissed"][0] == "责任单位未按时签收,已记入考核,社区正在督办(办理时限不变)"


def test_a_reply_to_the_resident_is_one_click_signed_by_the_organisation_never_a_person(app):
    cid = open_case(app)
    app.command(cid, "reply", {"actor": PROPERTY, "template_id": "received-working"})
    app.command(cid, "reply", {"actor": STAFF, "text": "已联系物业,明天上午上门"})
    with pytest.raises(InvalidInput) as empty:
        app.command(cid, "reply", {"actor": STAFF})
    assert empty.value.field == "text"
    publish = publisher(app)
    replies = [p.data for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p
               and p.name == "CaseReplied"]
    assert [(r["party"], r["text"][:6]) for r in replies] == [("物业服务企业", "您的诉求已收"), (None, "已联系物业,")]
    assert "王师傅" not in json.dumps(replies, ensure_ascii=False) and "李娜" not in json.dumps(replies, ensure_ascii=False)
    progress = CaseSoFar()
    for r in replies:
        progress.step("CaseReplied", r, T0)
    assert [t["step_zh"] for t in progress.timeline] == ["收到回复", "收到回复"]


def test_a_case_a_meetings_resolution_took_over_owes_its_old_party_no_acknowledgement(app, clock):
    from tests.unit.casework.helpers import minuted
    cid = open_case(app, "小区停车难", "停车交通")  # complex: the task force has a working day to acknowledge
    app.process(minuted(2, "3c2b8f0e-5d1a-4f7b-9e6c-000000000001", [
        {"resolution_id": "r1", "case_id": cid, "text": "改建车位", "owner": "幸福里物业服务中心",
         "due": "2026-12-31T15:59:59Z"}], minuted_at="2026-11-23T03:00:00Z"))
    clock.now = T0 + timedelta(days=3)
    app.watch([cid])
    assert "AcknowledgeMissed" not in [type(e).__name__ for e in app.history(cid)]


def test_the_councils_own_teams_acknowledge_what_is_sent_to_them_and_nothing_else(app):
    hazard = open_case(app, "楼道里电线裸露", "安全隐患")  # sent to 社区应急小组 (the council's kind)
    case, _ = app.command(hazard, "acknowledgement", {"actor": {"role": "emergency_team", "name": "赵队长"}})
    assert case.party == "社区应急小组" and case.dispatches[-1]["acknowledged_at"] is not None
    lamp = open_case(app, sequence=2)  # sent to the property company
    with pytest.raises(Forbidden):
        app.command(lamp, "acknowledgement", {"actor": {"role": "council_member", "name": "刘委员"}})


def test_a_quarterly_survey_round_is_published_as_a_whole_for_the_board(app):
    good, poor = open_case(app, sequence=1), open_case(app, "垃圾清运不及时", "环境卫生", sequence=2)
    for cid in (good, poor):
        app.command(cid, "resolution", {"actor": STAFF, "summary": "已处理"})
    app.record_survey({"actor": STAFF, "period": "2026Q4", "items": [
        {"case_id": good, "satisfied": 9, "total": 10}, {"case_id": poor, "satisfied": 5, "total": 10}]})
    publish = publisher(app)
    [whole] = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p
               and p.name == "SurveyRecorded"]
    assert {k: whole.data[k] for k in ("period", "items", "satisfied", "total", "satisfaction_rate", "below_floor",
                                       "reopened")} == {"period": "2026Q4", "items": 2, "satisfied": 14, "total": 20,
                                                        "satisfaction_rate": 0.7, "below_floor": 1, "reopened": 1}
    to_cloudevent("casework", "SurveyRecorded", sequence=1, prevsequence=None, subject=whole.subject,
                  time=whole.time, data=whole.data)  # validates against the catalogue
