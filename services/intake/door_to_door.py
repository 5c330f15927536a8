"""intake's HTTP routes of the door-to-door work (敲门行动): the household register, visit plans, visits,
errands and coverage (services/intake/households.py, visits.py). A mixin of IntakeService."""
from __future__ import annotations

from werkzeug.wrappers import Request, Response

from services.intake import contacts, households, visits
from shared.contracts.envelope import rfc3339
from shared.edge.access import allow, caller
from shared.edge.http import choice, idempotency_key, json_response, page, read_json, route

KEEPERS = ("community_worker", "secretary")  # keep the register: they see households' personal data
VISITORS = (*KEEPERS, "council_member")  # 议事会成员联合社区工作者、网格员 visit


class DoorToDoorRoutes:
    @route("POST", "/households", allow(*KEEPERS), body=households.NewHousehold, responses={201: "registered"})
    def register_household(self, request: Request) -> Response:
        """Enter a household into the register: {community, building, unit?, grid, room?, name, phone?, groups[],
        note?}; groups of elderly_alone, disabled, low_income, migrant, new_resident. 201 {household_ref}."""
        household = households.register(self.runtime.app, read_json(request), caller(request).actor())
        return json_response(households.view(household, None), status=201,
                             headers={"Location": f"/households/{household.household_ref}"})

    @route("GET", "/households", allow(*VISITORS), query=("grid", "limit", "offset"))
    def list_households(self, request: Request) -> Response:
        """The register by grid: references, place and whether of a special group; no name, no groups."""
        limit, offset = page(request)
        return json_response({"households": households.listed(self.runtime.db, request.args.get("grid"), limit,
                                                              offset), "limit": limit, "offset": offset})

    @route("GET", "/households/<string:household_ref>", allow(*KEEPERS), query=("purpose",))
    def get_household(self, request: Request, household_ref: str) -> Response:
        """A household in full (name, phone, room, groups, note): ?purpose= is required and logged with who asked."""
        staff = caller(request)
        purpose = contacts.purpose_of(request.args.get("purpose"), required=True)
        return json_response(households.read(self.runtime.app, household_ref, f"{staff.name} ({staff.subject})",
                                             staff.role or "", purpose))

    @route("PUT", "/households/<string:household_ref>", allow(*KEEPERS), body=households.HouseholdChange,
           responses={200: "the household as changed"})
    def update_household(self, request: Request, household_ref: str) -> Response:
        """Change a household's groups, contact, room or note (the fields given; place and grid stay)."""
        household = households.update(self.runtime.app, household_ref, read_json(request), caller(request).actor())
        return json_response(households.view(household, None))

    @route("POST", "/visit-plans", allow(*KEEPERS), body=visits.NewPlan, responses={201: "planned"})
    def plan_visits(self, request: Request) -> Response:
        """A grid's visit plan for a month: {grid, month, rounds: [{date, evening?}]}, at least 2 rounds (每月2次
        敲门行动); evening rounds are the “晚七点” visits."""
        plan = visits.plan(self.runtime.app, read_json(request), caller(request).actor())
        return json_response({"grid": plan.grid, "month": plan.month, "rounds": plan.rounds}, status=201)

    @route("POST", "/visits", allow(*VISITORS), body=visits.NewVisit,
           responses={201: "recorded, with the tracking codes of the issues its needs became"})
    def record_visit(self, request: Request) -> Response:
        """A visit by the signed-in visitor: {household_ref, visited_at?, needs: [{title, description, category?}],
        note?}. Each need becomes an issue (channel visit) reported on behalf of the household (代办); 201 with
        their tracking codes (for the household's slip). Idempotency-Key honoured."""
        visit, issues = visits.record_visit(self.runtime.app, read_json(request), caller(request).actor(),
                                            idempotency_key(request))
        return json_response({"visit_id": str(visit.id), "household_ref": visit.household_ref,
                              "visited_at": rfc3339(visit.visited_at),
                              "issues": [{"issue_id": str(i.id), "tracking_code": i.tracking_code} for i in issues]},
                             status=201)

    @route("POST", "/errands", allow(*VISITORS), body=visits.NewErrand, responses={201: "requested"})
    def request_errand(self, request: Request) -> Response:
        """An errand for a household (代办): {household_ref, kind: purchase (代购) | payment (代缴), what}."""
        errand = visits.request_errand(self.runtime.app, read_json(request), caller(request).actor())
        return json_response({"errand_id": str(errand.id), "kind": errand.kind, "status": "open"}, status=201)

    @route("POST", "/errands/<string:errand_id>/done", allow(*VISITORS), body=visits.ErrandDone,
           responses={200: "done (a second time is a 409)"})
    def complete_errand(self, request: Request, errand_id: str) -> Response:
        """The errand done: {note?}."""
        errand = visits.complete_errand(self.runtime.app, errand_id, read_json(request), caller(request).actor())
        return json_response({"errand_id": str(errand.id), "status": "done", "done_at": rfc3339(errand.done_at)})

    @route("GET", "/errands", allow(*VISITORS), query=("status", "grid"))
    def list_errands(self, request: Request) -> Response:
        """Errands, oldest first: ?status=open|done &grid=."""
        return json_response({"errands": visits.errands(self.runtime.db, choice(request, "status", ("open", "done")),
                                                        request.args.get("grid"))})

    @route("GET", "/reports/visit-coverage", allow(*VISITORS), query=("month", "grid"))
    def visit_coverage(self, request: Request) -> Response:
        """Coverage of the door-to-door work in ?month=YYYY-MM (&grid=): households visited against the register
        and rounds done against the plan, evening visits, open needs and errands of special-group households."""
        return json_response(visits.coverage(self.runtime.db, request.args.get("month") or "", request.args.get("grid")))
