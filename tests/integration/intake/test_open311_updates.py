"""A city system's own tracker updates the request it raised (Open311 servicerequestupdates), on real processes:
`open` is a reply on the resident's timeline, `closed` resolves the case (the resident still confirms it); the
same update twice is one effect, another under a used id is refused."""
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.support.identity import token
from tests.support.processes import wait_until

FORM = {"service_code": "facility", "description": "5号楼路灯不亮", "attribute[community]": "幸福里",
        "attribute[building]": "5号楼", "phone": "13812345678"}


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_a_city_trackers_updates_reach_the_case_and_the_resident(system):
    for service in ("intake", "casework"):
        system.start(service, "web")
        system.start(service, "worker")
    intake = system.web("intake").url
    base = f"{intake}/open311/v2"
    key = token("city_system", "12345热线")
    created = requests.post(f"{base}/requests.json", data=FORM | {"api_key": key}, timeout=5).json()[0]
    request_id, code = created["service_request_id"], created["tracking_code"]

    def timeline() -> list[dict]:
        return requests.get(f"{intake}/issues/{code}", timeout=5).json()["timeline"]
    wait_until(lambda: any(t.get("step") == "CaseOpened" for t in timeline()), message="the case is open")

    note = {"service_request_id": request_id, "update_id": "u-1", "status": "open",
            "description": "已派单至市政路灯所,预计明日维修", "api_key": key}
    assert requests.post(f"{base}/servicerequestupdates.json", data=note | {"api_key": "nobody"},
                         timeout=5).status_code == 401
    first = requests.post(f"{base}/servicerequestupdates.json", data=note, timeout=5)
    again = requests.post(f"{base}/servicerequestupdates.json", data=note, timeout=5)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and first.json()[0]["service_request_id"] == request_id
    other = requests.post(f"{base}/servicerequestupdates.json", data=note | {"description": "改了"}, timeout=5)
    assert other.status_code == 409 and other.json()[0]["field"] == "update_id"
    bad = requests.post(f"{base}/servicerequestupdates.json", data=note | {"status": "done", "update_id": "u-9"},
                        timeout=5)
    assert bad.status_code == 400 and bad.json()[0]["field"] == "status"

    wait_until(lambda: any(t.get("step") == "CaseReplied" and "已派单至市政路灯所" in str(t) for t in timeline()),
               message="the city's note is on the resident's timeline")
    done = requests.post(f"{base}/servicerequestupdates.xml", data={
        "service_request_id": request_id, "update_id": "u-2", "status": "closed", "description": "已更换灯泡,恢复照明",
        "updated_datetime": "2026-12-02T10:00:00+08:00", "api_key": key}, timeout=5)
    assert done.status_code == 201 and done.headers["Content-Type"].startswith("text/xml")
    receipt = ET.fromstring(done.content)
    assert receipt.tag == "service_request_updates" and receipt.find("request_update/update_id").text
    wait_until(lambda: requests.get(f"{intake}/issues/{code}", timeout=5).json()["status"] == "resolved",
               message="the case is resolved, awaiting the resident's confirmation")
    steps = [t.get("step") for t in timeline()]
    assert steps.count("CaseReplied") == 1 and "CaseResolved" in steps
    assert requests.get(f"{base}/requests/{request_id}.json", timeout=5).json()[0]["status"] == "open"
