"""代表进社区: the register of representatives and stations (每社区至少1个联络站), and reception days
(每月"代表接待日"): announced beforehand with the topics residents asked for (点单式), each concern an issue."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.liaison.published import publish
from services.liaison.projections import board_receptions, list_receptions, list_representatives, list_stations
from shared.contracts import CATALOGUE, to_cloudevent
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, InvalidInput
from tests.unit.liaison.conftest import Intake


def published(app) -> list:
    """Liaison's log as the relay publishes it, each validated against its contract."""
    out = []
    for n in app.notifications_after(0, 1000):
        p = publish(app.domain_event(n))
        if p is not None:
            CATALOGUE.get("liaison", p.name).validate(p.data)
            to_cloudevent("liaison", p.name, sequence=n.id, prevsequence=None, subject=p.subject, time=p.time,
                          data=p.data)
            out.append(p)
    return out


def test_a_representatives_contact_stays_private_in_events_and_public_lists(app, station, representative,
                                                                          project, db):
    project()
    [listed] = list_representatives(db, station)
    assert listed["expertise"] == ["法律", "物业管理"] and listed["community"] == "幸福里"
    assert "contact" not in listed
    text = json.dumps([p.data for p in published(app)], ensure_ascii=False)
    assert "13812345678" not in text and "王建国" not in text
    assert [p.name for p in published(app)] == ["StationOpened", "RepresentativeRegistered"]


def test_every_community_has_its_station_listed(app, project, db):
    app.open_station({"name": "和平里联络站", "community": "和平里", "place": "和平里社区居委会"})
    app.open_station({"name": "幸福里联络站", "community": "幸福里", "place": "党群服务中心"})
    project()
    assert {s["community"] for s in list_stations(db, None)} == {"和平里", "幸福里"}
    assert [s["name"] for s in list_stations(db, "和平里")] == ["和平里联络站"]


def test_a_representative_serves_a_station_that_exists(app):
    with pytest.raises(InvalidInput) as refused:
        app.register_representative({"name": "李华", "station_id": "0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a00",
                                     "expertise": []})
    assert refused.value.field == "station_id"


def test_registering_again_with_the_same_key_is_the_same_representative(app, station):
    body = {"name": "李华", "station_id": station, "expertise": ["医疗"]}
    first, created = app.register_representative(body, key="rep-1")
    again, created_again = app.register_representative(body, key="rep-1")
    assert (created, created_again) == (True, False) and again.id == first.id
    with pytest.raises(Conflict):
        app.register_representative(body | {"name": "李明"}, key="rep-1")


def schedule(app, station, representative, clock, days: int = 10) -> str:
    reception, _ = app.schedule_reception({"station_id": station, "representative_ids": [representative],
                                           "starts_at": rfc3339(clock() + timedelta(days=days))})
    return str(reception.id)


def test_a_reception_day_is_announced_at_least_three_days_ahead_with_the_topics_residents_asked(
        app, station, representative, clock, project, db):
    rid = schedule(app, station, representative, clock, days=10)
    app.request_topic(rid, {"topic": "3号楼电梯加装进度"})
    app.request_topic(rid, {"topic": "小区停车难"})
    app.book(rid)
    clock.advance(days=8)  # two days before: too late to announce
    with pytest.raises(Conflict) as late:
        app.announce(rid)
    assert late.value.field == "starts_at" and "提前3天" in late.value.detail_zh

    rid2 = schedule(app, station, representative, clock, days=5)
    app.request_topic(rid2, {"topic": "垃圾分类"})
    app.announce(rid2)
    project()
    [board] = board_receptions(db, rfc3339(clock()))
    assert board["reception_id"] == rid2 and board["topics"] == ["垃圾分类"]
    announced = [p for p in published(app) if p.name == "ReceptionAnnounced"]
    assert announced[0].data["topics"] == ["垃圾分类"]


def test_each_concern_becomes_an_issue_through_intake_on_the_reception_channel(app, station, representative,
                                                                             clock, project, db):
    intake = Intake()
    rid = schedule(app, station, representative, clock, days=5)
    concern = {"title": "楼道堆放杂物", "description": "5号楼消防通道被杂物堵塞", "category": "安全隐患",
               "location": {"building": "5"}, "reporter": {"name": "赵敏", "phone": "13900001111"}}
    with pytest.raises(Conflict):  # before the day begins
        app.raise_concern(rid, concern, intake, key="c1")
    assert intake.reports == {}

    clock.advance(days=5)
    made, created = app.raise_concern(rid, concern, intake, key="c1")
    again, created_again = app.raise_concern(rid, concern, intake, key="c1")
    assert created and not created_again and again == made and made["tracking_code"]
    [(key, report)] = intake.reports.items()
    assert report["channel"] == "reception" and report["location"] == {"community": "幸福里", "building": "5"}

    app.hold(rid, {"visitors": 12, "summary": "接待群众12人次"})
    with pytest.raises(Conflict):
        app.raise_concern(rid, concern | {"title": "又一件"}, intake, key="c2")
    project()
    [held] = list_receptions(db, station, "held")
    assert held["visitors"] == 12 and [c["issue_id"] for c in held["concerns"]] == [made["issue_id"]]
    events = published(app)
    raised = [p for p in events if p.name == "ConcernRaised"]
    assert [p.data["issue_id"] for p in raised] == [made["issue_id"]]
    text = json.dumps([p.data for p in events], ensure_ascii=False)
    assert "赵敏" not in text and "13900001111" not in text and made["tracking_code"] not in text


def test_a_day_held_counts_no_fewer_visitors_than_concerns(app, station, representative, clock):
    rid = schedule(app, station, representative, clock, days=4)
    clock.advance(days=4)
    app.raise_concern(rid, {"title": "路灯不亮", "description": "东门路灯坏了", "reporter": {"name": "钱"}},
                      Intake())
    with pytest.raises(InvalidInput) as refused:
        app.hold(rid, {"visitors": 0})
    assert refused.value.field == "visitors"
