"""intake's HTTP adapter (port 8001): JSON in, the application, JSON out."""
from __future__ import annotations

import re

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.intake import contacts, reports
from services.intake.bootstrap import SPEC
from services.intake.domain import CATEGORIES, CHANNELS, TRACKING_CODE, Issue, public_text
from services.intake.projections import issue_id_by_tracking_code, list_issues, similar_issues
from shared.contracts.envelope import rfc3339
from shared.documents import document_response
from shared.errors import InvalidInput, NotFound
from shared.http import Operable, RuntimeProvider, api, choice, json_response, page, read_json
from shared.masking import mask_name, mask_phone


MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATUSES = ("received", "open", "resolved", "reopened", "closed", "merged")


def issue_view(issue: Issue, by_tracking_code: bool) -> dict:
    """What the resident sees of their issue (进度查询); contact details masked even here.

    The tracking code proves who raised the issue (it confirms the case), so it is shown only to
    whoever already quoted it: issue ids are public, tracking codes are not.
    """
    report = issue.report
    reporter = report["reporter"]
    return {
        "issue_id": str(issue.id),
        **({"tracking_code": issue.tracking_code} if by_tracking_code else {}),
        "channel": report["channel"],
        "category": issue.category,
        "tags": issue.tags,
        "title": public_text(report["title"], report),
        "description": public_text(report["description"], report),
        "location": report["location"],
        "reporter": {"name": mask_name(reporter["name"]) if "name" in reporter else None,
                     "phone": mask_phone(reporter["phone"]) if "phone" in reporter else None},
        "reported_at": rfc3339(issue.reported_at),
        "status": issue.case["status"] if issue.case else "received",
        "case": issue.case,
        "timeline": [{"status": "received", "at": rfc3339(issue.reported_at)}]
        + [{**p, "at": rfc3339(p["at"])} for p in issue.progress],
    }


class IntakeService(Operable):
    name = "intake"
    runtime = RuntimeProvider(SPEC)

    @http("POST", "/issues")
    @api("intake", "/issues")
    def report_issue(self, request: Request) -> Response:
        """Record a resident's report. 201 with {issue_id, tracking_code}; a retried Idempotency-Key gives 200."""
        issue, created = self.runtime.app.report_issue(read_json(request), request.headers.get("Idempotency-Key"),
                                                       lambda new: similar_issues(self.runtime.db, new))
        return json_response({"issue_id": str(issue.id), "tracking_code": issue.tracking_code,
                              "merged_into": issue.merged_into},
                             status=201 if created else 200, headers={"Location": f"/issues/{issue.id}"})

    @http("GET", "/issues/<string:key>")
    @api("intake", "/issues/{id}")
    def get_issue(self, request: Request, key: str) -> Response:
        """Where is my issue (进度查询): by issue id, or by the tracking code the resident was given."""
        by_code = key.upper().startswith("YS-")
        if by_code:
            issue_id = TRACKING_CODE.match(key.upper()) and issue_id_by_tracking_code(self.runtime.db, key.upper())
            if not issue_id:
                raise NotFound(f"no issue with tracking code {key}", "tracking_code", "查询码无效或不存在,请核对后再试")
            key = issue_id
        issue = self.runtime.app.get_issue(key)
        view = issue_view(issue, by_code)
        if issue.merged_into:  # the resident follows the case of the issue theirs was merged into
            original = self.runtime.app.get_issue(issue.merged_into)
            view |= {"merged_into": issue.merged_into, "case": original.case,
                     "status": original.case["status"] if original.case else "received",
                     "timeline": view["timeline"] + [{"status": "merged", "at": rfc3339(issue.merged_at), "step": "IssueMerged",
                                                      "step_zh": "与相同诉求合并办理", "into_issue_id": issue.merged_into}]}
        return json_response(view)

    @http("GET", "/issues")
    @api("intake", "/issues")
    def list_issues(self, request: Request) -> Response:
        """Issues newest first: ?month=YYYY-MM (Asia/Shanghai) &category= &channel= &status= &limit= &offset=."""
        filters = {}
        month = request.args.get("month")
        if month is not None:
            if not MONTH.match(month):
                raise InvalidInput("month must be YYYY-MM", "month", "月份格式应为 YYYY-MM")
            filters["month"] = month
        for name, allowed in (("category", CATEGORIES), ("channel", CHANNELS), ("status", STATUSES)):
            if (value := choice(request, name, allowed)) is not None:
                filters[name] = value
        limit, offset = page(request)
        return json_response({"issues": list_issues(self.runtime.db, filters, limit, offset),
                              "limit": limit, "offset": offset})

    @http("POST", "/issues/<string:issue_id>/merge")
    @api("intake", "/issues/{id}/merge")
    def merge_issue(self, request: Request, issue_id: str) -> Response:
        """Staff merge a repeated report into the issue already raised: {into_issue_id, by}."""
        issue = self.runtime.app.merge_issue(issue_id, read_json(request))
        return json_response({"issue_id": str(issue.id), "merged_into": issue.merged_into})

    @http("GET", "/internal/contacts/<string:reporter_ref>")
    @api("intake", "/internal/contacts/{reporter_ref}")
    def get_contact(self, request: Request, reporter_ref: str) -> Response:
        """A reporter's name and phone, for notifications only (Bearer YISHI_INTERNAL_TOKEN)."""
        contacts.check_token(request.headers.get("Authorization"))
        return json_response(contacts.contact_of(self.runtime.app, self.runtime.db, reporter_ref))

    # demand votes and the monthly demand list (services/intake/reports.py) ---------------------------
    @http("POST", "/issues/<string:issue_id>/votes")
    @api("intake", "/issues/{id}/votes")
    def vote_for_issue(self, request: Request, issue_id: str) -> Response:
        """A resident backs an issue (需求投票): {voter}. 201 when counted, 200 when they had voted already."""
        votes, counted = reports.vote_for_issue(self.runtime.app, issue_id, read_json(request))
        return json_response({"issue_id": issue_id, "votes": votes, "counted": counted}, status=201 if counted else 200)

    @http("GET", "/reports/demand-list")
    @api("intake", "/reports/demand-list")
    def demand_list(self, request: Request) -> Response:
        """The demand list (数字需求清单) of ?month=YYYY-MM (default: last month); ?format=markdown|html&lang=en."""
        month = reports.check_month(request.args.get("month"), self.runtime.app.clock())
        report = reports.demand_list(self.runtime.db, month)
        return document_response(request, report, lambda lang: reports.document(report, lang), f"demand-list-{month}")
