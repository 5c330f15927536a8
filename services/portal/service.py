"""The portal's HTTP adapter (port 8005): the residents' pages and the staff pages (staff_pages.py), read from the other services' HTTP read models
and sent to their commands. It keeps nothing of its own (no log, no worker, no queue)."""
from __future__ import annotations

import functools
import secrets
from typing import Any
from urllib.parse import urlencode

from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.portal import board, photos, report, track, trace
from services.portal.council_pages import CouncilPages
from services.portal.i18n import YEAR, Words, chosen
from services.portal.pages import STATIC, is_htmx, page, render
from services.portal.meeting_pages import MeetingPages
from services.portal.report_pages import ReportPages
from services.portal.reports import this_month
from services.portal.staff_pages import StaffPages
from services.portal.upstream import UPSTREAMS, Refused, Unavailable, Upstreams
from shared import metrics
from shared.edge.http import json_response

VOTER_COOKIE = "voter"  # a random id per browser: a resident backs a need once, and has no account


class UpstreamsProvider(DependencyProvider):
    def setup(self) -> None:
        self.upstreams = Upstreams()
        self.categories: list[dict[str, Any]] = []  # intake's published categories, read once they answer

    def stop(self) -> None:
        self.upstreams.close()

    def get_dependency(self, worker_ctx: Any) -> "UpstreamsProvider":
        return self


def _lang(request: Request) -> str:
    return chosen(request)["lang"]


def _visitor(request: Request) -> dict[str, str]:
    """The visitor's address for intake's abuse limits (the portal is one client to intake; it is trusted)."""
    return {"X-Forwarded-For": request.remote_addr} if request.remote_addr else {}


class PortalService(StaffPages, ReportPages, MeetingPages, CouncilPages):
    name = "portal"
    deps = UpstreamsProvider()

    @property
    def up(self) -> Upstreams:
        return self.deps.upstreams

    def _categories(self) -> list[dict[str, Any]]:
        if not self.deps.categories:
            self.deps.categories = report.categories(self.up.intake.get("/open311/v2/services.json"))
        return self.deps.categories

    # the public board (公示栏) -------------------------------------------------------------------------
    @http("GET", "/")
    @page("/")
    def board_page(self, request: Request) -> Response:
        lang, community = _lang(request), (request.args.get("community") or "").strip()[:50] or None
        calls = board.sections(self.up, lang, community, this_month())
        parts = dict(zip(calls, self.up.fresh.together([functools.partial(_or_none, c) for c in calls.values()])))
        return render(request, "board.html", community=community, communities=board.communities(parts),
                      notices=parts["notices"], results=parts["results"],
                      overdue=None if parts["overdue"] is None else board.overdue_rows(parts["overdue"]),
                      demand=None if parts["demand"] is None else board.demand_rows(
                          parts["demand"], community, backed=_backed(request)))

    @http("POST", "/vote")
    @page("/vote")
    def vote(self, request: Request) -> Response:
        """A resident backs a need (需求投票); without JavaScript the board is shown again."""
        voter = request.cookies.get(VOTER_COOKIE) or secrets.token_urlsafe(16)
        issue_id = request.form.get("issue_id", "")
        try:
            _, body = self.up.intake.post(f"/issues/{issue_id}/votes", {"voter": f"portal:{voter}"}, _lang(request))
            votes, error = body["votes"], None
        except Refused as exc:
            votes, error = request.form.get("votes"), exc.detail(_lang(request))
        if is_htmx(request):
            response = render(request, "_vote.html", issue_id=issue_id, votes=votes, voted=error is None, error=error)
        else:
            back = request.form.get("next", "/")
            back = back if back.startswith("/") and not back.startswith("//") else "/"
            if error is None:  # the demand list lags the vote: the board shows the count intake answered
                back += ("&" if "?" in back else "?") + urlencode({"backed": issue_id, "votes": votes})
            response = redirect(back, code=303)
        response.set_cookie(VOTER_COOKIE, voter, max_age=YEAR, samesite="Lax", httponly=True)
        return response

    # reporting (我要反映) --------------------------------------------------------------------------------
    @http("GET", "/report")
    @page("/report")
    def report_form(self, request: Request) -> Response:
        values = report.form_values({"community": request.args.get("community", "")[:50]})
        return self._form(request, values, {})

    @http("POST", "/report/suggest")
    @page("/report/suggest")
    def suggest(self, request: Request) -> Response:
        """The category field again, the category the text suggests chosen (htmx, as the resident types).
        By POST: what a resident types may hold a phone number, and a query string ends in access logs."""
        values = report.form_values(request.form)
        return render(request, "_category.html", values=values, errors={}, categories=self._categories(),
                      suggested=report.suggest(values["title"] + values["description"], self._categories()))

    @http("POST", "/report")
    @page("/report")
    def report_submit(self, request: Request) -> Response:
        values = report.form_values(request.form)
        key = report.idempotency_key(request.form.get("key"))
        files = photos.chosen(request.files)
        if wrong := photos.problem(files, _lang(request)):  # nothing is sent: the resident picks again
            return self._form(request, values, {"photos": wrong}, key, status=422)
        try:
            status, body = self.up.intake.post("/issues", report.payload(values), _lang(request),
                                               headers={"Idempotency-Key": key, **_visitor(request)})
        except Refused as exc:
            field = report.FIELD_OF.get(exc.field or "", "form")
            return self._form(request, values, {field: exc.detail(_lang(request))}, key, status=exc.status)
        refused = photos.send(self.up.intake, body["tracking_code"], files, _lang(request))
        return render(request, "reported.html", 201 if status == 201 else 200, code=body["tracking_code"],
                      merged_into=body.get("merged_into"), photos_sent=len(files) - len(refused),
                      photos_refused=refused)

    def _form(self, request: Request, values: dict[str, str], errors: dict[str, str], key: str | None = None,
              status: int = 200) -> Response:
        try:
            cats = self._categories()
        except Unavailable:
            cats = []  # intake tags the report itself; the form still works
        return render(request, "report.html", status, values=values, errors=errors, categories=cats, suggested=[],
                      key=key or report.idempotency_key(None))

    # progress (查进度) and the resident's answer ---------------------------------------------------------
    @http("GET", "/track")
    @page("/track")
    def track_form(self, request: Request) -> Response:
        return render(request, "track.html", code="", errors={}, issue=None)

    @http("POST", "/track")
    @page("/track")
    def track_page(self, request: Request) -> Response:
        """By POST: a tracking code proves who reported, so it stays out of URLs and access logs."""
        return self._track(request, (request.form.get("code") or "").strip().upper())

    @http("POST", "/track/answer")
    @page("/track/answer")
    def answer(self, request: Request) -> Response:
        code = (request.form.get("code") or "").strip().upper()
        try:
            self.up.intake.post(f"/issues/{code}/confirmation", track.answer(request.form), _lang(request),
                                headers=_visitor(request))
        except Refused as exc:
            field = exc.field if exc.field in ("satisfaction", "comment") else "confirmed"
            return self._track(request, code, {field: exc.detail(_lang(request))}, exc.status)
        return self._track(request, code, answered=True)

    def _track(self, request: Request, code: str, errors: dict[str, str] | None = None, status: int = 200,
               answered: bool = False) -> Response:
        errors = dict(errors or {})
        issue = None
        try:
            progress = self.up.intake.get(f"/issues/{code}", _lang(request), headers=_visitor(request))
            issue = track.view(progress, Words(_lang(request)))
            issue["photos"] = photos.listed(self.up.intake, progress.get("issue_id"))  # the reviewed ones
            issue["trace"] = self._trace(progress, Words(_lang(request)))
        except Refused as exc:
            errors["code"], status = exc.detail(_lang(request)), exc.status
        return render(request, "track.html", status, code=code, errors=errors, issue=issue, answered=answered)

    def _trace(self, progress: dict[str, Any], t: Words) -> list[dict[str, Any]] | None:
        """The case's trace through the council; None when meetings does not answer (the page says so)."""
        case_id = (progress.get("case") or {}).get("case_id")
        if not case_id:
            return []
        try:
            steps = self.up.meetings.get(f"/cases/{case_id}/trace", t.lang)["steps"]
        except (Unavailable, Refused):
            return None
        return trace.chain(progress, steps, t)

    @http("GET", "/photos/<string:photo_id>")
    def photo(self, request: Request, photo_id: str) -> Response:
        """A photo staff approved, as intake serves it to anyone."""
        return photos.picture(self.up.intake, photo_id)

    # operations --------------------------------------------------------------------------------------
    @http("GET", "/static/<string:name>")
    def static(self, request: Request, name: str) -> Response:
        return STATIC.response(name)

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        """Up when it serves pages; each upstream's reachability is told, not required (pages degrade)."""
        checks = {}
        for name in UPSTREAMS:
            try:
                getattr(self.up, name).get("/health")
                checks[name] = "ok"
            except (Unavailable, Refused) as exc:
                checks[name] = f"failed: {type(exc).__name__}"
        return json_response({"status": "ok", "upstreams": checks})

    @http("GET", "/health/live")
    def liveness(self, request: Request) -> Response:
        """This process serves pages (what container checks and the tests wait for, like every service's)."""
        return json_response({"status": "ok"})

    @http("GET", "/metrics")
    def prometheus(self, request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("Accept"))
        return Response(body, headers={"Content-Type": content_type})


def _or_none(call: Any) -> Any:
    """A board section's data, or None when its service does not answer (the section says so)."""
    try:
        return call()
    except (Unavailable, Refused):
        return None


def _backed(request: Request) -> tuple[str, int] | None:
    """The need this browser just backed and its count as intake answered (?backed=&votes=), if any."""
    issue_id, votes = request.args.get("backed"), request.args.get("votes", "")
    return (issue_id, int(votes)) if issue_id and votes.isdigit() else None
