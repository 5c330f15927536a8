"""Meetings follows casework: escalations become proposed topics; case facts feed the monthly results release."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.meetings import results
from services.meetings.application import MeetingsApplication
from services.meetings.domain import proposal_id_for
from shared.deadlines import local_month
from services.meetings.projections import CaseSteps, MeetingIndex, ProposalIndex, list_proposals, results_report
from services.meetings.rules import RuleBroken
from shared.config import Settings
from shared.contracts import IntegrationEvent, from_cloudevent, to_cloudevent
from shared.contracts.envelope import rfc3339
from shared.edge.documents import markdown, to_html
from shared.store.persistence import Database
from shared.store.projection import catch_up
from tests.unit.meetings.conftest import Clock, Council

SH = timezone(timedelta(hours=8))
CASE = {k: f"0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a{n:02d}" for n, k in enumerate("ABCDE")}


class Casework:
    """casework's log as meetings receives it: validated CloudEvents, in sequence."""

    def __init__(self, app: MeetingsApplication):
        self.app, self.sequence = app, 0

    def send(self, name: str, at: datetime, **data) -> IntegrationEvent:
        self.sequence += 1
        event = from_cloudevent(to_cloudevent("casework", name, sequence=self.sequence,
                                              prevsequence=self.sequence - 1 or None, subject=data["case_id"],
                                              time=at.astimezone(timezone.utc), data=data))
        self.app.process(event)
        return event

    def opened(self, case: str, at: datetime, due: datetime | None = None, tier: str = "routine") -> None:
        self.send("CaseOpened", at, case_id=CASE[case], issue_id=CASE[case].replace("0f8e", "1a2b"), tier=tier,
                  category="停车交通" if case == "B" else "设施维护",
                  due={"resolve_by": rfc3339(due)} if due else {}, opened_at=rfc3339(at), triage_reason="常规类")


@pytest.fixture
def db(tmp_path):
    db = Database("meetings", Settings(None, "", tmp_path / "var"))
    yield db
    db.close()


def project(app, db) -> None:
    catch_up(app, db, list(app.projections))  # as a process does at its start


def test_a_case_escalated_to_the_assembly_is_proposed_and_confirmed_into_an_assembly_agenda(app, clock, db):
    casework = Casework(app)
    casework.opened("B", clock())
    escalated = casework.send("CaseEscalated", clock(), case_id=CASE["B"], to="assembly", category="停车交通",
                              reason="涉及住建、城管多部门,专班方案需提交居民代表大会审议")
    casework.send("CaseEscalated", clock(), case_id=CASE["A"], to="secretary", reason="超期未办结")
    project(app, db)
    [proposal] = list_proposals(db, "proposed")
    assert proposal["proposal_id"] == str(proposal_id_for(escalated.id))
    assert (proposal["case_id"], proposal["kinds"], proposal["category"]) == (CASE["B"], ["assembly"], "停车交通")

    council = Council(app, clock, kind="regular")
    with pytest.raises(RuleBroken) as wrong_kind:
        app.publish_agenda(council.id, {"topics": [{"proposal_id": proposal["proposal_id"], "draft_plan": "…"}]})
    assert wrong_kind.value.field == "topics[0].proposal_id"

    assembly = Council(app, clock, kind="assembly")
    ids, _ = app.confirm_proposal(proposal["proposal_id"], {"meeting_id": assembly.id,
                                                            "draft_plan": "荒废绿地改建车位40个"})
    topic = assembly.meeting().topic(ids[0])
    assert topic["case_id"] == CASE["B"] and topic["background"].startswith("涉及住建")
    project(app, db)
    assert list_proposals(db, "confirmed")[0]["meeting_id"] == assembly.id
    with pytest.raises(Exception) as twice:
        app.confirm_proposal(proposal["proposal_id"], {"meeting_id": assembly.id, "draft_plan": "…"})
    assert getattr(twice.value, "status", None) == 409


def test_casework_fields_meetings_does_not_know_are_kept_and_do_no_harm(app, db):
    event = IntegrationEvent(id="casework-7", service="casework", name="CaseEscalated", subject=CASE["C"],
                             time=datetime(2026, 11, 3, tzinfo=timezone.utc), sequence=7, prevsequence=None,
                             data={"case_id": CASE["C"], "to": "council", "reason": "需议事会协商",
                                   "title": "5号楼电动车充电", "category": "停车交通", "escalated_by": "网格员",
                                   "something_new": {"nested": [1, 2]}})
    assert app.process(event) == 1  # the proposal; the case's fact is a row of the view, not an event
    proposal = app.repository.get(proposal_id_for("casework-7"))
    [(doc,)] = db.query("SELECT doc FROM case_digest")
    assert json.loads(doc)["facts"][0]["data"]["something_new"] == {"nested": [1, 2]}
    assert (proposal.title, proposal.kinds) == ("5号楼电动车充电", ["regular", "mobile", "online"])


def november(app: MeetingsApplication, clock: Clock) -> Casework:
    """A November with resolved and unresolved cases, and one resolution of the assembly."""
    casework = Casework(app)
    clock.now = datetime(2026, 10, 10, 9, tzinfo=SH)
    casework.opened("D", clock())
    casework.send("CaseResolved", datetime(2026, 10, 20, 9, tzinfo=SH), case_id=CASE["D"],
                  resolved_at=rfc3339(datetime(2026, 10, 20, 9, tzinfo=SH)), summary="十月已修复")
    casework.opened("E", datetime(2026, 10, 15, 9, tzinfo=SH))
    casework.send("CaseResolved", datetime(2026, 10, 25, 9, tzinfo=SH), case_id=CASE["E"],
                  resolved_at=rfc3339(datetime(2026, 10, 25, 9, tzinfo=SH)))
    casework.send("CaseReopened", datetime(2026, 11, 20, 9, tzinfo=SH), case_id=CASE["E"], reason="满意度低于80%,重新整改")

    clock.now = datetime(2026, 11, 2, 9, tzinfo=SH)
    casework.opened("A", datetime(2026, 11, 3, 9, tzinfo=SH))
    casework.send("CaseResolved", datetime(2026, 11, 10, 9, tzinfo=SH), case_id=CASE["A"],
                  resolved_at=rfc3339(datetime(2026, 11, 10, 9, tzinfo=SH)), summary="物业更换了楼道灯")
    casework.opened("C", datetime(2026, 11, 1, 9, tzinfo=SH), due=datetime(2026, 11, 12, 18, tzinfo=SH))
    casework.opened("B", datetime(2026, 11, 2, 9, tzinfo=SH), tier="complex")
    escalated = casework.send("CaseEscalated", datetime(2026, 11, 2, 10, tzinfo=SH), case_id=CASE["B"],
                              to="assembly", reason="停车难涉及多部门,需居民代表大会审议")

    assembly = Council(app, clock, kind="assembly", days_ahead=10)
    app.confirm_proposal(str(proposal_id_for(escalated.id)), {"meeting_id": assembly.id, "draft_plan": "改建车位"})
    assembly.open_with(members=5)
    motion, _ = app.table_motion(assembly.id, {"text": "同意改建车位", "topic_id": "t1", "major": True})
    for code in motion["ballots"]:
        app.cast_vote(assembly.id, {"motion_id": motion["motion_id"], "ballot": code, "choice": "for"})
    app.close_meeting(assembly.id)
    clock.advance(hours=20)
    app.record_minutes(assembly.id, {"resolutions": [{"text": "施划车位40个", "owner": "幸福里物业服务中心",
                                                      "due": "2026-12-31", "topic_id": "t1", "motion_id": "m1"}]})
    return casework


def test_the_results_of_a_month_list_resolved_and_unresolved_cases_with_reasons_and_next_steps(app, clock, db):
    november(app, clock)
    project(app, db)
    clock.now = datetime(2026, 11, 25, 9, tzinfo=SH)
    report = results_report(db, "2026-11", clock())

    assert report["counts"] == {"resolved": 1, "unresolved": 3}
    [resolved] = report["resolved"]
    assert (resolved["case_id"], resolved["summary"]) == (CASE["A"], "物业更换了楼道灯")
    unresolved = {c["case_id"]: c for c in report["unresolved"]}
    assert set(unresolved) == {CASE["B"], CASE["C"], CASE["E"]}
    assert [r["code"] for r in unresolved[CASE["B"]]["reasons"]] == ["escalated"]
    assert unresolved[CASE["B"]]["next_steps"][0] == {"kind": "meeting", "meeting_id": unresolved[CASE["B"]][
        "next_steps"][0]["meeting_id"], "meeting_at": unresolved[CASE["B"]]["next_steps"][0]["meeting_at"],
        "meeting_kind": "assembly"}
    assert {"kind": "resolution", "text": "施划车位40个", "owner": "幸福里物业服务中心",
            "due": "2026-12-31T15:59:59Z"} in unresolved[CASE["B"]]["next_steps"]
    assert [r["code"] for r in unresolved[CASE["C"]]["reasons"]] == ["overdue"]
    assert unresolved[CASE["E"]]["status"] == "reopened"
    assert unresolved[CASE["E"]]["reasons"][0]["text"] == "满意度低于80%,重新整改"

    october = results_report(db, "2026-10", clock())  # as the cases stood at the end of October
    assert [c["case_id"] for c in october["resolved"]] == [CASE["D"], CASE["E"]]
    assert october["unresolved"] == []

    zh = markdown(results.document(report, "zh"))
    assert zh.startswith("# 2026年11月议事成果发布")
    for expected in ("预览(尚未发布)", "本月已解决 1 件,未解决 3 件", "## 一、本月已解决问题清单", "物业更换了楼道灯",
                     "## 二、未解决问题及原因", "已提交居民代表大会:停车难涉及多部门", "已超过办理时限(2026年11月12日)",
                     "居民确认未解决,重新整改", "## 三、下一步计划", "| 施划车位40个 | 幸福里物业服务中心 | 2026年12月31日 |",
                     "提交居民代表大会审议"):
        assert expected in zh, expected
    html = to_html(results.document(report, "zh"), "zh")
    assert '<html lang="zh-CN">' in html and "<td>幸福里物业服务中心</td>" in html
    en = markdown(results.document(report, "en"))
    assert en.startswith("# Results release, 2026-11") and "escalated to the residents' representative assembly" in en


def test_the_results_are_released_once_from_the_25th_and_stay_as_released(app, clock, db):
    casework = november(app, clock)
    project(app, db)

    def report(month):
        return results_report(db, month, clock())

    clock.now = datetime(2026, 11, 24, 23, 59, tzinfo=SH)
    assert app.release_due_results(report) is None
    with pytest.raises(RuleBroken) as early:
        app.release_results("2026-11", report("2026-11"), by="staff")
    assert early.value.rule == "results_release" and early.value.field == "month"

    clock.now = datetime(2026, 11, 25, 0, 0, tzinfo=SH)
    released = app.release_due_results(report)
    assert released is not None and released.report["counts"] == {"resolved": 1, "unresolved": 3}
    assert app.release_due_results(report) is None
    with pytest.raises(RuleBroken) as again:
        app.release_results("2026-11", report("2026-11"), by="staff")
    assert again.value.rule == "results_release" and again.value.status == 409

    casework.send("CaseResolved", datetime(2026, 11, 26, 9, tzinfo=SH), case_id=CASE["C"],
                  resolved_at=rfc3339(datetime(2026, 11, 26, 9, tzinfo=SH)))
    project(app, db)
    clock.now = datetime(2026, 11, 27, 9, tzinfo=SH)
    assert report("2026-11")["counts"] == {"resolved": 2, "unresolved": 2}  # the live view moves on
    assert app.get_release("2026-11").report["counts"] == {"resolved": 1, "unresolved": 3}  # the release does not


def test_two_instances_release_a_month_once(tmp_path, clock):
    settings = Settings(None, "", tmp_path / "var")
    clock.now = datetime(2026, 11, 25, 8, tzinfo=SH)
    first, second = MeetingsApplication(settings, clock=clock), MeetingsApplication(settings, clock=clock)
    try:
        empty = lambda month: {"month": month, "counts": {"resolved": 0, "unresolved": 0},  # noqa: E731
                               "resolved": [], "unresolved": []}
        assert first.release_due_results(empty) is not None
        assert second.release_due_results(empty) is None
        with pytest.raises(RuleBroken):
            second.release_results("2026-11", empty("2026-11"), by="staff")
        released = [n for n in first.notifications_after(0) if n.topic.endswith("ResultsRelease.Released")]
        assert len(released) == 1
    finally:
        first.close()
        second.close()


def test_the_release_is_published_as_results_released(app, clock):
    from services.meetings.published import publish

    clock.now = datetime(2026, 11, 25, 8, tzinfo=SH)
    app.release_results("2026-11", {"month": "2026-11", "resolved": [{}], "unresolved": []}, by="staff")
    [n] = app.notifications_after(0)
    published = publish(app.domain_event(n))
    assert published.name == "ResultsReleased"
    assert published.data == {"month": "2026-11", "released_at": "2026-11-25T00:00:00Z", "resolved": 1,
                              "unresolved": 0}
    to_cloudevent("meetings", published.name, sequence=1, prevsequence=None, subject=published.subject,
                  time=published.time, data=published.data)  # valid against the catalogue


def test_a_case_settled_after_the_25th_is_in_the_next_months_release(app, clock, db):
    casework = november(app, clock)
    project(app, db)
    clock.now = datetime(2026, 11, 25, 0, 5, tzinfo=SH)
    app.release_due_results(lambda month: results_report(db, month, clock(), app.carried_from(month)))
    casework.send("CaseResolved", datetime(2026, 11, 27, 9, tzinfo=SH), case_id=CASE["C"],
                  resolved_at=rfc3339(datetime(2026, 11, 27, 9, tzinfo=SH)))
    project(app, db)

    clock.now = datetime(2026, 12, 25, 0, 5, tzinfo=SH)
    december = app.release_due_results(lambda month: results_report(db, month, clock(), app.carried_from(month)))
    assert CASE["C"] in [c["case_id"] for c in december.report["resolved"]]
    assert CASE["A"] not in [c["case_id"] for c in december.report["resolved"]]  # released in November


def test_a_merged_duplicate_is_in_no_release(app, clock, db):
    casework = november(app, clock)
    casework.send("CaseMerged", datetime(2026, 11, 20, 9, tzinfo=SH), case_id=CASE["C"], into_case_id=CASE["A"],
                  issue_id=CASE["C"].replace("0f8e", "1a2b"), into_issue_id=CASE["A"].replace("0f8e", "1a2b"))
    project(app, db)
    clock.now = datetime(2026, 11, 25, 9, tzinfo=SH)
    report = results_report(db, "2026-11", clock())
    assert CASE["C"] not in [c["case_id"] for c in report["resolved"] + report["unresolved"]]
    assert report["counts"] == {"resolved": 1, "unresolved": 2}


def test_a_reopened_case_is_listed_unresolved_and_the_release_goes_out(app, clock, db):
    casework = Casework(app)
    opened = datetime(2026, 11, 3, 9, tzinfo=SH)
    casework.opened("A", opened, due=datetime(2026, 11, 12, 18, tzinfo=SH))
    casework.send("CaseResolved", datetime(2026, 11, 5, 9, tzinfo=SH), case_id=CASE["A"],
                  resolved_at=rfc3339(datetime(2026, 11, 5, 9, tzinfo=SH)), summary="已更换灯泡")
    casework.send("CaseReopened", datetime(2026, 11, 6, 9, tzinfo=SH), case_id=CASE["A"],
                  reason="居民确认问题未解决", due=rfc3339(datetime(2026, 11, 30, 18, tzinfo=SH)))
    project(app, db)
    clock.now = datetime(2026, 11, 25, 9, tzinfo=SH)

    report = results_report(db, "2026-11", clock())
    [case] = report["unresolved"]
    assert (case["case_id"], case["status"]) == (CASE["A"], "reopened")
    assert case["reasons"][0] == {"code": "reopened", "text": "居民确认问题未解决", "at": "2026-11-06T01:00:00Z"}
    assert case["next_steps"] == [{"kind": "deadline", "due": "2026-11-30T10:00:00Z"}]  # the new deadline
    assert app.release_results("2026-11", report, by="staff").report["counts"] == {"resolved": 0, "unresolved": 1}


def test_one_unreadable_case_record_does_not_fail_the_release():
    odd = {"case_id": CASE["A"], "due": "not a deadline", "next_steps": [{"kind": "resolution"}],
           "facts": [{"fact": "opened", "at": "2026-11-03T01:00:00Z", "data": {}}]}
    fine = {"case_id": CASE["B"], "next_steps": [], "facts": [{"fact": "opened", "at": "2026-11-03T01:00:00Z",
                                                              "data": {"triage_reason": "常规类"}}]}
    report = results.build("2026-11", [odd, fine], {}, datetime(2026, 11, 25, 9, tzinfo=SH))
    assert [c["case_id"] for c in report["unresolved"]] == [CASE["A"], CASE["B"]]
    assert report["unresolved"][0]["reasons"] == [{"code": "unreadable"}]
    assert "记录不完整" in markdown(results.document(report, "zh"))


def test_a_topic_of_a_cancelled_meeting_waits_for_the_next_one(app, clock, db):
    casework = Casework(app)
    casework.opened("B", clock())
    escalated = casework.send("CaseEscalated", clock(), case_id=CASE["B"], to="council", reason="需议事会协商")
    council = Council(app, clock)
    pid = str(proposal_id_for(escalated.id))
    app.confirm_proposal(pid, {"meeting_id": council.id, "draft_plan": "改建车位"})
    app.cancel_meeting(council.id, {"reason": "暴雨预警"})
    project(app, db)
    [proposal] = list_proposals(db, "proposed")
    assert proposal["proposal_id"] == pid and "meeting_id" not in proposal
    clock.advance(hours=1)
    [case] = results_report(db, local_month(clock()), clock())["unresolved"]
    assert [s["kind"] for s in case["next_steps"]] == ["proposed"]
    again = Council(app, clock)
    app.confirm_proposal(pid, {"meeting_id": again.id, "draft_plan": "改建车位"})


def test_an_unresolved_case_is_dated_from_the_residents_report(app, clock, db):
    casework = Casework(app)
    reported = datetime(2026, 11, 2, 20, tzinfo=SH)
    casework.send("CaseOpened", datetime(2026, 11, 3, 9, tzinfo=SH), case_id=CASE["A"], issue_id=CASE["B"],
                  tier="routine", category="设施维护", due={}, opened_at=rfc3339(datetime(2026, 11, 3, 9, tzinfo=SH)),
                  reported_at=rfc3339(reported))
    project(app, db)
    clock.now = datetime(2026, 11, 25, 9, tzinfo=SH)
    report = results_report(db, "2026-11", clock())
    [case] = report["unresolved"]
    assert case["since"] == rfc3339(reported)
    assert "| 反映时间 |" in markdown(results.document(report, "zh")) and "2026年11月02日" in markdown(
        results.document(report, "zh"))  # printed too: the day the resident reported it, not the 3rd it opened
    casework.send("CaseResolved", datetime(2026, 11, 10, 9, tzinfo=SH), case_id=CASE["A"], summary="已修复",
                  resolved_at=rfc3339(datetime(2026, 11, 10, 9, tzinfo=SH)))
    project(app, db)
    [done] = results_report(db, "2026-11", clock())["resolved"]
    assert done["reported_at"] == rfc3339(reported)


def test_the_results_release_never_carries_a_name_or_a_room_typed_into_a_case():
    digest = {"case_id": CASE["A"], "title": "2单元502室门口积水", "next_steps": [], "facts": [
        {"fact": "opened", "at": "2026-11-03T01:00:00Z", "data": {}},
        {"fact": "resolved", "at": "2026-11-10T01:00:00Z", "data": {"summary": "已疏通,完成后告知欧阳娜娜"}}]}
    stuck = {"case_id": CASE["B"], "title": "路灯不亮", "facts": [
        {"fact": "opened", "at": "2026-11-03T01:00:00Z", "data": {}},
        {"fact": "reopened", "at": "2026-11-12T01:00:00Z", "data": {"reason": "居民张伟伟说还是不亮"}}],
        "next_steps": [{"kind": "resolution", "text": "联系刘洋女士后复查", "owner": "物业", "due": "2026-11-30T10:00:00Z"}]}
    report = results.build("2026-11", [digest, stuck], {}, datetime(2026, 11, 25, 9, tzinfo=SH))
    printed = markdown(results.document(report, "zh")) + str(report)
    for private in ("欧阳娜娜", "张伟伟", "刘洋", "502"):
        assert private not in printed, private
    assert "告知欧***" in printed and "居民张**" in printed
