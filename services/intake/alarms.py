"""Intake from devices and city systems (物联网主动预警): a smoke sensor, a lift, a water-pressure meter reports
before a resident has to — "变被动响应为主动预警".

Each system signs in with its own credential (a `city_system` token: its subject names the system). An alarm
is known by (system, device, alarm id): the same alarm sent again is the same report. A burst from one device
makes one case, not hundreds: while the device's issue is open and its last alarm is recent, further alarms
join it (counted) instead of reporting anew. What an alarm kind means — category, title, urgency — is data
(`ALARM_RULES`); an urgent kind carries `URGENT_MARK` in its text, which casework's triage rule
`urgent-device-alarm` reads (casework decides tiers; intake only says what the device saw).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from pydantic import Field

from services.intake.domain import SHANGHAI, issue_id_for
from services.intake.requests import Location, parse_report
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, InvalidInput
from shared.models import Body, Moment, Text

NAMESPACE = UUID("2d6b9f3e-4a1c-4e8b-b5d7-9c0e1f2a3b46")
BURST_WINDOW = timedelta(hours=6)  # alarms this close to the device's last one join its open issue
URGENT_MARK = "设备报警·紧急"
SETTLED = ("resolved", "closed", "merged")  # a device's issue no longer collecting its alarms
# a burst contends on one device's aggregate: each lost save means another alarm was saved, so a burst of N
# concurrent alarms needs at most N attempts; beyond this many the system answers 409 (the device retries)
CLAIM_ATTEMPTS = 50


@dataclass(frozen=True)
class AlarmRule:
    category: str
    title: str
    urgent: bool


ALARM_RULES: dict[str, AlarmRule] = {
    "smoke": AlarmRule("安全隐患", "烟感报警(疑似冒烟起火)", True),
    "gas_leak": AlarmRule("安全隐患", "燃气泄漏报警", True),
    "fire_hydrant_pressure": AlarmRule("安全隐患", "消防栓水压不足报警", True),
    "lift_trapped": AlarmRule("设施维护", "电梯困人报警", True),
    "lift_fault": AlarmRule("设施维护", "电梯故障报警", False),
    "water_pressure": AlarmRule("设施维护", "供水压力异常报警", False),
    "water_leak": AlarmRule("设施维护", "漏水报警", False),
    "manhole_cover": AlarmRule("安全隐患", "井盖位移报警", True),
}


def device_id_for(system: str, device_id: str) -> UUID:
    return uuid5(NAMESPACE, f"{system}\x00{device_id}")


def issue_key(system: str, device_id: str, alarm_id: str) -> str:
    """The Idempotency-Key of the report an alarm opens: the same alarm always names the same issue."""
    return f"alarm:{system}:{device_id}:{alarm_id}"


class DeviceAlarms(Aggregate):
    """One device of one system: which issue its alarms go to, and which alarm ids it has sent."""

    @event("Registered")
    def __init__(self, id: UUID, system: str, device_id: str):
        self.system, self.device_id = system, device_id
        self.issue_id: str | None = None
        self.opened_by: str | None = None  # the alarm id that opened the current issue
        self.last_at: datetime | None = None
        self.alarms: dict[str, str] = {}  # alarm id -> issue id

    def bursting(self, at: datetime, issue_status: str | None) -> bool:
        return (self.issue_id is not None and issue_status not in SETTLED and self.last_at is not None
                and at - self.last_at < BURST_WINDOW)

    @event("AlarmOpened")
    def open_issue(self, alarm_id: str, issue_id: str, at: datetime) -> None:
        self.issue_id, self.opened_by, self.last_at = issue_id, alarm_id, at
        self.alarms[alarm_id] = issue_id

    @event("AlarmJoined")
    def join(self, alarm_id: str, issue_id: str, at: datetime) -> None:
        """Counted on the open issue: the case it made already answers for it."""
        self.last_at = at
        self.alarms[alarm_id] = issue_id

    def count(self, issue_id: str) -> int:
        return sum(1 for i in self.alarms.values() if i == issue_id)


class Alarm(Body):
    """An IoT alarm from a city system (物联网设备): it opens a report, or joins the open one of its device."""
    example = {"system_name": "智慧消防平台", "device_id": "SMK-3-2-01", "alarm_id": "A20261203-0001", "kind": "smoke",
               "location": {"community": "幸福里", "building": "3", "unit": "2"},
               "occurred_at": "2026-12-03T02:14:00+08:00", "detail": "3号楼2单元楼道烟感"}
    system_name: Text[30, "系统名称"] | None = None
    device_id: Text[64, "设备编号"]
    alarm_id: Text[64, "报警编号"]
    kind: Literal[tuple(ALARM_RULES)] = Field(title="报警类型")
    location: Location = Field(title="设备位置")
    occurred_at: Moment["报警时间"]
    detail: Text[500, "设备说明"] | None = None


def parse_alarm(payload: Any, now: datetime) -> dict[str, Any]:
    alarm = Alarm.parse(payload)
    if alarm.occurred_at > now + timedelta(minutes=5):  # required: a resent alarm must describe the same report
        raise InvalidInput("occurred_at is in the future", "occurred_at", "报警时间不能晚于当前时间")
    return alarm.model_dump() | {"location": payload["location"]}  # the report checks the place again, as sent


def report_for(alarm: dict[str, Any], system_name: str) -> dict[str, Any]:
    """The report an alarm opens, in the words of `ALARM_RULES` (a report like any other from here on)."""
    rule = ALARM_RULES[alarm["kind"]]
    local = alarm["occurred_at"].astimezone(SHANGHAI)
    text = (f"{system_name}自动报警:{rule.title}。设备编号 {alarm['device_id']},报警编号 {alarm['alarm_id']},"
            f"报警时间 {local:%Y-%m-%d %H:%M}。" + (f"【{URGENT_MARK}】" if rule.urgent else "")
            + (f" 设备说明:{alarm['detail']}" if alarm["detail"] else ""))
    return {"channel": "device", "title": rule.title, "description": text, "category": rule.category,
            "location": alarm["location"], "reporter": {"name": system_name[:30]},
            "reported_at": rfc3339(alarm["occurred_at"])}


def receive_alarm(app: Any, status_of: Any, candidates: Any, system: str, system_name: str,
                  payload: Any) -> dict[str, Any]:
    """Take one alarm. `status_of(issue_id)`: the issue's case status as intake knows it; `candidates`: the open
    issues a new report may repeat (another device, or a resident, may have reported the same thing).
    Returns {issue_id, outcome: opened|duplicate|joined, alarms}; a report is made only when one opens."""
    now = app.clock()
    alarm = parse_alarm(payload, now)
    report = report_for(alarm, alarm["system_name"] or system_name)
    parse_report(report, now)  # every field checked before the device's claim is saved: nothing half-written
    device_uuid = device_id_for(system, alarm["device_id"])
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            device = app.repository.get(device_uuid)
        except AggregateNotFoundError:
            device = DeviceAlarms(id=device_uuid, system=system, device_id=alarm["device_id"])
        seen = device.alarms.get(alarm["alarm_id"])
        if seen is not None:
            outcome, issue_id = "duplicate", seen
            break
        if device.bursting(alarm["occurred_at"], status_of(device.issue_id)):
            outcome, issue_id = "joined", device.issue_id
            device.join(alarm["alarm_id"], issue_id, alarm["occurred_at"])
        else:
            outcome = "opened"
            issue_id = str(issue_id_for(issue_key(system, alarm["device_id"], alarm["alarm_id"])))
            device.open_issue(alarm["alarm_id"], issue_id, alarm["occurred_at"])
        try:
            app.save(device)  # claimed first: an alarm racing this one joins the issue instead of opening another
            break
        except IntegrityError:
            if attempt == CLAIM_ATTEMPTS - 1:
                raise Conflict("the device's alarms are arriving faster than they can be counted; send again",
                               "alarm_id", "该设备报警过于密集,请稍后重发") from None
    if outcome == "opened" or (outcome == "duplicate" and device.opened_by == alarm["alarm_id"]):
        # made (again: a no-op once made) under the opening alarm's key, so a crash after the claim heals
        app.report_issue(report, idempotency_key=issue_key(system, alarm["device_id"], alarm["alarm_id"]),
                         candidates=candidates)
    return {"issue_id": issue_id, "outcome": outcome, "alarms": device.count(issue_id)}
