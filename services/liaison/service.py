"""liaison's HTTP adapter (port 8006): representatives and stations, reception days, 代表督办, 履职档案, and the
monthly lights of co-building units.

Every command accepts `Idempotency-Key` (201 first, 200 for a retry). Public reads carry no personal data:
a representative's contact and a unit's responsible person appear, masked, only to staff.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from services.liaison import commands, lights, records, targets
from services.liaison.bootstrap import SPEC
from services.liaison.domain import Representative, Unit, local_month, project_light
from services.liaison.intake import report_to_intake
from services.liaison.projections import (
    board_receptions, case_history, list_matches, list_projects, list_receptions, list_representatives,
    list_resources, list_stations, list_supervisions, list_units, match_accuracy, month_lights, supervision_doc,
    unit_lights,
)
from services.liaison.rules import DUTIES, LIGHTS, PROJECT_WARN_BEFORE, SHANGHAI, UNIT_KINDS
from shared.contracts.envelope import rfc3339
from shared.edge.access import STAFF, allow, public
from shared.edge.documents import DOCUMENT, document_response
from shared.edge.http import (Operable, Reply, RuntimeProvider, answered, choice, idempotency_key, json_response,
                              read_json, route)
from shared.errors import InvalidInput, NotFound
from shared.masking import mask_name, mask_phone

ORGANISERS = ("community_worker", "secretary")  # who keeps the register and runs reception days
REPRESENTATIVES = ("resident_representative", *ORGANISERS)  # who records a representative's work




def _masked(contact: dict[str, str]) -> dict[str, str]:
    """A contact as staff see it: name and phone masked, e-mail's user hidden."""
    out = {}
    if contact.get("name"):
        out["name"] = mask_name(contact["name"])
    if contact.get("phone"):
        out["phone"] = mask_phone(contact["phone"])
    if contact.get("email"):
        out["email"] = "***@" + contact["email"].partition("@")[2]
    return out


def _light(doc: dict[str, Any], now: datetime) -> str:
    due = datetime.fromisoformat(doc["due"].replace("Z", "+00:00"))
    return project_light(due, doc["status"] == "completed", now, PROJECT_WARN_BEFORE)


def _year(request: Request, now_year: int) -> int:
    value = request.args.get("year", str(now_year))
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise InvalidInput("year must be a year such as 2026", "year", "year 须为年份,如 2026")
    return int(value)


APPLIED = {201: "applied", 200: "a retried Idempotency-Key: the first answer, nothing applied again"}
COUNTED = {201: "the topic is counted: how many the reception day has"}
PROPOSED = {201: "the matches proposed for the cases"}
DECIDED = {201: "the match as decided"}


class LiaisonService(Operable):
    name = "liaison"
    runtime = RuntimeProvider(SPEC)

    # the register -----------------------------------------------------------------------------------
    @route("POST", "/stations", allow(*ORGANISERS), body=commands.Station, responses=APPLIED)
    def open_station(self, request: Request) -> Response:
        """Open a liaison station (联络站): {name, community, place}. Each community has at least one."""
        station, created = self.runtime.app.open_station(read_json(request), idempotency_key(request))
        return answered({"station_id": str(station.id)}, created, f"/stations/{station.id}")

    @route("GET", "/stations", public("the stations where residents meet their representatives are public"),
           query=("community",))
    def stations(self, request: Request) -> Response:
        """Liaison stations (每社区至少1个联络站), ?community=."""
        return json_response({"stations": list_stations(self.runtime.db, request.args.get("community"))})

    @route("POST", "/representatives", allow(*ORGANISERS), body=commands.Representative, responses=APPLIED)
    def register_representative(self, request: Request) -> Response:
        """Register a representative: {name, station_id, expertise[], contact?{name?, phone?, email?}}; the
        contact stays in this service, masked on every output and never in an event."""
        rep, created = self.runtime.app.register_representative(read_json(request), idempotency_key(request))
        return answered({"representative_id": str(rep.id)}, created, f"/representatives/{rep.id}")

    @route("GET", "/representatives", public("representatives and their expertise are public; contacts are not shown"),
           query=("station_id",))
    def representatives(self, request: Request) -> Response:
        return json_response({"representatives": list_representatives(self.runtime.db,
                                                                      request.args.get("station_id"))})

    @route("GET", "/representatives/<string:representative_id>", allow(*STAFF))
    def representative(self, request: Request, representative_id: str) -> Response:
        """One representative, contact masked, and their supervisions."""
        rep = self.runtime.app.get(Representative, representative_id)
        return json_response({"representative_id": representative_id, "name": rep.name, "expertise": rep.expertise,
                              "station_id": rep.station_id, "community": rep.community,
                              "contact": _masked(rep.contact),
                              "supervisions": list_supervisions(self.runtime.db, representative_id, None)})

    @route("POST", "/representatives/<string:representative_id>/duties", allow(*REPRESENTATIVES),
           body=commands.Duty, responses=APPLIED)
    def record_duty(self, request: Request, representative_id: str) -> Response:
        """One of the 五个一 done: {duty: visit|briefing|survey|report, done_at, note?}."""
        duty, created = self.runtime.app.record_duty(representative_id, read_json(request), idempotency_key(request))
        return answered({"representative_id": representative_id, "duty": duty}, created)

    @route("GET", "/representatives/<string:representative_id>/record", allow(*STAFF),
           query=("year", "format", "lang"), responses={200: DOCUMENT})
    def record(self, request: Request, representative_id: str) -> Response:
        """履职档案 for ?year= (default this year): figures, the 五个一 checks, warnings (blue/yellow/red);
        ?format=html|markdown prints the yearly report (年度履职报告)."""
        app = self.runtime.app
        rep = app.get(Representative, representative_id)
        now = app.clock()
        doc = {"representative_id": representative_id, "name": rep.name, "expertise": rep.expertise,
               "station_id": rep.station_id, "community": rep.community}
        rec = records.record(self.runtime.db, doc, _year(request, int(local_month(now)[:4])), now)
        return document_response(request, rec, lambda lang: records.yearly_report(rec, lang),
                                 f"record-{representative_id[:8]}-{rec['year']}")

    @route("GET", "/duties", public("the duties the plan sets are public"))
    def duties(self, request: Request) -> Response:
        """The 五个一 and their periods."""
        return json_response({"duties": [{"duty": d, "duty_zh": zh, "duty_en": en, "period": p}
                                         for d, (zh, en, p) in DUTIES.items()]})

    @route("GET", "/targets", public("the plan's headline targets are published as measured figures"), query=("year",))
    def targets(self, request: Request) -> Response:
        """The plan's targets for ?year= (default this year): contact coverage, response rate, average first
        response, resolution rate of key problems, satisfaction — each measured and whether it is met."""
        year = _year(request, int(local_month(self.runtime.app.clock())[:4]))
        start, end = (rfc3339(datetime(y, 1, 1, tzinfo=SHANGHAI)) for y in (year, year + 1))
        return json_response({"year": year, **targets.measured(self.runtime.db, start, end)})

    # reception days --------------------------------------------------------------------------------------
    @route("POST", "/receptions", allow(*ORGANISERS), body=commands.Reception, responses=APPLIED)
    def schedule_reception(self, request: Request) -> Response:
        """Schedule a reception day: {station_id, representative_ids[], starts_at, place?, title?}."""
        reception, created = self.runtime.app.schedule_reception(read_json(request), idempotency_key(request))
        return answered({"reception_id": str(reception.id), "status": reception.status}, created,
                        f"/receptions/{reception.id}")

    @route("GET", "/receptions", allow(*STAFF), query=("station_id", "status"))
    def receptions(self, request: Request) -> Response:
        status = choice(request, "status", ("scheduled", "announced", "held"))
        return json_response({"receptions": list_receptions(self.runtime.db, request.args.get("station_id"),
                                                            status)})

    @route("GET", "/receptions/<string:reception_id>", allow(*STAFF))
    def reception(self, request: Request, reception_id: str) -> Response:
        found = [r for r in list_receptions(self.runtime.db, None, None) if r["reception_id"] == reception_id]
        if not found:
            raise NotFound(f"no reception {reception_id}", "reception_id", "未找到该接待日")
        return json_response(found[0])

    @route("GET", "/board/receptions",
           public("the board's reception-day announcements with the topics residents asked for"))
    def board(self, request: Request) -> Response:
        return json_response({"receptions": board_receptions(self.runtime.db, rfc3339(self.runtime.app.clock()))})

    @route("POST", "/receptions/<string:reception_id>/topics",
           public("a resident asks for a topic; nothing about them is kept"), body=commands.Topic, responses=COUNTED)
    def request_topic(self, request: Request, reception_id: str) -> Response:
        """{topic}: a topic residents want the representatives to take up."""
        count = self.runtime.app.request_topic(reception_id, read_json(request))
        return json_response({"reception_id": reception_id, "topics": count}, status=201)

    @route("POST", "/receptions/<string:reception_id>/bookings",
           public("a resident books a place; counted, no name kept"))
    def book(self, request: Request, reception_id: str) -> Response:
        return json_response({"reception_id": reception_id, "bookings": self.runtime.app.book(reception_id)},
                             status=201)

    @route("POST", "/receptions/<string:reception_id>/announcement", allow(*ORGANISERS), responses=APPLIED)
    def announce(self, request: Request, reception_id: str) -> Response:
        """Announce on the board, at least 3 days ahead, with the topics asked so far (409 naming starts_at)."""
        status, created = self.runtime.app.announce(reception_id, idempotency_key(request))
        return answered({"reception_id": reception_id, "status": status}, created)

    @route("POST", "/receptions/<string:reception_id>/concerns", allow(*REPRESENTATIVES),
           body=commands.Concern, responses=APPLIED)
    def raise_concern(self, request: Request, reception_id: str) -> Response:
        """A visitor's concern, as intake's report takes it ({title, description, category?, location?,
        reporter}; the community is the station's): it becomes an issue (channel `reception`). Returns the
        issue and its tracking code for the resident."""
        made, created = self.runtime.app.raise_concern(reception_id, read_json(request), report_to_intake,
                                                       idempotency_key(request))
        return answered(made, created)

    @route("POST", "/receptions/<string:reception_id>/held", allow(*REPRESENTATIVES),
           body=commands.Held, responses=APPLIED)
    def hold(self, request: Request, reception_id: str) -> Response:
        """Record the day as held: {visitors, summary?}."""
        status, created = self.runtime.app.hold(reception_id, read_json(request), idempotency_key(request))
        return answered({"reception_id": reception_id, "status": status}, created)

    # 代表督办 ------------------------------------------------------------------------------------------------
    @route("POST", "/cases/<string:case_id>/supervision", allow(*REPRESENTATIVES),
           body=commands.Supervision, responses=APPLIED)
    def take_up(self, request: Request, case_id: str) -> Response:
        """A representative takes up a case: {representative_id, reason}. They receive its alerts from now on."""
        supervision, created = self.runtime.app.take_up(case_id, read_json(request))
        return answered({"case_id": supervision.case_id, "representative_id": supervision.representative_id,
                         "status": "signed_off" if supervision.signed_off else "supervising"}, created)

    @route("GET", "/cases/<string:case_id>/supervision", allow(*STAFF))
    def supervision(self, request: Request, case_id: str) -> Response:
        """The supervision (alerts received, sign-off) and the case's history as casework told it."""
        doc = supervision_doc(self.runtime.db, case_id)
        if doc is None:
            raise NotFound(f"case {case_id} is not supervised", "case_id", "该案件没有代表督办")
        return json_response(doc | {"case": case_history(self.runtime.db, case_id)})

    @route("POST", "/cases/<string:case_id>/supervision/sign-off", allow(*REPRESENTATIVES),
           body=commands.SignOff, responses=APPLIED)
    def sign_off(self, request: Request, case_id: str) -> Response:
        """The supervising representative signs off: {representative_id, note, solved}."""
        status, created = self.runtime.app.sign_off(case_id, read_json(request), idempotency_key(request))
        return answered({"case_id": case_id, "status": status}, created)

    @route("GET", "/supervisions", allow(*STAFF), query=("representative_id", "status"))
    def supervisions(self, request: Request) -> Response:
        status = choice(request, "status", ("supervising", "signed_off"))
        return json_response({"supervisions": list_supervisions(self.runtime.db,
                                                                request.args.get("representative_id"), status)})

    # units and lights ------------------------------------------------------------------------------------------
    @route("POST", "/units", allow(*ORGANISERS), body=commands.Unit, responses=APPLIED)
    def register_unit(self, request: Request) -> Response:
        """Register a co-building unit: {party (as assignments name it), kind, responsible{name?, phone?, email?}}."""
        unit, created = self.runtime.app.register_unit(read_json(request))
        return answered({"unit_id": str(unit.id), "party": unit.party}, created, f"/units/{unit.id}")

    @route("GET", "/units", public("the units and their kinds are public; their responsible persons are not shown"))
    def units(self, request: Request) -> Response:
        return json_response({"units": list_units(self.runtime.db), "kinds": UNIT_KINDS})

    @route("GET", "/units/<string:unit_id>", allow(*ORGANISERS))
    def unit(self, request: Request, unit_id: str) -> Response:
        """One unit with its responsible person (masked) and its joint-meeting attendance."""
        unit = self.runtime.app.get(Unit, unit_id)
        return json_response({"unit_id": unit_id, "party": unit.party, "kind": unit.kind,
                              "responsible": _masked(unit.responsible),
                              "attendance": [{**a, "meeting_at": rfc3339(a["meeting_at"])} for a in unit.attendance]})

    @route("POST", "/units/<string:unit_id>/attendance", allow(*ORGANISERS),
           body=commands.Attendance, responses=APPLIED)
    def attendance(self, request: Request, unit_id: str) -> Response:
        """联席会议出席: {meeting_id, meeting_at, present}."""
        meeting_id, created = self.runtime.app.record_attendance(unit_id, read_json(request), idempotency_key(request))
        return answered({"unit_id": unit_id, "meeting_id": meeting_id}, created)

    @route("GET", "/units/<string:unit_id>/scorecard",
           public("a unit's scorecard is published on the board: figures only"))
    def scorecard(self, request: Request, unit_id: str) -> Response:
        unit = self.runtime.app.get(Unit, unit_id)
        return json_response({"unit_id": unit_id, "party": unit.party, "kind": unit.kind,
                              "months": [{k: v for k, v in d.items() if k != "unit_id"}
                                         for d in unit_lights(self.runtime.db, unit_id)]})

    @route("POST", "/lights/<string:month>", allow("secretary"))
    def assess(self, request: Request, month: str) -> Response:
        """Light every unit for an ended month; a red unit gets its 督办 notice recorded."""
        return json_response({"month": month, "units": self.runtime.app.assess_month(month)}, status=201)

    @route("GET", "/lights/<string:month>",
           public("the monthly ranking is published on the board: figures, no personal data"), query=("format",),
           responses={200: Reply("the month's ranking; ?format=csv downloads it", ("application/json", "text/csv"))})
    def ranking(self, request: Request, month: str) -> Response:
        """The month's ranking (月度排名); ?format=csv downloads it."""
        rows = lights.ranking(month_lights(self.runtime.db, commands.month(month)))
        fmt = choice(request, "format", ("json", "csv")) or "json"
        if fmt == "csv":
            return Response("\ufeff" + lights.ranking_csv(rows), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="lights-{month}.csv"'})
        return json_response({"month": month, "thresholds": LIGHTS, "ranking": rows})

    # the resources list, matching and projects ----------------------------------------------------------------
    @route("POST", "/resources", allow(*REPRESENTATIVES), body=commands.Resource, responses=APPLIED)
    def offer_resource(self, request: Request) -> Response:
        """Offer a resource: {offered_by: unit|representative|volunteer, offerer_id? (not for a volunteer),
        category, title, area, capacity?, availability?}."""
        resource, created = self.runtime.app.offer_resource(read_json(request), idempotency_key(request))
        return answered({"resource_id": str(resource.id), "status": resource.status}, created,
                        f"/resources/{resource.id}")

    @route("GET", "/resources",
           public("the resources list is public (资源清单): what is offered, where; volunteers are not named"),
           query=("status",))
    def resources(self, request: Request) -> Response:
        status = choice(request, "status", ("available", "withdrawn", "used_up"))
        return json_response({"resources": list_resources(self.runtime.db, status)})

    @route("POST", "/resources/<string:resource_id>/withdrawal", allow(*REPRESENTATIVES))
    def withdraw_resource(self, request: Request, resource_id: str) -> Response:
        status, _ = self.runtime.app.withdraw_resource(resource_id)
        return json_response({"resource_id": resource_id, "status": status}, status=201)

    @route("POST", "/matches", allow(*ORGANISERS), body=commands.Cases, responses=PROPOSED)
    def propose_matches(self, request: Request) -> Response:
        """Propose resources for a need or a group of similar needs: {case_ids[]} (new cases are matched on
        their own as casework opens them)."""
        proposed = self.runtime.app.propose_matches(read_json(request))
        return json_response({"proposed": [{"match_id": str(m.id), "case_id": m.case_id,
                                            "resource_id": m.resource_id, "reasons": m.reasons} for m in proposed]},
                             status=201)

    @route("GET", "/matches", allow(*STAFF), query=("case_id", "status"))
    def matches(self, request: Request) -> Response:
        """Proposals, ?case_id=&status=proposed|confirmed|rejected, and the match accuracy (需求匹配准确率)."""
        status = choice(request, "status", ("proposed", "confirmed", "rejected"))
        return json_response({"matches": list_matches(self.runtime.db, request.args.get("case_id"), status),
                              "accuracy": match_accuracy(self.runtime.db)})

    @route("POST", "/matches/<string:match_id>/decision", allow(*ORGANISERS), body=commands.Decision, responses=DECIDED)
    def decide_match(self, request: Request, match_id: str) -> Response:
        """Confirm or reject a proposal: {confirmed, note?}; a confirmed one uses one of the resource's capacity."""
        decision, _ = self.runtime.app.decide_match(match_id, read_json(request))
        return json_response({"match_id": match_id, "status": decision}, status=201)

    @route("POST", "/projects", allow(*ORGANISERS), body=commands.Project, responses=APPLIED)
    def start_project(self, request: Request) -> Response:
        """A project of grouped needs and confirmed resources: {title, case_ids[], match_ids[], owner, due}."""
        project, created = self.runtime.app.start_project(read_json(request), idempotency_key(request))
        return answered({"project_id": str(project.id)}, created, f"/projects/{project.id}")

    @route("GET", "/projects",
           public("the project list is published with the monthly results: titles masked, no personal data"),
           query=("month",))
    def projects(self, request: Request) -> Response:
        """Projects with their light (green/yellow/red); ?month=YYYY-MM those ongoing in that month."""
        now = self.runtime.app.clock()
        month = request.args.get("month")
        start, end = (rfc3339(b) for b in lights.bounds(commands.month(month))) if month else (None, None)
        return json_response({"projects": [d | {"light": _light(d, now)}
                                           for d in list_projects(self.runtime.db, start, end)]})

    @route("POST", "/projects/<string:project_id>/completion", allow(*ORGANISERS),
           body=commands.Completion, responses=APPLIED)
    def complete_project(self, request: Request, project_id: str) -> Response:
        """{summary}: done (late when after its deadline)."""
        status, created = self.runtime.app.complete_project(project_id, read_json(request), idempotency_key(request))
        return answered({"project_id": project_id, "status": status}, created)
