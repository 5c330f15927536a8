"""Open311 GeoReport v2: a city system's request becomes intake's report, and a report its request."""
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from tests.support.factories import unreadable_seal
from services.intake import open311
from services.intake.boundaries import Boundaries, parse
from services.intake.progress import CaseSoFar
from services.intake.domain import CATEGORIES, Issue
from services.intake.requests import parse_report
from shared.errors import Conflict, InvalidInput

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
FORM = {"service_code": "facility", "description": "3号楼楼道灯坏了一周,晚上看不见台阶", "attribute[community]": "幸福里",
        "attribute[building]": "3号楼", "address_string": "3号楼2单元501", "first_name": "三", "last_name": "张",
        "phone": "13812345678", "lat": "30.66", "long": "104.06"}
NONE = Boundaries()
# two communities side by side (GeoJSON: longitude first), as an operator configures them
BOUNDARIES = parse("""{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"community": "幸福里", "jurisdiction_id": "xingfuli"},
   "geometry": {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.7], [104.0, 30.6]]]}},
  {"type": "Feature", "properties": {"community": "和平里"},
   "geometry": {"type": "Polygon", "coordinates": [[[104.1, 30.6], [104.2, 30.6], [104.2, 30.7], [104.1, 30.7], [104.1, 30.6]]]}}
]}""", default="默认社区")


def test_every_category_is_a_service_with_the_community_attribute_first():
    assert [s["service_name"] for s in open311.services()] == list(CATEGORIES)
    community = open311.definition("parking")["attributes"][0]
    assert community["code"] == "community" and community["required"] is False  # jurisdiction or point will do


def test_a_request_becomes_a_valid_report_keeping_personal_data_in_the_private_fields():
    report = parse_report(open311.report_payload(FORM, NONE), NOW)
    assert report.channel == "open311" and report.category == "设施维护"
    assert report.title == "3号楼楼道灯坏了一周,晚上看不见台阶"
    assert report.reporter == {"name": "张三", "phone": "13812345678"}
    assert report.room == "3号楼2单元501" and report.location["lat"] == 30.66 and report.location["lon"] == 104.06


@pytest.mark.parametrize("field, value", [("service_code", "pothole"), ("service_code", None),
                                          ("description", " "), ("attribute[community]", None), ("lat", "north")])
def test_a_bad_request_is_refused_naming_the_geo_report_field(field, value):
    form = {k: v for k, v in FORM.items() if k != field} | ({field: value} if value is not None else {})
    with pytest.raises(InvalidInput) as refused:
        open311.report_payload(form, NONE)
    assert refused.value.field == field


def test_a_request_shows_open_until_the_case_is_closed_and_carries_no_personal_data():
    doc = {"issue_id": "i-1", "category": "设施维护", "title": "3号楼楼道灯坏了", "status": "resolved",
           "reported_at": "2026-11-23T02:00:00Z", "updated_at": "2026-11-24T02:00:00Z", "step_zh": "已办结,待您确认",
           "location": {"community": "幸福里", "building": "3号楼"},
           "case": {"party": "物业服务企业", "due": {"resolve_by": "2026-12-02T15:59:59Z"}}}
    view = open311.request_view(doc)
    assert view["status"] == "open" and view["service_code"] == "facility"
    assert view["expected_datetime"] == "2026-12-02T15:59:59Z" and view["agency_responsible"] == "物业服务企业"
    assert view["address"] == "幸福里3号楼" and "501" not in str(view)
    assert open311.request_view(doc | {"status": "closed"})["status"] == "closed"
    assert open311.request_view(doc | {"status": "merged"})["status"] == "closed"


def test_a_request_read_from_the_aggregate_reads_as_from_the_index():
    issue = Issue.report_new(uuid4(), parse_report(open311.report_payload(FORM, NONE), NOW), NOW, "rp-0000000000000001",
                             unreadable_seal("rp-0000000000000001"))
    case = CaseSoFar()
    case.step("CaseOpened", {"case_id": "c-1", "issue_id": str(issue.id), "tier": "routine",
                             "due": {"resolve_by": "2026-12-02T15:59:59Z"}}, NOW + timedelta(minutes=1))
    view = open311.request_view(open311.doc_of(issue, case))
    assert view["expected_datetime"] == "2026-12-02T15:59:59Z" and view["status_notes"] == "已立案分级"
    assert view["updated_datetime"] == "2026-11-23T02:01:00Z" and "13812345678" not in view["description"]


WITHOUT_COMMUNITY = {k: v for k, v in FORM.items() if k != "attribute[community]"}


@pytest.mark.parametrize("extra, community", [
    ({"attribute[community]": "明月里", "jurisdiction_id": "xingfuli"}, "明月里"),  # the attribute first
    ({"jurisdiction_id": "xingfuli", "lat": "30.65", "long": "104.15"}, "幸福里"),  # then the jurisdiction
    ({"jurisdiction_id": "和平里"}, "和平里"),  # a jurisdiction_id may be the community's own name
    ({"jurisdiction_id": "cn.beijing.12345", "lat": "30.65", "long": "104.15"}, "和平里"),  # then the point
    ({"lat": "30.65", "long": "104.05"}, "幸福里"),
    ({"lat": "39.9", "long": "116.4"}, "默认社区"),  # outside every boundary: the deployment's default
])
def test_the_community_comes_from_the_attribute_the_jurisdiction_the_point_or_the_default(extra, community):
    form = {k: v for k, v in WITHOUT_COMMUNITY.items() if k not in ("lat", "long")} | extra
    assert open311.report_payload(form, BOUNDARIES)["location"]["community"] == community


def test_a_request_with_no_way_to_place_it_is_refused_naming_the_attribute():
    with pytest.raises(InvalidInput) as refused:
        open311.report_payload(WITHOUT_COMMUNITY | {"jurisdiction_id": "unknown"}, NONE)
    assert refused.value.field == "attribute[community]"


def test_a_reporter_known_only_by_e_mail_is_accepted_and_a_bad_e_mail_refused():
    form = {k: v for k, v in FORM.items() if k not in ("first_name", "last_name", "phone")} | {"email": "li@example.cn"}
    assert parse_report(open311.report_payload(form, NONE), NOW).reporter == {"email": "li@example.cn"}
    with pytest.raises(InvalidInput) as refused:
        parse_report(open311.report_payload(form | {"email": "not-an-address"}, NONE), NOW)
    assert refused.value.field == "reporter.email"


@pytest.mark.parametrize("args, expected", [({}, (1000, 0)), ({"page": "3", "page_size": "50"}, (50, 100))])
def test_pages_count_from_one(args, expected):
    assert open311.paging(args) == expected


@pytest.mark.parametrize("name, value", [("page", "0"), ("page_size", "1001"), ("page", "x")])
def test_a_bad_page_is_refused_by_name(name, value):
    with pytest.raises(InvalidInput) as refused:
        open311.paging({name: value})
    assert refused.value.field == name


def test_extended_attributes_only_when_asked_and_without_personal_data():
    doc = {"issue_id": "i-1", "category": "设施维护", "title": "灯坏了", "status": "open", "case_id": "c-1",
           "reported_at": "2026-11-23T02:00:00Z", "location": {"community": "幸福里", "building": "3号楼"},
           "case": {"tier": "routine", "party": "物业服务企业", "due": {"resolve_by": "2026-12-02T15:59:59Z"}}}
    assert "extended_attributes" not in open311.request_view(doc)
    extended = open311.request_view(doc, extended=True)["extended_attributes"]
    assert extended["tier"] == "routine" and extended["case_id"] == "c-1" and extended["community"] == "幸福里"


def test_several_service_codes_comma_delimited():
    assert open311.codes("facility,parking") == ("设施维护", "停车交通") and open311.codes(None) == ()
    with pytest.raises(InvalidInput):
        open311.codes("facility,pothole")


def test_boundaries_that_are_no_feature_collection_are_refused_by_setting():
    with pytest.raises(InvalidInput) as refused:
        parse('{"type": "Feature"}')
    assert refused.value.field == "YISHI_COMMUNITY_BOUNDARIES"


def _reported() -> Issue:
    return Issue.report_new(uuid4(), parse_report(open311.report_payload(FORM, NONE), NOW), NOW, "rp-0000000000000001",
                            unreadable_seal("rp-0000000000000001"))


def test_a_city_update_is_taken_once_per_update_id_and_its_text_masked():
    issue = _reported()
    request_id, update = open311.update_of({"service_request_id": str(issue.id), "update_id": "u-1", "status": "open",
                                            "description": "已联系张先生13812345678", "email": "a@b.cn"})
    assert request_id == str(issue.id) and update.updated_at is None
    assert issue.take_city_update("12345", update, NOW) is True
    assert issue.take_city_update("12345", update, NOW) is False  # the same update again
    assert issue.take_city_update("网格平台", update, NOW) is True  # another system's u-1 is another update
    recorded = [e for e in issue.collect_events() if isinstance(e, Issue.CityUpdated)]
    assert len(recorded) == 2 and "13812345678" not in recorded[0].description
    with pytest.raises(Conflict) as refused:
        issue.take_city_update("12345", open311.update_of({"service_request_id": str(issue.id), "update_id": "u-1",
                                                           "status": "closed", "description": "已办结"})[1], NOW)
    assert refused.value.field == "update_id" and refused.value.status == 409


@pytest.mark.parametrize("field, form", [
    ("status", {"status": "done"}), ("description", {"description": " "}), ("update_id", {"update_id": ""}),
    ("updated_datetime", {"updated_datetime": "2026-12-02 10:00"}), ("phone", {"phone": "13812345678"})])
def test_a_bad_city_update_is_refused_naming_its_field(field, form):
    good = {"service_request_id": str(uuid4()), "update_id": "u-1", "status": "open", "description": "已派单"}
    with pytest.raises(InvalidInput) as refused:
        open311.update_of(good | form)
    assert refused.value.field == field
