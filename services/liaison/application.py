"""Liaison use cases: the register, reception days, 代表督办, duties (五个一) and the units' monthly lights."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from services.liaison.projections import Activities, Lists, Receptions, Register, Supervisions, Units
from services.liaison import commands, lights
from services.liaison.domain import (
    Match, Project, Reception, Remembering, Representative, Resource, Shelf, Station, Supervision, Unit,
    concern_id_for, match_id_for, new_id, shelf_id_for, supervision_id_for, unit_id_for,
)
from services.liaison.projections import (
    ALERTS, CASE_FACTS, CaseFacts, case_history, list_units, open_projects,
)
from services.liaison.rules import PROJECT_WARN_BEFORE
from shared.clock import Clock, utcnow
from shared.contracts import IntegrationEvent
from shared.errors import InvalidInput, NotFound
from shared.store.application import ServiceApplication

A = TypeVar("A", bound=Aggregate)
# intake's side of a concern: (the report, an Idempotency-Key) -> {issue_id, tracking_code}
ReportToIntake = Callable[[dict[str, Any], str], dict[str, Any]]
NAMES_ZH = {Station: "联络站", Representative: "代表", Reception: "接待日", Supervision: "督办", Unit: "共建单位",
            Resource: "资源", Match: "匹配", Project: "项目"}


class LiaisonApplication(ServiceApplication):
    name = "liaison"
    reacts_to = {"casework": CASE_FACTS, "meetings": ("MeetingOpened",)}
    views = (CaseFacts(),)  # casework's facts about each case: a view, not liaison's own events
    # Activities after Supervisions and Receptions: it reads whose supervision or reception day an event is about
    projections = (Register(), Supervisions(), Receptions(), Activities(), Units(), Lists())

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock

    # the register ----------------------------------------------------------------------------------
    def open_station(self, payload: Any, key: str | None = None) -> tuple[Station, bool]:
        x = commands.station(payload)
        return self._create(Station, new_id("station", key), key, payload, lambda sid: Station(
            id=sid, opened_at=self.clock(), **x))

    def register_representative(self, payload: Any, key: str | None = None) -> tuple[Representative, bool]:
        x = commands.representative(payload)
        station = self.get(Station, x["station_id"], "station_id")
        return self._create(Representative, new_id("representative", key), key, payload, lambda rid: Representative(
            id=rid, community=station.community, registered_at=self.clock(), **x))

    def record_duty(self, representative_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.duty(payload)
        return self._command(Representative, representative_id, key, payload, lambda r: r.record_duty(
            x["duty"], x["done_at"], x["note"], self.clock()) or x["duty"])

    # reception days ------------------------------------------------------------------------------------
    def schedule_reception(self, payload: Any, key: str | None = None) -> tuple[Reception, bool]:
        x = commands.reception(payload, self.clock())
        station = self.get(Station, x["station_id"], "station_id")
        for i, rid in enumerate(x["representative_ids"]):
            self.get(Representative, rid, f"representative_ids[{i}]")
        return self._create(Reception, new_id("reception", key), key, payload, lambda rid: Reception(
            id=rid, community=station.community, scheduled_at=self.clock(),
            **x | {"place": x["place"] or station.place}))

    def request_topic(self, reception_id: str, payload: Any) -> int:
        """A resident's topic for the day (点单式): public, no name kept. Returns how many are asked so far."""
        topic = commands.topic(payload)
        return self._command(Reception, reception_id, None, payload,
                             lambda r: r.request_topic(topic, self.clock()) or len(r.topics))[0]

    def book(self, reception_id: str) -> int:
        return self._command(Reception, reception_id, None, None, lambda r: r.book(self.clock()))[0]

    def announce(self, reception_id: str, key: str | None = None) -> tuple[Any, bool]:
        return self._command(Reception, reception_id, key, {}, lambda r: r.announce(self.clock()) or "announced")

    def raise_concern(self, reception_id: str, payload: Any, report: ReportToIntake,
                      key: str | None = None) -> tuple[dict[str, Any], bool]:
        """A visitor's concern becomes an issue through intake (channel `reception`), so it enters the normal
        lifecycle; intake keeps the resident's contact, this service only the issue it became.

        Intake is asked first with a key derived from this concern: a retry, or a save here that failed,
        asks again and gets the same issue, never a second one."""
        body = commands.concern(payload)
        reception = self.get(Reception, reception_id)
        if reception.earlier(key, commands.digest(payload)) is None:
            reception.check_concern(self.clock())  # refused before intake hears of it
        concern_id = str(concern_id_for(reception.id, key))
        location = body.get("location") if isinstance(body.get("location"), dict) else {}
        issue = report({**body, "channel": "reception",
                        "location": {"community": reception.community, **location}}, f"reception:{concern_id}")
        made = {"concern_id": concern_id, "issue_id": issue["issue_id"], "tracking_code": issue.get("tracking_code")}
        category = body.get("category") if isinstance(body.get("category"), str) else None
        ref = {k: v for k, v in made.items() if k != "tracking_code"}  # the code proves the resident: intake's only
        ref, created = self._command(Reception, reception_id, key, payload, lambda r: r.raise_concern(
            concern_id, issue["issue_id"], body["title"], category, self.clock()) or ref)
        return ref | {"tracking_code": made["tracking_code"]}, created

    def hold(self, reception_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.held(payload)
        return self._command(Reception, reception_id, key, payload, lambda r: r.hold(
            x["visitors"], x["summary"], self.clock()) or "held")

    # 代表督办 ----------------------------------------------------------------------------------------------
    def take_up(self, case_id: str, payload: Any) -> tuple[Supervision, bool]:
        """A representative takes up a case (overdue or contested): it must be a case casework has opened."""
        x = commands.supervision(payload)
        self.get(Representative, x["representative_id"], "representative_id")
        case = case_history(self.read_models, commands.uuid({"case_id": case_id}, "case_id"))
        if case is None or not case["issue_id"]:
            raise NotFound(f"no case {case_id} known from casework", "case_id", "未找到该案件")
        sid = supervision_id_for(case["case_id"])
        existing = self._find(sid)
        if isinstance(existing, Supervision):
            existing.check_takeable(x["representative_id"])
            return existing, False
        supervision = Supervision(id=sid, case_id=case["case_id"], issue_id=case["issue_id"],
                                  taken_at=self.clock(), **x)
        try:
            self.save(supervision)
        except IntegrityError:  # taken a moment ago
            return self.take_up(case_id, payload)
        return supervision, True

    def sign_off(self, case_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.sign_off(payload)
        sid = str(supervision_id_for(commands.uuid({"case_id": case_id}, "case_id")))
        return self._command(Supervision, sid, key, payload, lambda s: s.sign_off(
            x["representative_id"], x["note"], x["solved"], self.clock()) or "signed_off")

    def reads(self, event: IntegrationEvent) -> list[UUID]:
        """What `policy` reads for a case's event: the resources on offer for a new case, the supervision of one
        alerted about."""
        data = event.data
        if event.service != "casework" or "case_id" not in data:
            return []
        if event.name == "CaseOpened" and data.get("category") and data.get("community"):
            return [shelf_id_for(data["category"], data["community"])]
        return [supervision_id_for(str(data["case_id"]))] if event.name in ALERTS else []

    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """casework's alert about a supervised case reaches its representative (recorded on the supervision); a
        new case is matched with the resources on offer."""
        if (event.service, event.name) == ("meetings", "MeetingOpened"):
            processing.collect_events(*self._attended(event.data))
            return
        if event.service != "casework" or "case_id" not in event.data:
            return
        if event.name == "CaseOpened" and not event.data.get("duplicate_of"):
            case = {"case_id": str(event.data["case_id"])} | {k: event.data.get(k) for k in ("category", "community")}
            processing.collect_events(*self._proposals(case, event.time))
        if event.name not in ALERTS:
            return
        supervision = self._find(supervision_id_for(str(event.data["case_id"])))
        if not isinstance(supervision, Supervision):
            return
        detail = {k: event.data[k] for k in ("level", "deadline", "due", "to", "reason") if k in event.data}
        before = len(supervision.alerts)
        supervision.alert(event.name, detail, event.id, event.time)
        if len(supervision.alerts) > before:
            processing.collect_events(supervision)

    # the resources list, matching and projects (双清单、项目清单) ----------------------------------------------
    def offer_resource(self, payload: Any, key: str | None = None) -> tuple[Resource, bool]:
        x = commands.resource(payload)
        kinds = {"unit": Unit, "representative": Representative}
        if x["offerer_id"] is not None:
            self.get(kinds[x["offered_by"]], x["offerer_id"], "offerer_id")
        rid, digest = new_id("resource", key), commands.digest(payload)
        existing = self._find(rid) if key else None
        if isinstance(existing, Resource):
            existing.earlier(key, digest)
            return existing, False
        resource = Resource(id=rid, offered_at=self.clock(), **x)
        resource.remember(key, digest, str(rid))
        for attempt in range(5):
            shelf = self._shelf(x["category"], x["area"])
            shelf.stock(str(rid))
            try:
                self.save(resource, shelf)
                return resource, True
            except IntegrityError:  # the shelf changed meanwhile, or a retry with the same key won
                if self._find(rid) is not None:
                    return self.get(Resource, str(rid)), False
        raise AssertionError("unreachable")

    def withdraw_resource(self, resource_id: str) -> tuple[Any, bool]:
        for attempt in range(5):
            resource = self.get(Resource, resource_id)
            resource.withdraw(self.clock())
            shelf = self._shelf(resource.category, resource.area)
            shelf.clear(resource_id)
            try:
                self.save(resource, shelf)
                return "withdrawn", True
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _shelf(self, category: str, area: str) -> Shelf:
        sid = shelf_id_for(category, area)
        found = self._find(sid)
        return found if isinstance(found, Shelf) else Shelf(id=sid, category=category, area=area)

    def propose_matches(self, payload: Any) -> list[Match]:
        """Match a need or a group of similar needs (cases) with the resources on offer; a pair is proposed once."""
        proposals = []
        for i, case_id in enumerate(commands.case_ids(payload)):
            case = case_history(self.read_models, case_id)
            if case is None:
                raise InvalidInput(f"no case {case_id} known from casework", f"case_ids[{i}]", "未找到该案件")
            proposals += self._proposals(case, self.clock())
        if proposals:
            self.save(*proposals)
        return proposals

    def _proposals(self, case: dict[str, Any], at: Any) -> list[Match]:
        if not case.get("category") or not case.get("community"):
            return []
        shelf = self._find(shelf_id_for(case["category"], case["community"]))
        out = []
        for resource_id in shelf.available if isinstance(shelf, Shelf) else []:
            mid = match_id_for(case["case_id"], resource_id)
            if self._find(mid) is None:
                out.append(Match(id=mid, case_id=case["case_id"], resource_id=resource_id,
                                 reasons=[f"分类相同:{case['category']}", f"同一区域:{case['community']}"],
                                 proposed_at=at))
        return out

    def decide_match(self, match_id: str, payload: Any) -> tuple[Any, bool]:
        """Staff confirm (the resource takes one of its capacity) or reject a proposed match."""
        x = commands.decision(payload)
        for attempt in range(5):
            match = self.get(Match, match_id)
            resource = self.get(Resource, match.resource_id)
            match.decide(x["confirmed"], x["note"], self.clock())
            changed = [match]
            if x["confirmed"]:
                resource.use(match_id, self.clock())
                changed.append(resource)
                if resource.status == "used_up":
                    shelf = self._shelf(resource.category, resource.area)
                    shelf.clear(str(resource.id))
                    changed.append(shelf)
            try:
                self.save(*changed)
                return match.decision, True
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def start_project(self, payload: Any, key: str | None = None) -> tuple[Project, bool]:
        x = commands.project(payload, self.clock())
        for i, case_id in enumerate(x["case_ids"]):
            if case_history(self.read_models, case_id) is None:
                raise InvalidInput(f"no case {case_id} known from casework", f"case_ids[{i}]", "未找到该案件")
        for i, mid in enumerate(x["match_ids"]):
            if self.get(Match, mid, f"match_ids[{i}]").decision != "confirmed":
                raise InvalidInput("a project takes confirmed matches only", f"match_ids[{i}]",
                                   "项目只能纳入已确认的匹配资源")
        return self._create(Project, new_id("project", key), key, payload, lambda pid: Project(
            id=pid, started_at=self.clock(), **x))

    def complete_project(self, project_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        summary = commands.completion(payload)
        return self._command(Project, project_id, key, payload,
                             lambda p: p.complete(summary, self.clock()) or "completed")

    def watch_projects(self) -> int:
        """The projects' clock (the ticker's job): a yellow or red warning recorded once each."""
        warned = 0
        for pid in open_projects(self.read_models):
            project = self.get(Project, pid)
            if project.watch(self.clock(), PROJECT_WARN_BEFORE):
                try:
                    self.save(project)
                    warned += 1
                except IntegrityError:  # another instance warned it a moment ago
                    pass
        return warned

    # units and their lights -------------------------------------------------------------------------------
    def register_unit(self, payload: Any) -> tuple[Unit, bool]:
        """One unit per party name (as casework's assignments name it): registering it again returns it."""
        x = commands.unit(payload)
        uid = unit_id_for(x["party"])
        existing = self._find(uid)
        if isinstance(existing, Unit):
            return existing, False
        return self._create(Unit, uid, None, payload, lambda u: Unit(id=u, registered_at=self.clock(), **x))

    def record_attendance(self, unit_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.attendance(payload)
        return self._command(Unit, unit_id, key, payload, lambda u: u.record_attendance(
            x["meeting_id"], x["meeting_at"], x["present"]) or x["meeting_id"])

    def _attended(self, data: dict[str, Any]) -> list[Unit]:
        """A joint meeting opened: each registered unit invited to it came or did not (联席会议出席)."""
        if data.get("kind") != "joint":
            return []
        opened_at = datetime.fromisoformat(data["opened_at"].replace("Z", "+00:00"))
        units = []
        for a in data.get("attendance", []):
            unit = self._find(unit_id_for(a["organisation"]))
            if isinstance(unit, Unit):
                unit.record_attendance(str(data["meeting_id"]), opened_at, bool(a["present"]))
                units.append(unit)
        return units

    def assess_month(self, month: str) -> list[dict[str, Any]]:
        """Light every unit for a month that has ended (Asia/Shanghai); a unit lit already keeps its light."""
        lights.check_ended(commands.month(month), self.clock())
        out = []
        for doc in list_units(self.read_models):
            figures = lights.figures(self.read_models, doc["unit_id"], doc["party"], month)
            light = lights.light(figures)
            notice = lights.supervision_notice(doc["party"], month, figures) if light == "red" else None
            self._command(Unit, doc["unit_id"], None, None, lambda u: u.assess(month, light, figures, notice,
                                                                               self.clock()))
            out.append({"unit_id": doc["unit_id"], "party": doc["party"], "light": light, "figures": figures})
        return out

    # plumbing -------------------------------------------------------------------------------------------------
    def get(self, kind: type[A], aggregate_id: str, field: str | None = None) -> A:
        name = field or f"{kind.__name__.lower()}_id"
        try:
            found = self._find(UUID(aggregate_id))
        except (ValueError, TypeError, AttributeError):
            found = None
        if not isinstance(found, kind):
            raise (InvalidInput if field else NotFound)(f"no {kind.__name__.lower()} {aggregate_id}", name,
                                                        f"未找到该{NAMES_ZH[kind]}")
        return found

    def _create(self, kind: type[A], aggregate_id: UUID, key: str | None, payload: Any,
                make: Callable[[UUID], A]) -> tuple[A, bool]:
        """Save a new aggregate named by the key; a retry with the same key returns the first (a different
        body is a conflict)."""
        digest = commands.digest(payload)
        existing = self._find(aggregate_id) if key else None
        if isinstance(existing, Remembering):
            existing.earlier(key, digest)
            return existing, False
        made = make(aggregate_id)
        made.remember(key, digest, str(aggregate_id))
        try:
            self.save(made)
        except IntegrityError:  # a concurrent retry with the same key won
            return self.get(kind, str(aggregate_id)), False
        return made, True

    def _command(self, kind: type[A], aggregate_id: str, key: str | None, payload: Any,
                 act: Callable[[A], Any]) -> tuple[Any, bool]:
        """Run a command on one aggregate; retry on a concurrent writer; a repeated Idempotency-Key returns what
        the first made (201 then 200)."""
        digest = commands.digest(payload)
        for attempt in range(5):
            aggregate = self.get(kind, aggregate_id)
            earlier = aggregate.earlier(key, digest)
            if earlier is not None:
                return earlier, False
            result = act(aggregate)
            aggregate.remember(key, digest, result)
            try:
                self.save(aggregate)
                return result, True
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
