"""The report form as intake's body, intake's refusals back on the form, and category suggestions."""
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.portal import report
from services.portal.pages import render

SERVICES = [{"service_name": "安全隐患", "description": "安全隐患:消防通道堵塞、漏电、燃气等 (safety hazards)"},
            {"service_name": "设施维护", "description": "设施维护:路灯、楼道照明、电梯、健身器材等 (facility repair)"},
            {"service_name": "其他", "description": "其他 (other)"}]


def test_categories_and_their_examples_come_from_intakes_published_list():
    cats = report.categories(SERVICES)
    assert cats[1] == {"name": "设施维护", "examples": ["路灯", "楼道照明", "电梯", "健身器材"]}
    assert cats[2] == {"name": "其他", "examples": []}


def test_a_stairwell_light_suggests_facility_repair_and_a_blocked_exit_safety_first():
    cats = report.categories(SERVICES)
    assert report.suggest("5号楼楼道灯坏了", cats) == ["设施维护"]
    assert report.suggest("消防通道被电梯间杂物堵了", cats) == ["安全隐患", "设施维护"]
    assert report.suggest("你好", cats) == []


def test_empty_optional_fields_are_left_out_of_the_report():
    values = report.form_values({"title": " 灯坏了 ", "description": "黑", "community": "幸福里", "phone": "138"})
    assert report.payload(values) == {"channel": "online", "title": "灯坏了", "description": "黑",
                                      "location": {"community": "幸福里"}, "reporter": {"phone": "138"}}


def test_an_empty_community_is_still_sent_so_intake_names_it():
    assert report.payload(report.form_values({}))["location"] == {"community": ""}


def test_intakes_field_names_map_onto_the_forms_inputs():
    assert report.FIELD_OF["location.community"] == "community"
    assert report.FIELD_OF["reporter"] == "phone"


def test_a_form_keeps_its_idempotency_key_and_a_forged_one_is_replaced():
    key = report.idempotency_key(None)
    assert report.idempotency_key(key) == key
    assert report.idempotency_key("'; drop") != "'; drop"


def test_a_point_on_the_map_is_sent_as_numbers_and_what_is_no_number_as_typed_for_intake_to_name():
    values = report.form_values({"title": "灯坏了", "description": "黑", "community": "幸福里", "name": "张三",
                                 "lat": " 39.9042 ", "lon": "116,4074"})
    assert report.payload(values)["location"] == {"community": "幸福里", "lat": 39.9042, "lon": 116.4074}
    typed = report.payload(values | {"lat": "北纬39度", "lon": "nan"})["location"]
    assert (typed["lat"], typed["lon"]) == ("北纬39度", "nan")
    assert report.FIELD_OF["location.lat"] == "lat" and report.FIELD_OF["location.lon"] == "lon"


def test_the_report_form_offers_the_point_as_two_optional_labelled_fields():
    request = Request(EnvironBuilder(path="/report").get_environ())
    html = render(request, "report.html", values=report.form_values({}), errors={"lat": "纬度必须是-90到90之间的数字"},
                  categories=[], suggested=[], key="k").get_data(as_text=True)
    assert '<label for="lat">纬度(选填)</label>' in html and '<label for="lon">经度(选填)</label>' in html
    assert 'id="lat" name="lat" type="text" value="" maxlength="20" inputmode="decimal" aria-invalid="true" ' \
           'aria-describedby="point-hint lat-error"' in html
    assert 'href="#lat">纬度必须是' in html
