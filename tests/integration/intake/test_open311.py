"""A city system reports through Open311 GeoReport v2 and follows the request to its case, on real processes."""
import pytest
import requests

from tests.support.processes import wait_until
from tests.support.identity import http, token

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)

FORM = {"service_code": "facility", "description": "3号楼楼道灯坏了一周,张三说晚上看不见台阶,电话13812345678",
        "attribute[community]": "幸福里", "attribute[building]": "3号楼", "address_string": "3号楼2单元501",
        "first_name": "三", "last_name": "张", "phone": "13812345678", "api_key": "grid-platform"}


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
        assert "13812345678" not in text and "张三" not in text and "501" not in text
    assert requests.get(f"{base}/requests.json", params={"status": "closed"}, timeout=5).json() == []

    refused = http.post(f"{base}/requests.json", data={k: v for k, v in FORM.items() if k != "attribute[community]"},
                            timeout=5)
    assert refused.status_code == 400 and refused.json()[0]["field"] == "attribute[community]"
    assert requests.get(f"{base}/requests/8a4f7c62-1d2b-4c1e-9a4f-000000000001.json", timeout=5).status_code == 404
