"""intake's HTTP adapter (port 8001): JSON in, the application, JSON out."""
from __future__ import annotations

import re

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.intake.bootstrap import SPEC
from services.intake.domain import CATEGORIES, CHANNELS, TRACKING_CODE, Issue
from services.intake.projections import issue_id_by_tracking_code, list_issues
from shared.contracts.envelope import rfc3339
from shared.errors import InvalidInput, NotFound
from shared.http import Operable, RuntimeProvider, api, json_response, page, read_json
from shared.masking import mask_name, mask_phone, mask_text


MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATUSES = ("received", "open", "resolved", "reopened", "closed")


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
        "title": mask_text(report["title"]),
        "description": mask_text(report["description"]),
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
        issue, created = self.runtime.app.report_issue(read_json(request), request.headers.get("Idempotency-Key"))
        return json_response({"issue_id": str(issue.id), "tracking_code": issue.tracking_code},
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
        return json_response(issue_view(self.runtime.app.get_issue(key), by_code))

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
            value = request.args.get(name)
            if value is not None:
                if value not in allowed:
                    raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", name,
                                       f"{name} 必须是 {'、'.join(allowed)} 之一")
                filters[name] = value
        limit, offset = page(request)
        return json_response({"issues": list_issues(self.runtime.db, filters, limit, offset),
                              "limit": limit, "offset": offset})
