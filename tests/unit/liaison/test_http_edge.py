"""liaison's HTTP edge on the embedded store: public reads carry figures and no personal data, staff see contacts
masked, the yearly report prints, the ranking downloads as CSV, the plan's targets are measured, bad input is a
422 naming the field."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.liaison.bootstrap import SPEC
from services.liaison.service import LiaisonService
from shared.config import Settings
from shared.contracts import from_cloudevent, to_cloudevent
from shared.contracts.envelope import rfc3339
from shared.edge.http import Runtime
from shared.store.projection import catch_up
from tests.support.identity import staff
from tests.unit.liaison.conftest import SH, Clock, Intake

NOV = datetime(2026, 11, 2, 9, tzinfo=SH)
WORKER = staff("community_worker", "李娜")


@pytest.fixture
def edge(tmp_path):
    runtime = Runtime(SPEC, Settings(None, "amqp://guest:guest@127.0.0.1:1/", tmp_path / "var"))
    runtime.app.clock = Clock(NOV)
    service = LiaisonService.__new__(LiaisonService)
    service.runtime = runtime

    def call(name: str, method: str = "GET", body=None, headers=None, query=None, **kwargs):
        request = Request(EnvironBuilder(method=method, path="/", json=body, headers=headers or {},
                                         query_string=query).get_environ())
        return getattr(service, name)(request, **kwargs)

    yield runtime, call
    runtime.close()


def test_public_reads_leave_contacts_out_and_staff_see_them_masked(edge):
    runtime, call = edge
    station = json.loads(call("open_station", "POST", {"name": "幸福里联络站", "community": "幸福里", "place": "党群中心"},
                              WORKER).get_data())["station_id"]
    made = call("register_representative", "POST", {"name": "王建国", "station_id": station, "expertise": ["法律"],
                                                    "contact": {"name": "王建国", "phone": "13812345678"}}, WORKER)
    assert made.status_code == 201
    rid = json.loads(made.get_data())["representative_id"]
    public = call("representatives").get_data(as_text=True)
    assert "13812345678" not in public and "法律" in public
    shown = json.loads(call("representative", headers=WORKER, representative_id=rid).get_data())
    assert shown["contact"] == {"name": "王**", "phone": "138****5678"}
    assert call("representative", representative_id=rid).status_code == 401


def test_a_typo_is_refused_by_name(edge):
    _, call = edge
    refused = call("open_station", "POST", {"name": "联络站", "comunity": "幸福里", "place": "x"}, WORKER)
    body = json.loads(refused.get_data())
    assert refused.status_code == 422 and body["field"] == "comunity"


def test_the_yearly_report_prints_and_the_ranking_downloads_without_personal_data(edge):
    runtime, call = edge
    app = runtime.app
    station, _ = app.open_station({"name": "联络站", "community": "幸福里", "place": "党群中心"})
    rep, _ = app.register_representative({"name": "王建国", "station_id": str(station.id), "expertise": [],
                                          "contact": {"phone": "13812345678"}})
    app.record_duty(str(rep.id), {"duty": "visit", "done_at": rfc3339(NOV)})
    page = call("record", headers=WORKER, query={"year": "2026", "format": "html"}, representative_id=str(rep.id))
    assert page.content_type.startswith("text/html") and "王建国代表2026年度履职报告" in page.get_data(as_text=True)

    app.register_unit({"party": "幸福里物业", "kind": "property", "responsible": {"name": "张经理", "phone": "13911112222"}})
    app.clock.now = datetime(2026, 12, 1, 9, tzinfo=SH)
    assert call("assess", "POST", headers=staff("secretary", "刘书记"), month="2026-11").status_code == 201
    download = call("ranking", query={"format": "csv"}, month="2026-11")
    text = download.get_data(as_text=True)
    assert download.content_type.startswith("text/csv") and "张经理" not in text and "13911112222" not in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][:3] == ["1", "幸福里物业", "绿灯"]
    assert call("ranking", month="2026-13").status_code == 422


def test_the_plans_targets_are_measured_from_reception_days_and_supervision(edge):
    runtime, call = edge
    app = runtime.app
    covered, _ = app.open_station({"name": "幸福里联络站", "community": "幸福里", "place": "党群中心"})
    app.open_station({"name": "和平里联络站", "community": "和平里", "place": "居委会"})
    rep, _ = app.register_representative({"name": "王建国", "station_id": str(covered.id), "expertise": []})
    day, _ = app.schedule_reception({"station_id": str(covered.id), "representative_ids": [str(rep.id)],
                                     "starts_at": rfc3339(NOV + timedelta(days=1))})
    app.clock.advance(days=1)
    concern, _ = app.raise_concern(str(day.id), {"title": "楼道灯坏了", "description": "3号楼", "reporter": {"name": "赵"}},
                                   Intake())
    app.hold(str(day.id), {"visitors": 3})
    case_id = "0f8e4c1a-2b3d-4e5f-8a9b-000000000001"
    for n, (name, data) in enumerate([
            ("CaseOpened", {"tier": "routine", "category": "设施维护", "due": {}, "opened_at": rfc3339(NOV)}),
            ("CaseAssigned", {"party": "幸福里物业", "party_kind": "property"}),
            ("ResidentConfirmed", {"confirmed": True, "satisfaction": 5})]):
        app.process(from_cloudevent(to_cloudevent(
            "casework", name, sequence=n + 1, prevsequence=n or None, subject=case_id,
            time=NOV + timedelta(days=1, hours=6 * (n + 1)),
            data={"case_id": case_id, "issue_id": concern["issue_id"]} | data)))
    app.take_up(case_id, {"representative_id": str(rep.id), "reason": "跟踪督办"})
    app.sign_off(case_id, {"representative_id": str(rep.id), "note": "已解决", "solved": True})
    measured = json.loads(call("targets", query={"year": "2026"}).get_data())
    f = measured["figures"]
    assert (f["communities"], f["contacted"], f["contact_coverage"]) == (2, 1, 0.5)
    assert (f["concerns"], f["response_rate"], f["average_first_response_hours"]) == (1, 1.0, 12.0)
    assert (f["key_resolution_rate"], f["satisfaction_rate"]) == (1.0, 1.0)
    assert measured["met"] == {"contact_coverage": False, "response_rate": True, "key_resolution_rate": True,
                               "satisfaction_rate": True}
