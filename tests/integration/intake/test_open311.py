"""A city system reports through Open311 GeoReport v2 and follows the request to its case, on real processes."""
import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http, token


FORM = {"service_code": "facility", "description": "3号楼楼道灯坏了一周,张三说晚上看不见台阶,电话13812345678",
        "attribute[community]": "幸福里", "attribute[building]": "3号楼", "address_string": "3号楼2单元501",
        "first_name": "三", "last_name": "张", "phone": "13812345678", "api_key": "grid-platform"}


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_a_geo_report_request_becomes_a_case_and_is_followed_without_personal_data(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    base = f"{system.web('intake').url}/open311/v2"

    services = requests.get(f"{base}/services.json", timeout=5).json()
    assert {"service_code": "facility", "service_name": "设施维护"}.items() <= services[1].items()

    assert requests.post(f"{base}/requests.json", data=FORM, timeout=5).status_code == 401  # not a city system's key
    created = requests.post(f"{base}/requests.json", data=FORM | {"api_key": token("city_system", "网格平台")}, timeout=5)
    assert created.status_code == 201
    request_id = created.json()[0]["service_request_id"]
    assert created.json()[0]["tracking_code"] in created.json()[0]["service_notice"]

    def followed() -> dict:
        return requests.get(f"{base}/requests/{request_id}.json", timeout=5).json()[0]
    seen = wait_until(lambda: (r := followed())["expected_datetime"] and r, message="the request shows its case's due date")
    assert seen["status"] == "open" and seen["service_code"] == "facility" and seen["agency_responsible"] != "社区居民议事会"
    assert seen["address"] == "幸福里3号楼"
    listed = requests.get(f"{base}/requests.json", params={"status": "open", "service_code": "facility"}, timeout=5).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    for text in (str(seen), str(listed)):
        # the room as sent ("2单元501"), not the digits alone: a timestamp's microseconds may hold 501
        assert "13812345678" not in text and "张三" not in text and "单元501" not in text and "2单元" not in text
    assert requests.get(f"{base}/requests.json", params={"status": "closed"}, timeout=5).json() == []

    refused = http.post(f"{base}/requests.json", data={k: v for k, v in FORM.items() if k != "attribute[community]"},
                            timeout=5)
    assert refused.status_code == 400 and refused.json()[0]["field"] == "attribute[community]"
    assert requests.get(f"{base}/requests/8a4f7c62-1d2b-4c1e-9a4f-000000000001.json", timeout=5).status_code == 404


BOUNDARIES = """{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"community": "幸福里", "jurisdiction_id": "xingfuli"},
   "geometry": {"type": "Polygon", "coordinates": [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.7], [104.0, 30.6]]]}},
  {"type": "Feature", "properties": {"community": "和平里"},
   "geometry": {"type": "Polygon", "coordinates": [[[104.1, 30.6], [104.2, 30.6], [104.2, 30.7], [104.1, 30.7], [104.1, 30.6]]]}}
]}"""


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_generic_geo_report_client_speaks_json_and_xml_and_places_requests_without_a_community(system, settings):
    from xml.etree import ElementTree as ET
    from georeport import GeoReport

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    (settings.var_dir / "communities.geojson").write_text(BOUNDARIES, encoding="utf-8")
    system.env["YISHI_DEFAULT_COMMUNITY"] = "明月里"
    system.start("intake", "web")
    system.start("intake", "worker")
    root = f"{system.web('intake').url}/open311/v2"
    key = token("city_system", "网格平台")
    base = {"service_code": "facility", "description": "路灯不亮", "email": "grid@example.cn", "api_key": key}
    placed = {}
    for label, extra in (("jurisdiction", {"jurisdiction_id": "xingfuli"}), ("point", {"lat": "30.65", "long": "104.15"}),
                         ("default", {})):
        answer = requests.post(f"{root}/requests.xml", data=base | extra | {"description": f"路灯不亮({label})"}, timeout=5)
        assert answer.status_code == 201 and answer.headers["Content-Type"].startswith("text/xml")
        placed[label] = ET.fromstring(answer.content).findtext("request/service_request_id")

    for fmt in ("json", "xml"):
        client = GeoReport(root, jurisdiction="xingfuli", output_format=fmt)
        services = client.get_service_list()
        assert [s["service_code"] for s in services][:2] == ["safety", "facility"]
        assert client.get_service_definition("facility")["service_code"] == "facility"
        seen = wait_until(lambda: len(client.get_service_requests(service_code="facility")) == 3 and
                          client.get_service_requests(service_code="facility"), message=f"three requests listed ({fmt})")
        assert {r["service_request_id"] for r in seen} == set(placed.values())
        one = client.get_service_request(placed["point"])
        one = one[0] if isinstance(one, list) else one
        assert one["address"] == "和平里" and one["status"] == "open"

    extended = requests.get(f"{root}/requests.json", params={"extensions": "true"}, timeout=5).json()
    assert {r["extended_attributes"]["community"] for r in extended} == {"幸福里", "和平里", "明月里"}
    assert "grid@example.cn" not in str(extended)
    pages = [requests.get(f"{root}/requests.json", params={"page": p, "page_size": 2}, timeout=5).json() for p in (1, 2)]
    assert [len(p) for p in pages] == [2, 1] and {r["service_request_id"] for p in pages for r in p} == set(placed.values())

    discovery = ET.fromstring(requests.get(f"{system.web('intake').url}/open311/discovery.xml", timeout=5).content)
    assert discovery.findtext("endpoints/endpoint/url") == root
    refused = requests.post(f"{root}/requests.xml", data=base | {"service_code": "pothole"}, timeout=5)
    assert refused.status_code == 400 and ET.fromstring(refused.content).findtext("error/field") == "service_code"
    anonymous = requests.post(f"{root}/requests.xml", data={k: v for k, v in base.items() if k != "api_key"}, timeout=5)
    assert anonymous.status_code == 401 and ET.fromstring(anonymous.content).tag == "errors"
