"""敲门行动 as the work plan says it: twice a month per grid, special groups first, “晚七点” evening visits for
working residents; each need found is reported for the household (代办) and a special group's is lifted."""
from datetime import datetime, timedelta, timezone

import pytest

from services.casework.triage import BUILT_IN_RULES, triage
from services.intake import contacts, erasure, households, visits
from services.intake.application import IntakeApplication
from services.intake.contacts import ReporterIndex
from services.intake.households import HouseholdRegister
from services.intake.progress import progress_view
from services.intake.projections import IssueIndex, case_so_far
from services.intake.published import publish
from services.intake.visits import DoorToDoor
from shared.audit import verify_all
from shared.config import Settings
from shared.errors import Conflict, InvalidInput
from shared.store.persistence import Database
from shared.store.projection import ensure_tables

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc)  # 21:00 in Shanghai
WORKER = {"role": "community_worker", "name": "李娜", "subject": "u-li"}
ALONE = {"community": "幸福里", "building": "3", "unit": "2", "grid": "幸福里-1", "room": "502", "name": "王秀英",
         "phone": "13700001111", "groups": ["elderly_alone"], "note": "王秀英独居,女儿在外地"}
YOUNG = {"community": "幸福里", "building": "5", "grid": "幸福里-1", "name": "赵小军", "groups": ["new_resident"]}
MODELS = (IssueIndex(), ReporterIndex(), HouseholdRegister(), DoorToDoor())


@pytest.fixture
def app(tmp_path):
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), clock=lambda: NOW)
    yield app
    app.close()


@pytest.fixture
def db(app):
    db = Database("intake", app.settings)
    ensure_tables(db, list(MODELS))
    yield db
    db.close()


def project(app, db):
    with db.transaction() as tx:
        tx.run("DELETE FROM household_register")
        for table in ("visit_plans", "visits", "visit_needs", "errands", "issue_index", "reporter_index"):
            tx.run(f"DELETE FROM {table}")
        for n in app.notifications_after(0):
            for model in MODELS:
                model.apply(tx, app.domain_event(n))


def store_bytes(app) -> bytes:
    return b"".join(p.read_bytes() for p in app.settings.var_dir.glob("intake.sqlite3*"))


def test_the_register_keeps_names_phones_rooms_and_groups_sealed_and_lists_only_references(app, db):
    alone = households.register(app, ALONE, WORKER)
    project(app, db)
    for clear in ("王秀英", "13700001111", "女儿在外地"):
        assert clear.encode() not in store_bytes(app)
    assert households.listed(db, "幸福里-1", 10, 0) == [
        {"household_ref": alone.household_ref, "community": "幸福里", "building": "3", "unit": "2",
         "grid": "幸福里-1", "special": True}]
    full = households.read(app, alone.household_ref, "李娜 (u-li)", "community_worker", "敲门行动前核对")
    assert full["name"] == "王秀英" and full["groups_zh"] == ["空巢/独居老人"]
    assert contacts.access_log(db, alone.household_ref, 5, 0)[0]["purpose"] == "敲门行动前核对"


def test_a_month_needs_at_least_two_rounds_of_visits(app):
    with pytest.raises(InvalidInput) as refused:
        visits.plan(app, {"grid": "幸福里-1", "month": "2026-11", "rounds": [{"date": "2026-11-10"}]}, WORKER)
    assert refused.value.field == "rounds" and refused.value.detail_zh == "每月至少安排2次敲门行动"
    with pytest.raises(InvalidInput) as outside:
        visits.plan(app, {"grid": "幸福里-1", "month": "2026-11",
                          "rounds": [{"date": "2026-11-10"}, {"date": "2026-12-01"}]}, WORKER)
    assert outside.value.field == "rounds[1].date"
    plan = visits.plan(app, {"grid": "幸福里-1", "month": "2026-11",
                             "rounds": [{"date": "2026-11-23", "evening": True}, {"date": "2026-11-10"}]}, WORKER)
    assert plan.rounds == [{"date": "2026-11-10", "evening": False}, {"date": "2026-11-23", "evening": True}]


def test_each_need_found_is_an_issue_reported_for_the_household_with_who_reported_it(app, db):
    alone = households.register(app, ALONE, WORKER)
    visit, issues = visits.record_visit(app, {"household_ref": alone.household_ref, "needs": [
        {"title": "楼道扶手松动", "description": "王秀英说下楼时扶手晃"},
        {"title": "想参加社区助餐", "description": "行动不便,希望送餐上门", "category": "服务供给"}]}, WORKER, "visit-1")
    again, _ = visits.record_visit(app, {"household_ref": alone.household_ref, "needs": []}, WORKER, "visit-1")
    assert again.id == visit.id and len(issues) == 2  # the retry recorded nothing more

    reported = [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0))
                if p and p.name == "IssueReported"]
    assert [r.data["channel"] for r in reported] == ["visit", "visit"]
    assert reported[0].data["household_ref"] == reported[0].data["reporter_ref"] == alone.household_ref
    assert reported[0].data["special_group"] is True
    assert reported[0].data["reported_by"] == WORKER
    assert "王秀英" not in str([r.data for r in reported])  # the household is a reference, its words masked
    assert app.contact(issues[0])["name"] == "王秀英"  # sealed under the household's key

    view = progress_view(issues[0], case_so_far(db, str(issues[0].id)), None, True, app.contact(issues[0]))
    assert view["timeline"][0]["step_zh"] == "社区工作者李娜上门走访时代为反映(代办)"
    assert view["reporter"] == {"name": "王**", "phone": "137****1111"}


def test_a_special_group_households_routine_need_is_triaged_urgent_and_others_are_not():
    plain = triage("设施维护", "楼道扶手松动 维修", BUILT_IN_RULES)
    lifted = triage("设施维护", "楼道扶手松动 维修", BUILT_IN_RULES, ("special_group",))
    assert plain.tier == "routine" and lifted.tier == "urgent"
    assert "特殊群体家庭" in lifted.reason and "由常规类提为紧急类" in lifted.reason
    complex_ = triage("停车交通", "停车难", BUILT_IN_RULES, ("special_group",))
    assert complex_.tier == "complex"  # a task force's matter stays one


def test_errands_are_tracked_until_done_once(app, db):
    alone = households.register(app, ALONE, WORKER)
    errand = visits.request_errand(app, {"household_ref": alone.household_ref, "kind": "purchase",
                                         "what": "代购降压药,王秀英常用的那种"}, WORKER)
    project(app, db)
    assert [(e["kind_zh"], e["status"]) for e in visits.errands(db, "open", None)] == [("代购", "open")]
    assert "王秀英" not in visits.errands(db, None, None)[0]["what"]
    visits.complete_errand(app, str(errand.id), {"note": "已送到"}, WORKER)
    with pytest.raises(Conflict):
        visits.complete_errand(app, str(errand.id), None, WORKER)
    project(app, db)
    assert visits.errands(db, "open", None) == [] and visits.errands(db, "done", None)[0]["status"] == "done"


def test_coverage_counts_households_visited_rounds_done_evening_visits_and_open_needs(app, db):
    alone = households.register(app, ALONE, WORKER)
    households.register(app, YOUNG, WORKER)
    visits.plan(app, {"grid": "幸福里-1", "month": "2026-11",
                      "rounds": [{"date": "2026-11-10"}, {"date": "2026-11-23", "evening": True}]}, WORKER)
    visits.record_visit(app, {"household_ref": alone.household_ref, "needs": [
        {"title": "楼道扶手松动", "description": "下楼时扶手晃"}]}, WORKER)  # 21:00: an evening visit
    visits.record_visit(app, {"household_ref": alone.household_ref, "visited_at": "2026-11-10T10:00:00+08:00",
                              "needs": []}, WORKER)
    visits.request_errand(app, {"household_ref": alone.household_ref, "kind": "payment", "what": "代缴水电费"}, WORKER)
    project(app, db)
    assert visits.coverage(db, "2026-11")["grids"] == [{
        "grid": "幸福里-1", "households": 2, "special_households": 1, "visited_households": 1, "special_visited": 1,
        "visits": 2, "evening_visits": 1, "planned_rounds": 2, "planned_evening_rounds": 1, "rounds_done": 2,
        "open_needs_special": 1, "open_errands_special": 1}]


def test_an_erased_household_leaves_the_register_and_its_needs_contact_with_it(app, db):
    alone = households.register(app, ALONE, WORKER)
    _, issues = visits.record_visit(app, {"household_ref": alone.household_ref, "needs": [
        {"title": "楼道扶手松动", "description": "下楼时扶手晃"}]}, WORKER)
    project(app, db)
    erasure.erase(app, db, alone.household_ref, "request", WORKER | {"role": "secretary"})
    project(app, db)
    assert households.listed(db, None, 10, 0) == []
    assert app.contact(app.get_issue(str(issues[0].id))) is None
    with pytest.raises(contacts.Erased):
        households.read(app, alone.household_ref, "李娜 (u-li)", "community_worker", "回访")
    with pytest.raises(contacts.Erased):
        visits.record_visit(app, {"household_ref": alone.household_ref, "needs": []}, WORKER)
    assert verify_all(app)["verified"]


def test_the_hotline_desk_reports_for_a_registered_household_and_it_is_flagged_and_sealed_as_hers(app, db):
    alone = households.register(app, ALONE, WORKER)
    body, on_behalf = households.reported_for(app, {"channel": "hotline", "title": "家里水管漏水",
                                                    "description": "老人来电说厨房漏水", "household_ref":
                                                    alone.household_ref, "location": {"community": "幸福里"}}, WORKER)
    issue, _ = app.report_issue(body, on_behalf=on_behalf)
    assert issue.reporter_ref == alone.household_ref and app.contact(issue)["phone"] == "13700001111"
    data = publish(app.domain_event(app.notifications_after(0)[-2])).data  # the report, then its tracking code
    assert data["special_group"] is True and data["reported_by"]["name"] == "李娜"
    view = progress_view(issue, case_so_far(db, str(issue.id)), None, True, app.contact(issue))
    assert view["timeline"][0]["step_zh"] == "社区工作者李娜代为反映(代办)"


def test_a_household_no_longer_of_a_special_group_is_no_longer_lifted(app, db):
    young = households.register(app, YOUNG, WORKER)
    assert not young.special
    households.update(app, young.household_ref, {"groups": ["low_income"], "phone": "13600002222"}, WORKER)
    project(app, db)
    assert households.listed(db, None, 10, 0)[0]["special"] is True
    full = households.read(app, young.household_ref, "李娜 (u-li)", "community_worker", "核对")
    assert full["groups_zh"] == ["困难家庭"] and full["name"] == "赵小军" and full["phone"] == "13600002222"
    households.update(app, young.household_ref, {"groups": []}, WORKER)
    project(app, db)
    assert households.listed(db, None, 10, 0)[0]["special"] is False
