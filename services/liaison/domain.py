"""Liaison domain: representatives (人大代表) and their liaison stations (联络站), reception days (代表接待日),
a representative's supervision of a case (代表督办), and the co-building units whose work gets a monthly light
(共建单位红黄绿灯). Pure rules: no framework, no store.

Personal data: a representative's contact and a unit's responsible person live only in this service's own
store; they never leave it in an event (published.py) and are masked on every output.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.liaison.rules import ANNOUNCE_AHEAD, SHANGHAI
from shared.errors import Conflict, InvalidInput
from shared.idempotency import replayed

NAMESPACE = UUID("8a51c0de-3f4e-4b7a-9c2d-6e1f0a9b8c73")


def new_id(kind: str, key: str | None) -> UUID:
    """A client's Idempotency-Key always names the same new aggregate of a kind."""
    return uuid5(NAMESPACE, f"{kind}:{key}") if key else uuid4()


def supervision_id_for(case_id: str) -> UUID:
    """One supervision per case: a second representative joins nobody's, they are refused."""
    return uuid5(NAMESPACE, f"supervision:{case_id}")


def unit_id_for(party: str) -> UUID:
    """A unit is named as casework's assignments and meetings' participants name it: one unit per name."""
    return uuid5(NAMESPACE, f"unit:{party}")


def concern_id_for(reception_id: UUID, key: str | None) -> UUID:
    return uuid5(NAMESPACE, f"concern:{reception_id}:{key}") if key else uuid4()


def assessment_key(unit_id: UUID, month: str) -> str:
    return f"{unit_id}:{month}"


class Remembering(Aggregate):
    """An aggregate that remembers each Idempotency-Key's request (in its `keys`), so a retry returns what the
    first made."""

    def earlier(self, key: str | None, digest: str) -> Any:
        seen = self.__dict__.setdefault("keys", {}).get(key) if key else None
        if seen is None:
            return None
        replayed(seen[0], digest)
        return seen[1]

    def remember(self, key: str | None, digest: str, ref: Any) -> None:
        if key:
            self._remembered(key, digest, ref)

    @event("Remembered")
    def _remembered(self, key: str, digest: str, ref: Any) -> None:
        self.__dict__.setdefault("keys", {})[key] = [digest, ref]


class Station(Remembering):
    """A liaison station (代表联络站): each community has at least one; representatives receive residents there."""

    @event("Opened")
    def __init__(self, id: UUID, name: str, community: str, place: str, opened_at: datetime):
        self.name, self.community, self.place, self.opened_at = name, community, place, opened_at


class Representative(Remembering):
    """A people's congress representative serving a station: expertise (专业特长) for matching, contact private."""

    @event("Registered")
    def __init__(self, id: UUID, name: str, contact: dict[str, str], expertise: list[str], station_id: str,
                 community: str, registered_at: datetime):
        self.name, self.contact, self.expertise = name, dict(contact), list(expertise)
        self.station_id, self.community, self.registered_at = station_id, community, registered_at
        self.duties: list[dict[str, Any]] = []

    def record_duty(self, duty: str, done_at: datetime, note: str, recorded_at: datetime) -> None:
        """One of the 五个一 done (a visit, a briefing, a survey, a yearly report; hard problems come from
        supervised cases solved)."""
        self._duty(duty, done_at, note, recorded_at)

    @event("DutyRecorded")
    def _duty(self, duty: str, done_at: datetime, note: str, recorded_at: datetime) -> None:
        self.duties.append({"duty": duty, "done_at": done_at, "note": note})


class Reception(Remembering):
    """A reception day (代表接待日) at a station: scheduled, announced with the topics residents asked for
    (点单式), held; its visitors counted and each concern handed to intake as an issue."""

    @event("Scheduled")
    def __init__(self, id: UUID, station_id: str, community: str, representative_ids: list[str], starts_at: datetime,
                 place: str, title: str, scheduled_at: datetime):
        self.station_id, self.community, self.place, self.title = station_id, community, place, title
        self.representative_ids, self.starts_at = list(representative_ids), starts_at
        self.topics: list[dict[str, Any]] = []
        self.bookings = 0
        self.announced_at: datetime | None = None
        self.visitors = 0
        self.concerns: list[dict[str, Any]] = []
        self.held_at: datetime | None = None

    @property
    def status(self) -> str:
        return "held" if self.held_at else "announced" if self.announced_at else "scheduled"

    def request_topic(self, topic: str, at: datetime) -> None:
        """A resident asks for a topic (点单): before the reception is held."""
        self._open_for("topic")
        self._topic(topic, at)

    @event("TopicRequested")
    def _topic(self, topic: str, at: datetime) -> None:
        self.topics.append({"topic": topic, "requested_at": at})

    def book(self, at: datetime) -> int:
        """A resident books a place (they may also just come); counted, no name kept."""
        self._open_for("booking")
        self._booked(at)
        return self.bookings

    @event("Booked")
    def _booked(self, at: datetime) -> None:
        self.bookings += 1

    def announce(self, now: datetime) -> None:
        """Announce on the board with the topics asked so far, at least ANNOUNCE_AHEAD before it starts."""
        if self.announced_at is not None:
            raise Conflict("this reception day is already announced", "reception_id", "该接待日已公示")
        if self.starts_at - now < ANNOUNCE_AHEAD:
            days = ANNOUNCE_AHEAD.days
            raise Conflict(f"a reception day is announced at least {days} days before it starts", "starts_at",
                           f"代表接待日须至少提前{days}天公示活动主题和时间")
        self._announced([t["topic"] for t in self.topics], now, self.community, self.title, self.place,
                        self.starts_at)

    @event("Announced")
    def _announced(self, topics: list[str], announced_at: datetime, community: str, title: str, place: str,
                   starts_at: datetime) -> None:
        """Carries what the board says (community, title, place, time), so a notice needs no other event."""
        self.announced_at = announced_at

    def raise_concern(self, concern_id: str, issue_id: str, title: str, category: str | None, at: datetime) -> None:
        """A visitor's concern, already an issue in intake (`issue_id`): it follows the normal lifecycle there."""
        self.check_concern(at)
        self._concern(concern_id, issue_id, title, category, at)

    def check_concern(self, at: datetime) -> None:
        """Concerns are recorded while the day is on: from its start until it is recorded as held."""
        if self.held_at is not None:
            raise Conflict("this reception day is closed; report further concerns through intake", "reception_id",
                           "该接待日已结束,其他诉求请通过社区诉求渠道反映")
        if at < self.starts_at:
            raise Conflict("concerns are recorded once the reception day has begun", "reception_id",
                           "接待日开始后方可记录群众诉求")

    @event("ConcernRaised")
    def _concern(self, concern_id: str, issue_id: str, title: str, category: str | None, at: datetime) -> None:
        self.concerns.append({"concern_id": concern_id, "issue_id": issue_id, "title": title, "category": category,
                              "raised_at": at})

    def hold(self, visitors: int, summary: str, at: datetime) -> None:
        """Close the day with the number of residents received (每次接待的来访人数)."""
        if self.held_at is not None:
            raise Conflict("this reception day is already recorded as held", "reception_id", "该接待日已记录")
        if at < self.starts_at:
            raise Conflict("a reception day is recorded as held once it has begun", "reception_id",
                           "接待日尚未开始")
        if visitors < len(self.concerns):
            raise InvalidInput("visitors cannot be fewer than the concerns recorded", "visitors",
                               "来访人数不能少于已记录的诉求数")
        self._held(visitors, summary, at)

    @event("Held")
    def _held(self, visitors: int, summary: str, held_at: datetime) -> None:
        self.visitors, self.summary, self.held_at = visitors, summary, held_at

    def _open_for(self, what: str) -> None:
        if self.held_at is not None:
            raise Conflict(f"this reception day is over: no more {what}s", "reception_id", "该接待日已结束")


class Supervision(Remembering):
    """A representative supervises a case (代表督办): receives its alerts until they sign it off with a note."""

    @event("Taken")
    def __init__(self, id: UUID, case_id: str, issue_id: str, representative_id: str, reason: str,
                 taken_at: datetime):
        self.case_id, self.issue_id, self.representative_id = case_id, issue_id, representative_id
        self.reason, self.taken_at = reason, taken_at
        self.alerts: list[dict[str, Any]] = []
        self.signed_off: dict[str, Any] | None = None

    def check_takeable(self, representative_id: str) -> None:
        """Taken already: by the same representative it is a retry's answer; by another, a conflict."""
        if self.representative_id != representative_id:
            raise Conflict("another representative already supervises this case", "case_id",
                           "该案件已由其他代表督办")

    def alert(self, kind: str, detail: dict[str, Any], event_id: str, at: datetime) -> None:
        """casework's alert about the case reaches the representative (once per upstream event)."""
        if self.signed_off is None and all(a["event_id"] != event_id for a in self.alerts):
            self._alert(kind, dict(detail), event_id, at)

    @event("AlertReceived")
    def _alert(self, kind: str, detail: dict[str, Any], event_id: str, at: datetime) -> None:
        self.alerts.append({"kind": kind, "detail": detail, "event_id": event_id, "at": at})

    def sign_off(self, representative_id: str, note: str, solved: bool, at: datetime) -> None:
        if representative_id != self.representative_id:
            raise Conflict("only the supervising representative signs off", "representative_id",
                           "只有督办代表本人可以结束督办")
        if self.signed_off is not None:
            raise Conflict("this supervision is already signed off", "case_id", "该案件的督办已结束")
        self._signed_off(self.case_id, self.issue_id, self.representative_id, note, solved, at)

    @event("SignedOff")
    def _signed_off(self, case_id: str, issue_id: str, representative_id: str, note: str, solved: bool,
                    signed_off_at: datetime) -> None:
        self.signed_off = {"note": note, "solved": solved, "at": signed_off_at}


class Unit(Remembering):
    """A co-building unit (共建单位: 物业, 环卫, 职能部门, 学校, 派出所 …), named as casework's assignments name the
    party, with its responsible person (private). It attends joint meetings and gets a light each month."""

    @event("Registered")
    def __init__(self, id: UUID, party: str, kind: str, responsible: dict[str, str], registered_at: datetime):
        self.party, self.kind, self.responsible, self.registered_at = party, kind, dict(responsible), registered_at
        self.attendance: list[dict[str, Any]] = []
        self.lights: dict[str, dict[str, Any]] = {}

    def record_attendance(self, meeting_id: str, meeting_at: datetime, present: bool) -> None:
        """联席会议出席: whether the unit came to one joint meeting (the last word per meeting counts)."""
        self._attended(meeting_id, meeting_at, present)

    @event("AttendanceRecorded")
    def _attended(self, meeting_id: str, meeting_at: datetime, present: bool) -> None:
        self.attendance = [a for a in self.attendance if a["meeting_id"] != meeting_id]
        self.attendance.append({"meeting_id": meeting_id, "meeting_at": meeting_at, "present": present})

    def assess(self, month: str, light: str, figures: dict[str, Any], notice: str | None, at: datetime) -> bool:
        """The month's light (once per month: later figures do not relight a published month). A red light is
        supervised: the 督办 notice to the unit's head is recorded with it."""
        if month in self.lights:
            return False
        self._assessed(month, light, dict(figures), at)
        if light == "red" and notice:
            self._supervised(month, notice, at, self.party)
        return True

    @event("LightAssessed")
    def _assessed(self, month: str, light: str, figures: dict[str, Any], assessed_at: datetime) -> None:
        self.lights[month] = {"light": light, "figures": figures, "assessed_at": assessed_at}

    @event("Supervised")
    def _supervised(self, month: str, notice: str, supervised_at: datetime, party: str) -> None:
        self.lights[month]["notice"] = notice


def local_month(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m}"


class Resource(Remembering):
    """An offer on the resources list (资源清单): a unit, a representative or a volunteer offers help of a category in
    an area, with a capacity (how many needs it can meet) and when it is available. Withdrawn, or used up."""

    @event("Offered")
    def __init__(self, id: UUID, offered_by: str, offerer_id: str | None, category: str, title: str, area: str,
                 capacity: int, availability: str, offered_at: datetime):
        self.offered_by, self.offerer_id, self.category, self.title = offered_by, offerer_id, category, title
        self.area, self.capacity, self.availability, self.offered_at = area, capacity, availability, offered_at
        self.used = 0
        self.withdrawn_at: datetime | None = None

    @property
    def status(self) -> str:
        return "withdrawn" if self.withdrawn_at else "used_up" if self.used >= self.capacity else "available"

    def check_available(self, field: str) -> None:
        if self.status != "available":
            raise Conflict(f"this resource is {self.status.replace('_', ' ')}", field,
                           "该资源已撤回" if self.withdrawn_at else "该资源已用完")

    def use(self, match_id: str, at: datetime) -> None:
        """A confirmed match takes one of its capacity."""
        self.check_available("resource_id")
        self._used(match_id, at)

    @event("Used")
    def _used(self, match_id: str, at: datetime) -> None:
        self.used += 1

    def withdraw(self, at: datetime) -> None:
        if self.withdrawn_at is not None:
            raise Conflict("this resource is already withdrawn", "resource_id", "该资源已撤回")
        self._withdrawn(at)

    @event("Withdrawn")
    def _withdrawn(self, at: datetime) -> None:
        self.withdrawn_at = at


def shelf_id_for(category: str, area: str) -> UUID:
    return uuid5(NAMESPACE, f"shelf:{category}:{area}")


class Shelf(Aggregate):
    """The resources available for one category in one area: what a new need is matched against, decided on
    liaison's own events (never on a read model that may lag or be rebuilt)."""

    @event("Opened")
    def __init__(self, id: UUID, category: str, area: str):
        self.category, self.area = category, area
        self.available: list[str] = []

    def stock(self, resource_id: str) -> None:
        if resource_id not in self.available:
            self._stocked(resource_id)

    @event("Stocked")
    def _stocked(self, resource_id: str) -> None:
        self.available.append(resource_id)

    def clear(self, resource_id: str) -> None:
        """Withdrawn or used up: no longer proposed."""
        if resource_id in self.available:
            self._cleared(resource_id)

    @event("Cleared")
    def _cleared(self, resource_id: str) -> None:
        self.available.remove(resource_id)


def match_id_for(case_id: str, resource_id: str) -> UUID:
    """A resource is proposed for a need once, however often matching runs."""
    return uuid5(NAMESPACE, f"match:{case_id}:{resource_id}")


class Match(Remembering):
    """A proposed pairing of a need (a case) with a resource (供需匹配), which staff confirm or reject: the
    share confirmed is the match accuracy the plan measures (需求匹配准确率)."""

    @event("Proposed")
    def __init__(self, id: UUID, case_id: str, resource_id: str, reasons: list[str], proposed_at: datetime):
        self.case_id, self.resource_id, self.reasons, self.proposed_at = case_id, resource_id, list(reasons), proposed_at
        self.decision: str | None = None

    def decide(self, confirmed: bool, note: str, at: datetime) -> None:
        if self.decision is not None:
            raise Conflict(f"this match is already {self.decision}", "match_id", "该匹配已确认或已否决")
        self._decided(self.case_id, self.resource_id, "confirmed" if confirmed else "rejected", note, at)

    @event("Decided")
    def _decided(self, case_id: str, resource_id: str, decision: str, note: str, decided_at: datetime) -> None:
        self.decision = decision


def project_light(due: datetime, done: bool, now: datetime, warn_before: timedelta) -> str:
    """A project's clock: green, yellow within `warn_before` of its deadline, red once it passed undone."""
    if done:
        return "green"
    return "red" if now > due else "yellow" if now > due - warn_before else "green"


class Project(Remembering):
    """A project (项目清单): grouped needs and confirmed resources, with an owner and a deadline on its own clock:
    yellow as the deadline nears, red once it passes undone."""

    @event("Started")
    def __init__(self, id: UUID, title: str, case_ids: list[str], match_ids: list[str], owner: str, due: datetime,
                 started_at: datetime):
        self.title, self.case_ids, self.match_ids, self.owner = title, list(case_ids), list(match_ids), owner
        self.due, self.started_at = due, started_at
        self.warned: list[str] = []
        self.done: dict[str, Any] | None = None

    def watch(self, now: datetime, warn_before: timedelta) -> bool:
        """The clock's tick: record a yellow or red warning once each. Returns whether one was recorded."""
        level = project_light(self.due, self.done is not None, now, warn_before)
        if level == "green" or level in self.warned:
            return False
        self._warned(level, self.due, now)
        return True

    @event("Warned")
    def _warned(self, level: str, due: datetime, warned_at: datetime) -> None:
        self.warned.append(level)

    def complete(self, summary: str, at: datetime) -> None:
        if self.done is not None:
            raise Conflict("this project is already completed", "project_id", "该项目已完成")
        self._completed(summary, at > self.due, at)

    @event("Completed")
    def _completed(self, summary: str, late: bool, completed_at: datetime) -> None:
        self.done = {"summary": summary, "late": late, "at": completed_at}
