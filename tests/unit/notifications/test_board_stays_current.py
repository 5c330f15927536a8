"""The public board (公告栏) never goes on showing a state the case has left: reopened, re-graded, merged."""
from services.notifications.domain import Delivery, Notice
from tests.unit.notifications.test_policy import CASE, ISSUE, OPENED, REPORTED, app, recorded, upstream  # noqa: F401


def board(app):
    return [(e.kind, e.texts["zh"]["body"]) for e in recorded(app) if isinstance(e, Notice.Published)]


def case_event(name, seq, **data):
    return upstream("casework", name, seq, {"case_id": CASE, "issue_id": ISSUE, **data}, CASE)


def test_a_closed_case_reopened_and_an_urgent_case_lowered_are_announced(app):
    app.process(REPORTED)
    app.process(OPENED)
    app.process(case_event("CaseRetriaged", 2, tier="routine", reason="经核实不影响安全",
                           due={"resolve_by": "2026-12-02T15:59:59Z"}))
    app.process(case_event("CaseClosed", 3, closed_at="2026-11-25T02:00:00Z"))
    app.process(case_event("CaseReopened", 4, reason="满意度低于 80%", due="2026-12-09T15:59:59Z"))
    kinds = [k for k, _ in board(app)]
    assert kinds == ["urgent_opened", "case_retriaged", "case_closed", "case_reopened"]
    assert "调整为常规类问题" in board(app)[1][1] and "2026-12-09" in board(app)[3][1]


def test_an_urgent_duplicate_merged_into_its_original_says_so_on_the_board(app):
    app.process(OPENED)
    app.process(case_event("CaseMerged", 2, into_case_id="8a4f7c62-1d2b-4c1e-9a4f-0000000000c2",
                           into_issue_id="8a4f7c62-1d2b-4c1e-9a4f-000000000002"))
    assert [k for k, _ in board(app)] == ["urgent_opened", "case_merged"]


def test_a_report_merged_as_it_came_in_is_announced_by_its_original_only(app):
    original = "8a4f7c62-1d2b-4c1e-9a4f-000000000002"
    app.process(upstream("casework", "CaseOpened", 1, OPENED.data | {"duplicate_of": original}, CASE))
    app.process(case_event("CaseMerged", 2, into_case_id="8a4f7c62-1d2b-4c1e-9a4f-0000000000c2", into_issue_id=original))
    assert board(app) == []
    assert not [e for e in recorded(app) if isinstance(e, Delivery.Requested)]  # no urgent WeChat message either


def test_a_name_staff_typed_into_a_plan_or_a_summary_never_reaches_the_board(app):
    app.process(REPORTED)
    app.process(OPENED)
    app.process(case_event("PlanProposed", 2, plan="今晚更换灯具,完成后告知欧阳娜娜", proposed_at="2026-11-23T03:00:00Z"))
    app.process(case_event("CaseResolved", 3, summary="已更换,联系王建国先生确认", resolved_at="2026-11-23T08:00:00Z"))
    bodies = [body for kind, body in board(app) if kind in ("urgent_plan", "urgent_resolved")]
    assert len(bodies) == 2 and "告知欧***" in bodies[0] and "王**先生" in bodies[1]
    everything = " ".join(e.texts[lang]["body"] + e.texts[lang]["title"] for e in recorded(app)
                          if isinstance(e, Notice.Published) for lang in ("zh", "en"))
    assert "欧阳娜娜" not in everything and "王建国" not in everything
