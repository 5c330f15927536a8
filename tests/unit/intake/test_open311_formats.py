"""GeoReport v2's XML, as its specification's examples have it, read back by a real XML parser and by
xmltodict (what the `georeport` client parses with)."""
from xml.etree import ElementTree as ET

import xmltodict

from services.intake import open311
from services.intake.open311_formats import to_xml


def test_the_service_list_in_xml_has_one_service_element_per_service():
    root = ET.fromstring(to_xml("services", open311.services()))
    assert root.tag == "services" and [s.findtext("service_code") for s in root] == list(open311.SERVICE_CODES)
    assert root.find("service/metadata").text == "true" and root.find("service/service_name").text == "安全隐患"


def test_a_definition_lists_its_attributes_as_attribute_elements():
    parsed = xmltodict.parse(to_xml("service_definition", open311.definition("facility")))["service_definition"]
    assert parsed["service_code"] == "facility"
    assert [a["code"] for a in parsed["attributes"]["attribute"]] == ["community", "building", "unit", "title"]


def test_requests_are_request_elements_and_an_unknown_value_is_empty():
    doc = {"issue_id": "i-1", "category": "设施维护", "title": "灯坏了", "status": "open",
           "reported_at": "2026-11-23T02:00:00Z", "location": {"community": "幸福里"}, "case": {}}
    root = ET.fromstring(to_xml("service_requests", [open311.request_view(doc, extended=True)]))
    request = root.find("request")
    assert request.findtext("service_request_id") == "i-1" and request.findtext("status") == "open"
    assert request.find("media_url").text is None and request.find("extended_attributes/community").text == "幸福里"


def test_errors_and_discovery_have_their_elements():
    errors = ET.fromstring(to_xml("errors", [{"code": 400, "description": "缺少 service_code", "field": "service_code"}]))
    assert errors.find("error/code").text == "400" and errors.find("error/field").text == "service_code"
    found = xmltodict.parse(to_xml("discovery", open311.discovery("http://127.0.0.1:8001/")))["discovery"]
    endpoint = found["endpoints"]["endpoint"]
    assert endpoint["url"] == "http://127.0.0.1:8001/open311/v2" and endpoint["formats"]["format"] == [
        "application/json", "text/xml"]
