"""intake's HTTP adapter (port 8001): JSON in, the application, JSON out."""
from __future__ import annotations

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.intake.bootstrap import SPEC
from services.intake.domain import Issue
from shared.contracts.envelope import rfc3339
from shared.http import Operable, RuntimeProvider, api, json_response, read_json
from shared.masking import mask_name, mask_phone


def issue_view(issue: Issue) -> dict:
    """What the resident sees of their issue (进度查询); contact details masked even here."""
    report = issue.report
    reporter = report["reporter"]
    return {
        "issue_id": str(issue.id),
        "tracking_code": issue.tracking_code,
        "channel": report["channel"],
        "category": issue.category,
        "tags": issue.tags,
        "title": report["title"],
        "description": report["description"],
        "location": report["location"],
        "reporter": {"name": mask_name(reporter["name"]) if "name" in reporter else None,
                     "phone": mask_phone(reporter["phone"]) if "phone" in reporter else None},
        "reported_at": rfc3339(issue.reported_at),
        "status": issue.case["status"] if issue.case else "received",
        "case": issue.case and {**issue.case, "due": issue.case.get("due", {})},
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

    @http("GET", "/issues/<string:issue_id>")
    @api("intake", "/issues/{id}")
    def get_issue(self, request: Request, issue_id: str) -> Response:
        return json_response(issue_view(self.runtime.app.get_issue(issue_id)))
