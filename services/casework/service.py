"""casework's HTTP adapter (port 8002): the ledger (问题台账), each case and its audit trail, commands, rates."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from uuid import UUID

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.casework.bootstrap import SPEC
from services.casework import open_data
from services.casework.commands import ALLOWED, PARTIES
from services.casework.calendar import SHANGHAI
from services.casework.party_stats import party_stats
from services.casework.domain import Case
from services.casework.projections import case_view, cases_opened_between, get_case_row, list_cases, open_cases
from services.casework.stats import rates
from services.casework.triage import BUILT_IN_RULES, TIERS
from shared.audit import trail
from shared.contracts.envelope import rfc3339
from shared.deadlines import is_month, month_bounds, previous_month
from shared.errors import InvalidInput, NotFound
from shared.edge.access import STAFF, Forbidden, allow, allow_per, caller, identified, public, with_actor
from shared.edge.http import Operable, RuntimeProvider, api, choice, json_response, page, read_json
from shared.edge.open_data import table_response

STATUSES = ("open", "resolved", "reopened", "closed", "merged")
COMMANDS = ("verification", "plan", "assignment", "escalation", "resolution", "triage", "acknowledgement", "return",
            "return-dispute", "return-ruling", "extension", "extension-decision", "note", "reply")
EVENT_ZH = {
    "Opened": "立案分级", "Retriaged": "调整分级", "Assigned": "指派责任主体", "Verified": "现场核实",
    "PlanProposed": "提出方案", "Escalated": "上报", "Resolved": "办结", "Confirmed": "居民确认",
    "Surveyed": "满意度测评", "Reopened": "重新整改", "Closed": "结案", "DeadlineWarned": "时限预警",
    "ResolutionAdopted": "议事决议落实", "Merged": "并入相同诉求", "Joined": "合并相同诉求",
    "CommandRemembered": "指令幂等登记", "Retimed": "按节假日安排调整时限",
    "Acknowledged": "责任单位签收", "AcknowledgeMissed": "逾期未签收", "Returned": "责任单位退单", "ReturnDisputed": "退单异议",
    "ReturnRuled": "社区书记裁定退单", "ExtensionRequested": "申请延期", "ExtensionDecided": "延期审批",
    "Noted": "内部备注", "Replied": "回复居民",
}
SYSTEM_ACTOR = {"role": "system", "name": "yishi"}
PUBLIC_COLUMNS = ("case_id", "status", "tier", "category", "title", "community", "building", "party", "party_kind",
                  "deadlines", "due", "alert_level", "overdue", "reported_at", "opened_at", "resolved_at", "closed_at")


def history_view(trail: dict[str, Any], role: str) -> dict[str, Any]:
    """The audit trail as staff read it: who (`by`) and when (`at`) per event; old events' tracking-code digest
    hidden, and an internal note's text unless the reader's role is among those it names."""
    for entry in trail["entries"]:
        data = entry["data"]
        data.pop("proof", None)
        if entry["type"] == "Noted" and role not in data.get("visible_to", ()):
            data["text"] = None
        entry["by"] = data.pop("actor", None) or SYSTEM_ACTOR
        entry["type_zh"] = EVENT_ZH.get(entry["type"], entry["type"])
        if entry["type"] == "Opened" and data.get("dispatch"):  # opened and dispatched in one step
            entry["type_zh"] += "、" + EVENT_ZH["Assigned"]
    return trail


def _uuid(value: str) -> bool:
    try:
        return str(UUID(value)) == value.lower()
    except ValueError:
        return False


def _day_or_time(request: Request, name: str, default: datetime) -> datetime:
    """A date (YYYY-MM-DD, a whole day in Asia/Shanghai) or an RFC 3339 time."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
            return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(timezone.utc)
    except ValueError:
        raise InvalidInput(f"{name} must be YYYY-MM-DD or an RFC 3339 time with offset", name,
                           f"{name} 须为 YYYY-MM-DD 或带时区的 RFC 3339 时间") from None


class CaseworkService(Operable):
    name = "casework"
    runtime = RuntimeProvider(SPEC)

    @public("the public board's ledger: public columns only; staff with a token see whole cases")
    @http("GET", "/cases")
    @api("casework", "/cases", query=("status", "tier", "overdue", "party", "community", "limit", "offset"))
    def list_cases(self, request: Request) -> Response:
        """The ledger, newest first: ?status=&tier=&overdue=true|false&party=&community=&limit=&offset=."""
        overdue = choice(request, "overdue", ("true", "false"))
        limit, offset = page(request)
        staff = identified(self.name, "/cases", request, STAFF)
        party = staff.party if staff and staff.role in PARTIES and staff.party else request.args.get("party")
        community = (request.args.get("community") or "").strip() or None
        cases = list_cases(self.runtime.db, choice(request, "status", STATUSES), choice(request, "tier", TIERS),
                           None if overdue is None else overdue == "true", party, limit, offset,
                           now=self.runtime.app.clock(), community=community)
        if staff is None:  # plans, resolutions and who escalated are staff's: text they typed may name a resident
            cases = [{k: c[k] for k in PUBLIC_COLUMNS} for c in cases]
        return json_response({"cases": cases, "limit": limit, "offset": offset})

    @allow(*STAFF)
    @http("GET", "/cases/<string:case_id>")
    @api("casework", "/cases/{id}")
    def get_case(self, request: Request, case_id: str) -> Response:
        """A case as of its latest event (read from its own events, not the ledger, so a command is visible at once)."""
        case = self._case(case_id)
        self._scoped(request, case.community, case.party)
        return json_response(case_view(case, self.runtime.app.clock()))

    @allow(*STAFF)
    @http("GET", "/cases/<string:case_id>/history")
    @api("casework", "/cases/{id}/history")
    def history(self, request: Request, case_id: str) -> Response:
        """The audit trail: every event of the case in order, with who and when, its hash chain checked (`verified`)."""
        history = trail(self.runtime.app, UUID(case_id), of=Case) if _uuid(case_id) else None
        if history is None:  # read off the stored events: a case that no longer rebuilds still shows its break
            raise NotFound(f"no case {case_id}", "case_id", "未找到该案件")
        row = get_case_row(self.runtime.db, case_id)
        if row is not None:
            self._scoped(request, row["community"], row["party"])
        return json_response({"case_id": case_id, **history_view(history, caller(request).role)})

    @allow(*ALLOWED["note"])
    @http("GET", "/cases/<string:case_id>/notes")
    @api("casework", "/cases/{id}/notes")
    def notes(self, request: Request, case_id: str) -> Response:
        """The case's internal notes (内部备注) the caller's role may read; never published, never on the board."""
        case = self._case(case_id)
        self._scoped(request, case.community, case.party)
        return json_response({"case_id": case_id, "notes": [
            {**n, "at": rfc3339(n["at"])} for n in case.notes_for(caller(request).role)]})

    @allow_per("command", ALLOWED)
    @http("POST", "/cases/<string:case_id>/<string:command>")
    @api("casework", "/cases/{id}/{command}")
    def command(self, request: Request, case_id: str, command: str) -> Response:
        """verification | plan | assignment | escalation | resolution | triage; the party's acknowledgement | return | extension;
        return-dispute | return-ruling | extension-decision; note; reply (residents confirm through intake)."""
        if command not in COMMANDS:
            raise NotFound(f"no command {command}; one of {', '.join(COMMANDS)}", "command", "不支持该操作")
        case = self._case(case_id)
        self._scoped(request, case.community, case.party)
        case, applied = self.runtime.app.command(case_id, command, with_actor(read_json(request), request),
                                                 request.headers.get("Idempotency-Key"))
        return json_response(case_view(case, self.runtime.app.clock()), status=200,
                             headers={"Idempotent-Replayed": "false" if applied else "true"})

    @allow(*ALLOWED["survey"])
    @http("POST", "/surveys")
    @api("casework", "/surveys")
    def survey(self, request: Request) -> Response:
        """A quarterly satisfaction survey: items under 80 % satisfied are reopened for rectification."""
        return json_response({"items": self.runtime.app.record_survey(with_actor(read_json(request), request))}, status=201)

    @public("aggregate rates, no personal data")
    @http("GET", "/stats")
    @api("casework", "/stats", query=("from", "to"))
    def stats(self, request: Request) -> Response:
        """Rates over cases opened in [from, to): response, on-time per tier, resolution, satisfaction."""
        start, end, now = self._period(request)
        body = rates(cases_opened_between(self.runtime.db, start, end), now)
        return json_response({"from": rfc3339(start), "to": rfc3339(end), **body})

    def _period(self, request: Request) -> tuple[datetime, datetime, datetime]:
        """[from, to) of a rates query (default: the 30 days to now), and now."""
        now = self.runtime.app.clock()
        end = _day_or_time(request, "to", now)
        if request.args.get("to") is not None and len(request.args["to"]) == 10:
            end += timedelta(days=1)  # a whole day: `to` is inclusive
        start = _day_or_time(request, "from", end - timedelta(days=30))
        if start >= end:
            raise InvalidInput("from must be before to", "from", "起始时间须早于结束时间")
        return start, end, now

    @public("aggregate counts per responsible unit (an organisation, never a person)")
    @http("GET", "/stats/parties")
    @api("casework", "/stats/parties", query=("from", "to"))
    def parties(self, request: Request) -> Response:
        """Per responsible party over cases opened in [from, to): dispatches, 签收 on time and its median hours,
        missed acknowledgements, returns (退单) and return rate, returns overruled, extension requests.
        The unit lights (单位亮灯) read this."""
        start, end, now = self._period(request)
        cases = [c for c in cases_opened_between(self.runtime.db, start, end) if c.status != "merged"]
        return json_response({"from": rfc3339(start), "to": rfc3339(end), "parties": party_stats(cases, now)})

    @public("open data: anonymised, no typed text, places down to the building")
    @http("GET", "/open-data/ledger")
    @api("casework", "/open-data/ledger", query=("month", "format"))
    def open_ledger(self, request: Request) -> Response:
        """The ledger of cases opened in ?month=YYYY-MM (default: last month) as open data: ?format=csv|json."""
        month, cases, now = self._month_cases(request)
        return table_response(request, "ledger", open_data.LEDGER_COLUMNS, open_data.ledger_rows(cases, now),
                              {"month": month, "source": "yishi casework"})

    @public("open data: aggregate rates")
    @http("GET", "/open-data/statistics")
    @api("casework", "/open-data/statistics", query=("month", "format"))
    def open_statistics(self, request: Request) -> Response:
        """The three rates (三率) of cases opened in ?month=YYYY-MM, per tier and for all: ?format=csv|json."""
        month, cases, now = self._month_cases(request)
        return table_response(request, "statistics", open_data.STATISTICS_COLUMNS,
                              open_data.statistics_rows(cases, now), {"month": month, "source": "yishi casework"})

    def _month_cases(self, request: Request) -> tuple[str, list[Case], datetime]:
        now = self.runtime.app.clock()
        month = request.args.get("month") or previous_month(now)
        if not is_month(month):
            raise InvalidInput("month must be YYYY-MM", "month", "月份格式应为 YYYY-MM")
        start, end = month_bounds(month)
        return month, cases_opened_between(self.runtime.db, start, end), now

    @public("the common answers staff use (no personal data)")
    @http("GET", "/response-templates")
    @api("casework", "/response-templates", query=("category",))
    def list_templates(self, request: Request) -> Response:
        """Response templates (常用答复) per category: `template_id` in a resolution uses one."""
        return json_response({"templates": self.runtime.app.list_templates(request.args.get("category"))})

    @allow(*ALLOWED["templates"])
    @http("PUT", "/response-templates/<string:template_id>")
    @api("casework", "/response-templates/{template_id}")
    def save_template(self, request: Request, template_id: str) -> Response:
        """Save a template {category, kind: resolution|reply, text}; a built-in id is replaced by staff's text."""
        body = self.runtime.app.save_template(template_id, with_actor(read_json(request), request))
        return json_response(body)

    @allow(*ALLOWED["templates"])
    @http("DELETE", "/response-templates/<string:template_id>")
    @api("casework", "/response-templates/{template_id}")
    def retire_template(self, request: Request, template_id: str) -> Response:
        """Retire a template (built-in ones too); saving it again brings it back."""
        self.runtime.app.retire_template(template_id, {"actor": caller(request).actor()})
        return Response(status=204)

    @public("the working-day calendar")
    @http("GET", "/calendar")
    @api("casework", "/calendar")
    def calendar(self, request: Request) -> Response:
        """The working-day calendar per year: the State Council's notice entered, the package's, or a fallback."""
        return json_response(self.runtime.app.calendar_view())

    @allow(*ALLOWED["calendar"])
    @http("PUT", "/calendar/<string:year>")
    @api("casework", "/calendar/{year}")
    def set_calendar_year(self, request: Request, year: str) -> Response:
        """Staff enter the State Council's holiday notice for a year (节假日安排).

        Body {holidays[], workdays[], document?}: dates or ranges `YYYY-MM-DD..YYYY-MM-DD`. The open cases
        whose working-day deadlines it moves are re-timed (`CaseRetimed`); the same notice again records nothing."""
        app = self.runtime.app
        body = app.set_calendar_year(year, with_actor(read_json(request), request))
        moved = app.retime(open_cases(self.runtime.db))
        return json_response(body | {"retimed": [{"case_id": case_id, "deadline": name} for case_id, name in moved]})

    @allow(*STAFF)
    @http("GET", "/triage-rules")
    @api("casework", "/triage-rules")
    def list_rules(self, request: Request) -> Response:
        staff = {r.rule_id for r in self.runtime.app.rules()} - {r.rule_id for r in BUILT_IN_RULES}
        return json_response({"rules": [r.to_dict() | {"source": "staff" if r.rule_id in staff else "built-in"}
                                        for r in self.runtime.app.rules()]})

    @allow(*ALLOWED["rules"])
    @http("POST", "/triage-rules")
    @api("casework", "/triage-rules")
    def add_rule(self, request: Request) -> Response:
        """A staff member extends the rule table; it applies to reports triaged from now on."""
        return json_response(self.runtime.app.add_rule(with_actor(read_json(request), request)).to_dict(), status=201)

    @staticmethod
    def _scoped(request: Request, community: str, party: str | None) -> None:
        """A property company, sanitation team or department sees and acts on the cases assigned to it (the
        token's `party` claim); other staff whose token names a community, on that community's cases."""
        staff = caller(request)
        if staff.role in PARTIES:
            if staff.party is not None and staff.party != party:
                raise Forbidden(f"the case is assigned to another party, not {staff.party}", "case_id",
                                "该案件未指派给您所在的单位")
        elif staff.community is not None and staff.community != community:
            raise Forbidden(f"the case is in another community, not {staff.community}", "case_id",
                            "该案件不属于您所在的社区")

    def _case(self, case_id: str):
        if not _uuid(case_id):
            raise NotFound(f"no case {case_id}", "case_id", "未找到该案件")
        return self.runtime.app.get_case(case_id)
