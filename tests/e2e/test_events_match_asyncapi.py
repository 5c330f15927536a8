"""What the services publish on the wire is what docs/asyncapi.yaml promises: a city system bound with `#` to every
events exchange receives a month's lifecycle (reports, a duplicate, a vote, a case closed, one reopened) and
each message validates against its AsyncAPI message (payload and CloudEvent envelope) — issue 14."""
import json

import jsonschema
import pytest
import requests
import yaml
from kombu import Connection, Exchange, Queue

from shared.ops.docs import ASYNCAPI
from shared.runtime.spec import built_services
from tests.support.identity import http, staff
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def report(title: str, building: str, phone: str) -> dict:
    return {"channel": "online", "category": "设施维护", "title": title, "description": "晚上很黑",
            "location": {"community": "幸福里", "building": building}, "reporter": {"name": "张三", "phone": phone}}


@pytest.fixture
def city_archive(settings):
    with Connection(settings.amqp_uri) as conn:
        queues = [Queue(f"city-archive-{s}", Exchange(f"{s}.events", "topic", durable=True), routing_key="#")
                  for s in built_services()]
        for q in queues:
            q(conn.default_channel).declare()
        received: list[dict] = []

        def drain() -> list[dict]:
            for q in queues:
                while (m := q(conn.default_channel).get(no_ack=True)) is not None:
                    received.append(json.loads(m.body))
            return received
        yield drain


def validator_for(doc: dict, message: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**doc, "$ref": f"#/components/messages/{message}/payload"})


def test_every_event_on_the_wire_matches_its_asyncapi_message(system, city_archive):
    for service in ("intake", "casework", "notifications"):
        system.start(service, "web")
        system.start(service, "worker")
    intake, casework = system.web("intake").url, system.web("casework").url
    happy = requests.post(f"{intake}/issues", json=report("3号楼楼道灯坏了", "3", "13812345678"), timeout=10).json()
    unhappy = requests.post(f"{intake}/issues", json=report("7号楼垃圾没人清运", "7", "13912345678"), timeout=10).json()
    wait_until(lambda: requests.get(f"{intake}/issues", timeout=5).json()["issues"], message="the first report indexed")
    repeated = requests.post(f"{intake}/issues", json=report("3号楼楼道灯坏了,晚上很黑", "3", "13712345678"), timeout=10)
    assert repeated.json()["merged_into"] == happy["issue_id"]  # a duplicate: IssueMerged
    requests.post(f"{intake}/issues/{happy['issue_id']}/votes", json={"voter": "resident-9"}, timeout=10)
    for created, confirmed in ((happy, True), (unhappy, False)):
        case = wait_until(lambda: requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()["case"],
                          message="the case opened")
        http.post(f"{casework}/cases/{case['case_id']}/resolution", json={"summary": "已处理"}, timeout=10,
                  headers=staff("property", "王师傅")).raise_for_status()
        wait_until(lambda: requests.get(f"{intake}/issues/{created['tracking_code']}", timeout=5).json()["status"]
                   == "resolved", message="intake hears the resolution")
        body = {"confirmed": confirmed, "satisfaction": 5 if confirmed else 1}
        assert requests.post(f"{intake}/issues/{created['tracking_code']}/confirmation", json=body,
                             timeout=10).status_code == 202

    # no CaseAssigned: a case is opened and dispatched in one CaseOpened; a reassignment is not in this lifecycle
    wanted = {"IssueReported", "IssueMerged", "NeedVoted", "ResidentAnswered", "CaseOpened",
              "CaseResolved", "ResidentConfirmed", "CaseClosed", "CaseReopened"}
    def names() -> set[str]:
        return {e["type"].split(".")[3] for e in city_archive()}
    try:
        wait_until(lambda: wanted <= names(), timeout=60, message="the lifecycle's events on the wire")
    except AssertionError:
        raise AssertionError(f"missing {wanted - names()}") from None
    received = city_archive()
    doc = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    for event in received:
        _, _, service, name, _ = event["type"].split(".")
        errors = sorted(validator_for(doc, f"{service}.{name}").iter_errors(event), key=str)
        assert not errors, f"{event['type']}: {errors[0].message}"
    assert "13812345678" not in json.dumps(received, ensure_ascii=False) and "张三" not in json.dumps(received,
                                                                                                   ensure_ascii=False)
