"""The demand map over HTTP on the real processes, RabbitMQ and PostgreSQL: building level for anyone, units
for staff, GeoJSON; and three repairs at one building proposing a council topic on intake.events."""
import json

import pytest
import requests
from kombu import Connection, Exchange, Queue

from tests.support.factories import report
from tests.support.identity import staff
from tests.support.processes import wait_until

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


@pytest.fixture
def proposals(settings):
    """An outside system's queue on intake.events for the proposals, declared before anything is published."""
    with Connection(settings.amqp_uri) as conn:
        queue = Queue("council-topics", Exchange("intake.events", "topic", durable=True),
                      routing_key="RecurringIssueFound")
        queue(conn.default_channel).declare()
        received = []

        def drain():
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                received.append(json.loads(message.body))
            return received

        yield drain


def repair(title: str, unit: str, point: tuple[float, float]) -> dict:
    return report(title=title, description=f"7号楼{title}", location={"community": "幸福里", "building": "7", "unit": unit, "room": "502",
                                                "lat": point[0], "lon": point[1]})


def test_three_repairs_at_one_building_are_on_the_map_and_propose_a_council_topic(system, proposals):
    system.env["YISHI_TICK_INTERVAL"] = "0.3"
    system.start("intake", "worker")
    web = system.start("intake", "web").url
    # three different repairs (not one lamp reported three times: that would be merged, one issue)
    for title, unit, point in (("路灯不亮", "1", (31.2301, 121.4701)), ("电梯故障", "2", (31.2302, 121.4702)),
                               ("门禁损坏", "3", (31.2303, 121.4703))):
        created = requests.post(f"{web}/issues", json=repair(title, unit, point), timeout=5)
        assert created.status_code == 201, created.text

    def mapped(**params):
        body = requests.get(f"{web}/reports/demand-map", params=params, timeout=5).json()
        return body if body.get("issues") == 3 else None
    public = wait_until(mapped, message="the index has the three reports")
    (building,) = public["buildings"]
    assert (building["building"], building["issues"], building["open"]) == ("7", 3, 3)
    assert building["point"] == {"lat": 31.23, "lon": 121.47}  # no finer than the building (public_point)
    assert "units" not in building and "502" not in json.dumps(public, ensure_ascii=False)
    for_staff = requests.get(f"{web}/reports/demand-map", headers=staff("community_worker", "李娜"), timeout=5).json()
    assert for_staff["buildings"][0]["units"] == {"1": 1, "2": 1, "3": 1}
    geo = requests.get(f"{web}/reports/demand-map", params={"format": "geojson"}, timeout=5)
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert geo.json()["features"][0]["geometry"] == {"type": "Point", "coordinates": [121.47, 31.23]}
    bad = requests.get(f"{web}/reports/demand-map", params={"format": "kml"}, timeout=5)
    assert bad.status_code == 422 and bad.json()["field"] == "format"

    found = wait_until(lambda: proposals(), timeout=30, message="the recurring issue is proposed")
    assert found[0]["data"]["issues"] == 3 and found[0]["data"]["category"] == "设施维护"
    assert "建议提交议事会协商" in found[0]["data"]["topic_title"]
