"""The event catalogue: every integration event type, its schema version and its payload schema.

Aggregate events stay private to their service; each service maps them onto these contracts at
its boundary (see `services/<name>/published.py`). A shape change bumps `version` and registers
an upcaster from the old version, so consumers keep accepting every version they have ever seen.
"""
from __future__ import annotations

import functools

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
import jsonschema

Data = dict[str, Any]
Upcaster = Callable[[Data], Data]


class ContractError(ValueError):
    """An event does not match its contract; `field` names the offending part."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Contract:
    service: str
    name: str
    version: int
    schema: Data = field(repr=False)

    @property
    def type_uri(self) -> str:
        return f"cn.yishi.{self.service}.{self.name}.v{self.version}"

    @functools.cached_property
    def _validator(self) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(self.schema)  # built once: building it costs more than a check

    @functools.cached_property
    def _check(self) -> Callable[[Data], Any]:
        # Compiled to Python: a tenth of jsonschema's cost on every publish and consume (py-spy, bench.pipeline).
        # Formats stay annotations, as in jsonschema without a format checker.
        return fastjsonschema.compile(self.schema, use_formats=False)

    def validate(self, data: Data) -> None:
        try:
            self._check(data)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema names the field
        errors = sorted(self._validator.iter_errors(data), key=str)
        if errors:
            err = errors[0]
            path = ".".join(str(p) for p in err.absolute_path)
            raise ContractError(f"{self.type_uri}: {err.message}", field=f"data.{path}" if path else "data")


class Catalogue:
    """Latest contract per (service, name) plus upcasters from every older version."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], Contract] = {}
        self._upcasters: dict[tuple[str, str, int], Upcaster] = {}

    def register(self, contract: Contract, upcasters: dict[int, Upcaster] | None = None) -> Contract:
        self._latest[(contract.service, contract.name)] = contract
        for from_version, fn in (upcasters or {}).items():
            self._upcasters[(contract.service, contract.name, from_version)] = fn
        return contract

    def get(self, service: str, name: str) -> Contract:
        try:
            return self._latest[(service, name)]
        except KeyError:
            raise ContractError(f"unknown event type {service}.{name}", field="type") from None

    def upcast(self, service: str, name: str, version: int, data: Data) -> Data:
        latest = self.get(service, name)
        if version > latest.version:
            raise ContractError(f"{service}.{name} v{version} is newer than v{latest.version}", field="type")
        while version < latest.version:
            try:
                data = self._upcasters[(service, name, version)](dict(data))
            except KeyError:
                raise ContractError(f"no upcaster for {service}.{name} v{version}", field="type") from None
            version += 1
        return data

    def __iter__(self):
        return iter(sorted(self._latest.values(), key=lambda c: (c.service, c.name)))


def _obj(required: list[str], **props: Data) -> Data:
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


def _enum(*values: str) -> Data:
    return {"type": "string", "enum": list(values)}


STR = {"type": "string", "minLength": 1}
OPT_STR = {"type": ["string", "null"]}
UUID = {"type": "string", "format": "uuid", "pattern": "^[0-9a-f-]{36}$"}
TIME = {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$"}
OPT_TIME = {"anyOf": [TIME, {"type": "null"}]}

CHANNELS = ("visit", "online", "hotline", "survey", "open311", "device", "reception")  # device: 物联网主动预警 (POST /alarms); reception: 代表接待日 (liaison)
TIERS = ("urgent", "routine", "complex")
PARTY_KINDS = ("property", "sanitation", "department", "task_force", "council")

CATALOGUE = Catalogue()
_c = CATALOGUE.register

# intake
# v2 dropped tracking_code: the code proves the resident (confirmation goes through intake), so it never
# leaves intake. The upcaster strips it from v1 messages still in queues, dead letters and old archives.
_c(Contract("intake", "IssueReported", 2, _obj(
    ["issue_id", "channel", "category", "tags", "title", "description", "location", "reporter_ref", "reported_at"],
    issue_id=UUID, channel=_enum(*CHANNELS), category=STR,
    tags={"type": "array", "items": STR}, title=STR, description={"type": "string"},
    location=_obj(["community"], community=STR, building=OPT_STR, unit=OPT_STR,
                  lat={"type": ["number", "null"]}, lon={"type": ["number", "null"]}),
    reporter_ref=STR, reported_at=TIME,
    duplicate_of=dict(UUID),  # optional: the issue this report repeats, when merged as it was reported (重复诉求合并)
    # optional, a need found on a door-to-door visit (敲门行动) reported on behalf of a household (代办): the
    # household's reference (never its name), who reported it, and whether it is of a special group (triage lifts it)
    household_ref=OPT_STR, special_group={"type": "boolean"},
    reported_by=_obj(["role", "name"], role=STR, name=STR, subject=OPT_STR),
)), upcasters={1: lambda d: {k: v for k, v in d.items() if k != "tracking_code"}})
_c(Contract("intake", "IssueMerged", 1, _obj(["issue_id", "into_issue_id"], issue_id=UUID, into_issue_id=UUID)))
_c(Contract("intake", "NeedVoted", 1, _obj(["issue_id", "votes"], issue_id=UUID,
                                           votes={"type": "integer", "minimum": 0})))
_c(Contract("intake", "ResidentAnswered", 1, _obj(
    ["issue_id", "confirmed", "satisfaction", "answered_at"], issue_id=UUID, confirmed={"type": "boolean"},
    satisfaction={"type": ["integer", "null"], "minimum": 1, "maximum": 5}, comment=OPT_STR, answered_at=TIME)))
# a city system's own tracker updated a request it follows (Open311 servicerequestupdates); text masked
_c(Contract("intake", "CityUpdateReceived", 1, _obj(
    ["issue_id", "system", "update_id", "status", "description", "updated_at"], issue_id=UUID, system=STR,
    update_id=STR, status=_enum("open", "closed"), description=STR, updated_at=TIME)))
# a resident's personal data erased (PIPL art. 47, on request or past retention): their data key destroyed
_c(Contract("intake", "ResidentErased", 1, _obj(
    ["subject_ref", "reason", "erased_at"], subject_ref=STR, reason=_enum("request", "retention"), erased_at=TIME)))

# N similar issues at one place (same category and building) within 30 days: a topic proposed to the council
_c(Contract("intake", "RecurringIssueFound", 1, _obj(
    ["place_id", "community", "building", "category", "issue_ids", "issues", "since", "found_at", "topic_title"],
    place_id=UUID, community=STR, building=STR, category=STR, issue_ids={"type": "array", "items": UUID},
    issues={"type": "integer", "minimum": 1}, since=TIME, found_at=TIME, topic_title=STR)))

# casework: every event names its case and the issue it came from (so intake can answer the resident)
_DUE = _obj([], verify_by=OPT_TIME, plan_by=OPT_TIME, resolve_by=OPT_TIME)
_ISSUE = {"issue_id": UUID}
# v2: the first dispatch (party_kind, assigned_at, acknowledge_by) rides on it, and no CaseAssigned follows for it
# (a v1 reader, whose schema forbids the new fields, would refuse it: consumers are upgraded before casework)
_c(Contract("casework", "CaseOpened", 2, _obj(
    ["case_id", "issue_id", "tier", "category", "due", "opened_at"],
    case_id=UUID, issue_id=UUID, tier=_enum(*TIERS), category=STR, due=_DUE, opened_at=TIME,
    triage_reason=OPT_STR, title=OPT_STR, community=OPT_STR, party=OPT_STR, building=OPT_STR, reporter_ref=OPT_STR,
    reported_at=TIME,  # the resident's report: the results release dates a case from it
    duplicate_of=dict(UUID),  # optional: opened already merged into this issue's case, so nothing is announced of its own
    # optional: the first dispatch (派单), in this event since a case is opened and dispatched in one step; a later
    # CaseAssigned is a reassignment. Absent for a duplicate (never dispatched) and in cases opened before.
    party_kind=_enum(*PARTY_KINDS), assigned_at=TIME, acknowledge_by=TIME,
)), upcasters={1: dict})  # a v1 CaseOpened is a v2 one without a dispatch (a CaseAssigned follows it)


def steps_of(service: str, name: str, data: Data) -> tuple[str, ...]:
    """The steps an event tells: a CaseOpened that carries its first dispatch is also that CaseAssigned."""
    if (service, name) == ("casework", "CaseOpened") and data.get("party_kind") and data.get("party"):
        return ("CaseOpened", "CaseAssigned")
    return (name,)


_c(Contract("casework", "CaseRetriaged", 1, _obj(
    ["case_id", "tier", "reason", "due"], case_id=UUID, tier=_enum(*TIERS), reason=STR, due=_DUE, **_ISSUE)))
_c(Contract("casework", "CaseAssigned", 1, _obj(
    ["case_id", "party", "party_kind"], case_id=UUID, party=STR, party_kind=_enum(*PARTY_KINDS),
    assigned_at=TIME, acknowledge_by=TIME,  # optional: the party's own 签收 clock (absent before it was kept)
    **_ISSUE)))
# the responsible party's workflow (派单): 签收, 退单 and the secretary's ruling, 延期申请 and its decision.
# None of them moves the resident's deadlines; each counts in the party's rates (GET /stats/parties).
_PARTY = {"case_id": UUID, "party": STR, **_ISSUE}
_c(Contract("casework", "CaseAcknowledged", 1, _obj(
    ["case_id", "party", "acknowledged_at"], acknowledged_at=TIME, on_time={"type": ["boolean", "null"]}, **_PARTY)))
_c(Contract("casework", "CaseReplied", 1, _obj(  # a message to the resident (回复居民), masked; party: when it wrote
    ["case_id", "text", "replied_at"], case_id=UUID, text=STR, replied_at=TIME, party=OPT_STR, **_ISSUE)))
_c(Contract("casework", "CaseAcknowledgeMissed", 1, _obj(  # the 签收 clock ran out: recorded once per dispatch
    ["case_id", "party", "acknowledge_by", "missed_at"], acknowledge_by=TIME, missed_at=TIME, **_PARTY)))
_c(Contract("casework", "CaseReturned", 1, _obj(
    ["case_id", "party", "reason", "returned_at"], reason=STR, returned_at=TIME, **_PARTY)))
_c(Contract("casework", "CaseReturnDisputed", 1, _obj(
    ["case_id", "party", "reason", "disputed_at"], reason=STR, disputed_at=TIME, **_PARTY)))
for _ruling in ("CaseReturnUpheld", "CaseReturnOverruled"):  # overruled: back to the party, a new 签收 clock
    _c(Contract("casework", _ruling, 1, _obj(
        ["case_id", "party", "reason", "ruled_at"], reason=STR, ruled_at=TIME, acknowledge_by=TIME, **_PARTY)))
_c(Contract("casework", "CaseExtensionRequested", 1, _obj(
    ["case_id", "party", "requested_due", "reason", "requested_at"], requested_due=TIME, reason=STR,
    requested_at=TIME, **_PARTY)))
for _decision in ("CaseExtensionApproved", "CaseExtensionRefused"):
    _c(Contract("casework", _decision, 1, _obj(
        ["case_id", "party", "requested_due", "reason", "decided_at"], requested_due=TIME, reason=STR,
        decided_at=TIME, **_PARTY)))
_c(Contract("casework", "SiteVerified", 1, _obj(["case_id", "verified_at"], case_id=UUID, verified_at=TIME,
                                                 note=OPT_STR, **_ISSUE)))
_c(Contract("casework", "PlanProposed", 1, _obj(
    ["case_id", "plan", "proposed_at"], case_id=UUID, plan=STR, proposed_at=TIME, due=OPT_TIME,
    owner=OPT_STR, meeting_id=OPT_STR, resolution_id=OPT_STR, **_ISSUE)))
_c(Contract("casework", "DeadlineWarned", 1, _obj(
    ["case_id", "level", "deadline", "due"], case_id=UUID, level=_enum("yellow", "red"),
    deadline=_enum("verify", "plan", "resolve"), due=TIME, tier=_enum(*TIERS), party=OPT_STR, **_ISSUE)))
_c(Contract("casework", "CaseEscalated", 1, _obj(
    ["case_id", "to", "reason"], case_id=UUID, to=_enum("secretary", "task_force", "council", "assembly"),
    reason=STR, tier=_enum(*TIERS), title=OPT_STR, category=OPT_STR, community=OPT_STR, **_ISSUE)))
_c(Contract("casework", "CaseResolved", 1, _obj(["case_id", "resolved_at"], case_id=UUID, resolved_at=TIME,
                                                 summary=OPT_STR, **_ISSUE)))
_c(Contract("casework", "ResidentConfirmed", 1, _obj(
    ["case_id", "confirmed", "satisfaction"], case_id=UUID, confirmed={"type": "boolean"},
    satisfaction={"type": ["integer", "null"], "minimum": 1, "maximum": 5},
    answered_issue_id=dict(UUID),  # whose issue answered: the case's own, or a report merged into it (absent before)
    **_ISSUE)))
_c(Contract("casework", "CaseReopened", 1, _obj(["case_id", "reason"], case_id=UUID, reason=STR, due=OPT_TIME,
                                                 **_ISSUE)))
_c(Contract("casework", "CaseMerged", 1, _obj(
    ["case_id", "into_case_id"], case_id=UUID, into_case_id=UUID, into_issue_id=UUID, **_ISSUE)))
_c(Contract("casework", "CaseClosed", 1, _obj(["case_id", "closed_at"], case_id=UUID, closed_at=TIME, **_ISSUE)))
# one item's result in the quarterly satisfaction survey (居民满意度测评); under 80 % a CaseReopened follows
_c(Contract("casework", "CaseSurveyed", 1, _obj(
    ["case_id", "period", "satisfied", "total", "surveyed_at"], case_id=UUID, period=STR,
    satisfied={"type": "integer", "minimum": 0}, total={"type": "integer", "minimum": 1}, surveyed_at=TIME, **_ISSUE)))
# a survey round as a whole (测评公开): this submission's items, satisfied out of all responses, items under 80 %
_c(Contract("casework", "SurveyRecorded", 1, _obj(
    ["period", "items", "satisfied", "total", "below_floor", "reopened", "recorded_at"], period=STR,
    **{k: {"type": "integer", "minimum": 0} for k in ("items", "satisfied", "total", "below_floor", "reopened")},
    satisfaction_rate={"type": ["number", "null"]}, recorded_at=TIME)))
# a working-day deadline recounted when the State Council's notice for a year is entered (节假日安排录入)
_c(Contract("casework", "CaseRetimed", 1, _obj(
    ["case_id", "deadline", "old_due", "due", "reason"], case_id=UUID, deadline=_enum("verify", "plan", "resolve"),
    old_due=TIME, due=TIME, reason=STR, calendar_years={"type": "array", "items": {"type": "integer"}}, **_ISSUE)))

# meetings
_TOPIC = _obj(["topic_id", "background", "draft_plan"], topic_id=STR, case_id={"anyOf": [UUID, {"type": "null"}]},
              background=STR, draft_plan=STR, title=OPT_STR)
_RESOLUTION = _obj(["resolution_id", "text", "owner", "due"], resolution_id=STR,
                   case_id={"anyOf": [UUID, {"type": "null"}]}, text=STR, owner=STR, due=TIME)
_c(Contract("meetings", "MeetingScheduled", 1, _obj(["meeting_id", "kind", "meeting_at", "place"],
                                                     meeting_id=UUID, kind=STR, meeting_at=TIME, place=STR,
                                                     title=OPT_STR)))
_c(Contract("meetings", "AgendaPublished", 1, _obj(
    ["meeting_id", "topics", "published_at", "meeting_at"], meeting_id=UUID,
    topics={"type": "array", "items": _TOPIC}, published_at=TIME, meeting_at=TIME, kind=STR, place=STR)))
# who came of the organisations invited (a unit's 联席会议出席率); people stay private
_c(Contract("meetings", "MeetingOpened", 1, _obj(
    ["meeting_id", "kind", "opened_at", "attendance"], meeting_id=UUID, kind=STR, opened_at=TIME,
    attendance={"type": "array", "items": _obj(["organisation", "present"], organisation=STR,
                                               present={"type": "boolean"})})))
_c(Contract("meetings", "MeetingCancelled", 1, _obj(
    ["meeting_id", "kind", "meeting_at", "reason", "cancelled_at"], meeting_id=UUID, kind=STR, meeting_at=TIME,
    reason=STR, cancelled_at=TIME)))
_c(Contract("meetings", "MeetingRescheduled", 1, _obj(
    ["meeting_id", "kind", "meeting_at", "previous_meeting_at", "place"], meeting_id=UUID, kind=STR, meeting_at=TIME,
    previous_meeting_at=TIME, place=STR, reason=OPT_STR)))
_c(Contract("meetings", "VoteRecorded", 1, _obj(
    ["meeting_id", "motion_id", "mode", "for", "against", "abstain", "carried"], meeting_id=UUID, motion_id=STR,
    mode=_enum("open", "secret"), carried={"type": "boolean"}, topic_id=OPT_STR, text=STR,
    **{k: {"type": "integer", "minimum": 0} for k in ("for", "against", "abstain")})))
_c(Contract("meetings", "MeetingMinuted", 1, _obj(
    ["meeting_id", "minuted_at", "resolutions", "disagreements"], meeting_id=UUID, minuted_at=TIME,
    resolutions={"type": "array", "items": _RESOLUTION}, disagreements={"type": "array", "items": STR},
    late={"type": "boolean"}, kind=STR)))
# a topic before the council that no case escalated: residents' co-signed suggestion (议题征集) or a recurring issue
_c(Contract("meetings", "TopicProposed", 1, _obj(
    ["proposal_id", "source", "title", "reason", "proposed_at"], proposal_id=UUID,
    source=_enum("suggestion", "recurring"), title=STR, reason=STR, proposed_at=TIME, category=OPT_STR)))
_c(Contract("meetings", "ResultsReleased", 1, _obj(
    ["month"], month={"type": "string", "pattern": r"^\d{4}-\d\d$"}, released_at=OPT_TIME,
    resolved={"type": "integer", "minimum": 0}, unresolved={"type": "integer", "minimum": 0})))

# notifications
_c(Contract("notifications", "NoticePublished", 1, _obj(
    ["notice_id", "channel", "about"], notice_id=STR, channel=_enum("board", "wechat", "sms", "webhook"),
    about=STR)))
_c(Contract("notifications", "DeliveryFailed", 1, _obj(
    ["delivery_id", "attempts", "error"], delivery_id=STR, attempts={"type": "integer", "minimum": 1}, error=STR,
    channel=_enum("wechat", "sms", "email", "webhook"), about=STR)))  # channel, about: optional, added later

# liaison: representatives and stations, reception days, 代表督办, co-building units' lights. No names or contacts
_c(Contract("liaison", "StationOpened", 1, _obj(
    ["station_id", "name", "community", "place", "opened_at"], station_id=UUID, name=STR, community=STR, place=STR,
    opened_at=TIME)))
_c(Contract("liaison", "RepresentativeRegistered", 1, _obj(
    ["representative_id", "station_id", "community", "expertise", "registered_at"], representative_id=UUID,
    station_id=UUID, community=STR, expertise={"type": "array", "items": STR}, registered_at=TIME)))
_c(Contract("liaison", "DutyRecorded", 1, _obj(
    ["representative_id", "duty", "done_at"], representative_id=UUID,
    duty=_enum("visit", "briefing", "survey", "report"), done_at=TIME)))
_c(Contract("liaison", "ReceptionScheduled", 1, _obj(
    ["reception_id", "station_id", "community", "title", "place", "starts_at", "representative_ids"],
    reception_id=UUID, station_id=UUID, community=STR, title=STR, place=STR, starts_at=TIME,
    representative_ids={"type": "array", "items": UUID})))
_c(Contract("liaison", "ReceptionAnnounced", 1, _obj(
    ["reception_id", "topics", "announced_at", "community", "title", "place", "starts_at"], reception_id=UUID,
    topics={"type": "array", "items": STR}, announced_at=TIME, community=STR, title=STR, place=STR,
    starts_at=TIME)))
_c(Contract("liaison", "ConcernRaised", 1, _obj(
    ["reception_id", "concern_id", "issue_id", "raised_at"], reception_id=UUID, concern_id=UUID, issue_id=UUID,
    raised_at=TIME)))
_c(Contract("liaison", "ReceptionHeld", 1, _obj(
    ["reception_id", "visitors", "held_at"], reception_id=UUID, visitors={"type": "integer", "minimum": 0},
    held_at=TIME)))
_c(Contract("liaison", "CaseSupervisionTaken", 1, _obj(
    ["case_id", "issue_id", "representative_id", "reason", "taken_at"], case_id=UUID, issue_id=UUID,
    representative_id=UUID, reason=STR, taken_at=TIME)))
_c(Contract("liaison", "CaseSupervisionSignedOff", 1, _obj(
    ["case_id", "issue_id", "representative_id", "note", "solved", "signed_off_at"], case_id=UUID, issue_id=UUID,
    representative_id=UUID, note=STR, solved={"type": "boolean"}, signed_off_at=TIME)))
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0}
_c(Contract("liaison", "UnitRegistered", 1, _obj(
    ["unit_id", "party", "kind", "registered_at"], unit_id=UUID, party=STR, kind=STR, registered_at=TIME)))
_c(Contract("liaison", "UnitLightAssessed", 1, _obj(
    ["unit_id", "month", "light", "figures", "assessed_at"], unit_id=UUID,
    month={"type": "string", "pattern": r"^\d{4}-\d\d$"}, light=_enum("green", "yellow", "red"),
    figures=_obj(["cases_due", "on_time", "overdue", "on_time_rate", "satisfaction_rate", "answers", "joint_meetings",
                  "attended", "attendance_rate"], cases_due=_COUNT, on_time=_COUNT, overdue=_COUNT, on_time_rate=_RATE,
                 satisfaction_rate=_RATE, answers=_COUNT, joint_meetings=_COUNT, attended=_COUNT,
                 attendance_rate=_RATE),
    assessed_at=TIME)))
_c(Contract("liaison", "UnitSupervised", 1, _obj(
    ["unit_id", "party", "month", "notice", "supervised_at"], unit_id=UUID, party=STR,
    month={"type": "string", "pattern": r"^\d{4}-\d\d$"}, notice=STR, supervised_at=TIME)))

# liaison's two lists (资源清单, 供需匹配) and projects (项目清单); a volunteer's offer names nobody
_c(Contract("liaison", "ResourceOffered", 1, _obj(
    ["resource_id", "offered_by", "offerer_id", "category", "title", "area", "capacity", "offered_at"],
    resource_id=UUID, offered_by=_enum("unit", "representative", "volunteer"),
    offerer_id={"anyOf": [UUID, {"type": "null"}]}, category=STR, title=STR, area=STR, capacity={"type": "integer", "minimum": 1}, offered_at=TIME)))
_c(Contract("liaison", "ResourceWithdrawn", 1, _obj(["resource_id", "withdrawn_at"], resource_id=UUID,
                                                     withdrawn_at=TIME)))
_c(Contract("liaison", "MatchProposed", 1, _obj(
    ["match_id", "case_id", "resource_id", "proposed_at"], match_id=UUID, case_id=UUID, resource_id=UUID,
    proposed_at=TIME)))
_c(Contract("liaison", "MatchDecided", 1, _obj(
    ["match_id", "case_id", "resource_id", "decision", "decided_at"], match_id=UUID, case_id=UUID, resource_id=UUID,
    decision=_enum("confirmed", "rejected"), decided_at=TIME)))
_c(Contract("liaison", "ProjectStarted", 1, _obj(
    ["project_id", "title", "case_ids", "match_ids", "owner", "due", "started_at"], project_id=UUID, title=STR,
    case_ids={"type": "array", "items": UUID}, match_ids={"type": "array", "items": UUID}, owner=STR, due=TIME,
    started_at=TIME)))
_c(Contract("liaison", "ProjectWarned", 1, _obj(
    ["project_id", "level", "due", "warned_at"], project_id=UUID, level=_enum("yellow", "red"), due=TIME,
    warned_at=TIME)))
_c(Contract("liaison", "ProjectCompleted", 1, _obj(
    ["project_id", "late", "completed_at"], project_id=UUID, late={"type": "boolean"}, completed_at=TIME)))

# every service: the checkpoints of its audit chains (shared/ops/checkpoints.py), so subscribers hold them
for _service in ("intake", "casework", "meetings", "notifications", "liaison"):
    _c(Contract(_service, "AuditCheckpointed", 1, _obj(
        ["position", "events", "aggregates", "digest", "checkpointed_at"], position={"type": "integer", "minimum": 1},
        events={"type": "integer", "minimum": 1}, aggregates={"type": "integer", "minimum": 0},
        digest={"type": "string", "pattern": "^[0-9a-f]{64}$"}, checkpointed_at=TIME)))
