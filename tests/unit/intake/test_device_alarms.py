"""Intake from devices and city systems (物联网主动预警): an alarm is one report however often it is sent, a burst
from one device makes one issue, and what an alarm kind means (category, urgency) is data."""
from datetime import datetime, timedelta, timezone

import pytest

from services.casework.triage import BUILT_IN_RULES, triage
from services.intake.alarms import BURST_WINDOW, receive_alarm
from services.intake.application import IntakeApplication
from services.intake.published import publish
from shared.config import Settings
from shared.errors import InvalidInput

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def intake(tmp_path):
    now = [NOW]
    app = IntakeApplication(Settings(None, "", tmp_path / "var"), env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            clock=lambda: now[0])
    yield app, now
    app.close()


def alarm(alarm_id: str, kind: str = "smoke", device: str = "SD-0301", at: datetime = NOW) -> dict:
    return {"device_id": device, "alarm_id": alarm_id, "kind": kind, "occurred_at": at.isoformat(),
            "location": {"community": "幸福里", "building": "3", "unit": "2"}}


def send(app, body: dict, status: dict | None = None, system: str = "smoke-platform") -> dict:
    return receive_alarm(app, lambda issue_id: (status or {}).get(issue_id), lambda draft: [], system,
                         "烟感监测平台", body)


def reports(app) -> list:
    return [p for p in (publish(app.domain_event(n)) for n in app.notifications_after(0)) if p
            and p.name == "IssueReported"]


def test_the_same_alarm_sent_again_is_the_same_report(intake):
    app, _ = intake
    first = send(app, alarm("A-1"))
    again = send(app, alarm("A-1"))
    assert first["outcome"] == "opened" and again == first | {"outcome": "duplicate"}
    assert len(reports(app)) == 1


def test_a_burst_from_one_device_makes_one_issue_and_counts_every_alarm(intake):
    app, now = intake
    opened = send(app, alarm("A-1"))
    for n in range(2, 50):
        now[0] = NOW + timedelta(minutes=n)
        joined = send(app, alarm(f"A-{n}", at=now[0]))
        assert joined["outcome"] == "joined" and joined["issue_id"] == opened["issue_id"]
    assert joined["alarms"] == 49 and len(reports(app)) == 1


def test_another_device_or_a_settled_issue_or_a_quiet_device_opens_a_new_report(intake):
    app, now = intake
    first = send(app, alarm("A-1"))
    assert send(app, alarm("B-1", device="SD-0302"))["outcome"] == "opened"
    now[0] = NOW + timedelta(minutes=10)
    after_repair = send(app, alarm("A-2", at=now[0]), status={first["issue_id"]: "resolved"})
    assert after_repair["outcome"] == "opened" and after_repair["issue_id"] != first["issue_id"]
    now[0] += BURST_WINDOW
    assert send(app, alarm("A-3", at=now[0]))["outcome"] == "opened"
    assert send(app, alarm("A-1"), system="lift-platform")["outcome"] == "opened"  # ids are per system
    assert len(reports(app)) == 5


def test_an_alarm_kind_maps_to_its_category_and_an_urgent_one_is_triaged_urgent(intake):
    app, _ = intake
    send(app, alarm("S-1"))
    send(app, alarm("W-1", kind="water_pressure", device="WP-7"))
    smoke, water = (p.data for p in reports(app))
    assert (smoke["channel"], smoke["category"], water["category"]) == ("device", "安全隐患", "设施维护")
    text = lambda d: " ".join([d["title"], d["description"], *d["tags"]])  # as casework triages it
    assert triage(smoke["category"], text(smoke), BUILT_IN_RULES).tier == "urgent"
    assert triage(water["category"], text(water), BUILT_IN_RULES).tier == "routine"
    assert smoke["location"] == {"community": "幸福里", "building": "3", "unit": "2", "lat": None, "lon": None}


@pytest.mark.parametrize("change, field", [({"kind": "earthquake"}, "kind"), ({"device_id": ""}, "device_id"),
                                           ({"occurred_at": "yesterday"}, "occurred_at"), ({"room": "502"}, "room"),
                                           ({"location": None}, "location"),
                                           ({"location": {"community": "幸福里", "lat": 200}}, "location.lat")])
def test_a_bad_alarm_is_refused_naming_the_field(intake, change, field):
    app, _ = intake
    with pytest.raises(InvalidInput) as refused:
        send(app, alarm("X-1") | change)
    assert refused.value.field == field
    assert app.notifications_after(0) == []  # nothing half-written
