"""双清单 and 项目清单: units, representatives and volunteers offer resources (kind, capacity, area, availability);
a new need, or a group of similar needs, is matched by category and area; staff confirm or reject, and the share
confirmed is the match accuracy (需求匹配准确率); grouped needs and confirmed resources become a project with an
owner, a deadline and its own yellow/red clock."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from services.liaison.projections import list_matches, list_projects, list_resources, match_accuracy
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, InvalidInput
from tests.unit.liaison.conftest import SH
from tests.unit.liaison.test_register_and_reception_days import published

NOV = datetime(2026, 11, 2, 9, tzinfo=SH)


def opened(casework, n: int, category: str = "养老服务", community: str = "幸福里") -> str:
    cid = f"0f8e4c1a-2b3d-4e5f-8a9b-{n:012d}"
    casework.send("CaseOpened", NOV, case_id=cid, issue_id=f"1a2b4c1a-2b3d-4e5f-8a9b-{n:012d}", tier="routine",
                  category=category, community=community, due={}, opened_at=rfc3339(NOV))
    return cid


@pytest.fixture
def meals(app, project) -> str:
    """A volunteer team's meal delivery for two elderly residents in 幸福里."""
    resource, _ = app.offer_resource({"offered_by": "volunteer", "category": "养老服务", "title": "志愿者助餐送餐",
                                      "area": "幸福里", "capacity": 2, "availability": "工作日午间"})
    project()
    return str(resource.id)


def test_a_new_need_is_matched_with_resources_of_its_category_in_its_area(app, casework, meals, project, db):
    elderly = opened(casework, 1)
    opened(casework, 2, category="停车交通")
    opened(casework, 3, community="和平里")
    project()
    [match] = list_matches(db, None, "proposed")
    assert match["case_id"] == elderly and match["resource_id"] == meals
    assert match["reasons"] == ["分类相同:养老服务", "同一区域:幸福里"]


def test_a_group_of_similar_needs_is_matched_once_per_pair(app, casework, project, db):
    first, second = opened(casework, 1), opened(casework, 2)  # before anything is on offer
    app.offer_resource({"offered_by": "volunteer", "category": "养老服务", "title": "助餐", "area": "幸福里"})
    project()
    assert len(app.propose_matches({"case_ids": [first, second]})) == 2
    assert app.propose_matches({"case_ids": [first, second]}) == []
    with pytest.raises(InvalidInput) as unknown:
        app.propose_matches({"case_ids": ["0f8e4c1a-2b3d-4e5f-8a9b-999999999999"]})
    assert unknown.value.field == "case_ids[0]"


def test_confirmed_matches_use_up_a_resource_and_decisions_measure_the_accuracy(app, casework, meals, project, db):
    cases = [opened(casework, n) for n in range(3)]
    project()
    ids = {m["case_id"]: m["match_id"] for m in list_matches(db, None, "proposed")}
    app.decide_match(ids[cases[0]], {"confirmed": True})
    app.decide_match(ids[cases[1]], {"confirmed": True})
    with pytest.raises(Conflict):  # the capacity of two is used up
        app.decide_match(ids[cases[2]], {"confirmed": True})
    app.decide_match(ids[cases[2]], {"confirmed": False, "note": "资源已满"})
    with pytest.raises(Conflict):
        app.decide_match(ids[cases[2]], {"confirmed": True})
    project()
    assert [r["status"] for r in list_resources(db, None)] == ["used_up"]
    assert match_accuracy(db) == {"proposed": 3, "confirmed": 2, "rejected": 1, "accuracy": 0.6667}


def test_a_volunteers_offer_names_nobody_and_a_withdrawn_resource_is_not_proposed(app, casework, meals, project,
                                                                                 db):
    with pytest.raises(InvalidInput) as named:
        app.offer_resource({"offered_by": "volunteer", "offerer_id": "0f8e4c1a-2b3d-4e5f-8a9b-000000000001",
                            "category": "养老服务", "title": "助餐", "area": "幸福里"})
    assert named.value.field == "offerer_id"
    app.withdraw_resource(meals)
    project()
    opened(casework, 1)
    project()
    assert list_matches(db, None, None) == []
    offered = [p.data for p in published(app) if p.name == "ResourceOffered"]
    assert offered[0]["offerer_id"] is None


def test_a_project_runs_on_its_own_clock_yellow_then_red(app, casework, meals, project, db, clock):
    cases = [opened(casework, n) for n in range(2)]
    project()
    mids = [m["match_id"] for m in list_matches(db, None, "proposed")]
    with pytest.raises(InvalidInput) as unconfirmed:
        app.start_project({"title": "长者助餐点", "case_ids": cases, "match_ids": mids, "owner": "幸福里居委会",
                           "due": "2026-11-30"})
    assert unconfirmed.value.field == "match_ids[0]"
    for mid in mids:
        app.decide_match(mid, {"confirmed": True})
    started, _ = app.start_project({"title": "长者助餐点", "case_ids": cases, "match_ids": mids, "owner": "幸福里居委会",
                                    "due": "2026-11-30"})
    project()
    assert app.watch_projects() == 0  # green: four weeks to go
    clock.now = datetime(2026, 11, 25, 9, tzinfo=SH)
    assert app.watch_projects() == 1 and app.watch_projects() == 0  # yellow, once
    clock.now = datetime(2026, 12, 1, 9, tzinfo=SH)
    assert app.watch_projects() == 1  # red: past the end of 30 November
    app.complete_project(str(started.id), {"summary": "助餐点已开放"})
    project()
    [doc] = list_projects(db, rfc3339(datetime(2026, 11, 1, tzinfo=SH)), rfc3339(datetime(2026, 12, 1, tzinfo=SH)))
    assert doc["warned"] == ["yellow", "red"] and doc["late"] is True and doc["status"] == "completed"
    warned = [p.data["level"] for p in published(app) if p.name == "ProjectWarned"]
    assert warned == ["yellow", "red"]
    assert "幸福里居委会" in json.dumps(doc, ensure_ascii=False)  # an owner is an office, not a person
