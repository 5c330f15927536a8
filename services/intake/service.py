"""intake's HTTP adapter (port 8001): JSON in, the application, JSON out."""
from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from services.intake import contacts, open311, photos, reports
from services.intake.bootstrap import SPEC
from services.intake.domain import CATEGORIES, CHANNELS, TRACKING_CODE
from services.intake.progress import progress_view
from services.intake.projections import (
    case_so_far, find_issues, issue_id_by_tracking_code, list_issues, similar_issues,
)
from shared.contracts.envelope import rfc3339
from shared.edge.documents import document_response
from shared.errors import DomainError, InvalidInput, NotFound
from shared.edge.access import STAFF, allow, caller, identified, public
from shared.edge.http import (Operable, RuntimeProvider, api, choice, json_response, known_args, page, read_json,
                              wants_english)


MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
STATUSES = ("received", "open", "resolved", "reopened", "closed", "merged")


def _open311(fn: Callable) -> Callable:
    """GeoReport's error shape, [{code, description}], for its clients; `field` names the input as elsewhere."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
        try:
            return fn(self, request, **kwargs)
        except DomainError as error:
            status = 400 if isinstance(error, InvalidInput) else error.status
            return json_response([{"code": status, "description": error.detail if wants_english(request) else error.detail_zh,
                                   "field": error.field}], status=status)
    return wrapper


def _geo_time(request: Request, name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{name} must be a W3C date-time with offset", name, f"{name} 须为带时区的时间")
    return moment.astimezone(timezone.utc)


class IntakeService(Operable):
    name = "intake"
    runtime = RuntimeProvider(SPEC)

    @public("residents report without an account")
    @http("POST", "/issues")
    @api("intake", "/issues")
    def report_issue(self, request: Request) -> Response:
        """Record a resident's report. 201 with {issue_id, tracking_code}; a retried Idempotency-Key gives 200."""
        issue, created = self.runtime.app.report_issue(read_json(request), request.headers.get("Idempotency-Key"),
                                                       lambda new: similar_issues(self.runtime.db, new))
        return json_response({"issue_id": str(issue.id), "tracking_code": issue.tracking_code,
                              "merged_into": issue.merged_into},
                             status=201 if created else 200, headers={"Location": f"/issues/{issue.id}"})

    def _by_tracking_code(self, code: str) -> str:
        """The issue id a tracking code names; 404 naming `tracking_code` when it names none."""
        issue_id = TRACKING_CODE.match(code.upper()) and (  # the store first: the index lags the 201 that gave the code
            self.runtime.app.issue_id_by_tracking_code(code) or issue_id_by_tracking_code(self.runtime.db, code.upper()))
        if not issue_id:
            raise NotFound(f"no issue with tracking code {code}", "tracking_code", "查询码无效或不存在,请核对后再试")
        return issue_id

    @public("a resident follows their issue by its tracking code")
    @http("GET", "/issues/<string:key>")
    @api("intake", "/issues/{id}", query=())
    def get_issue(self, request: Request, key: str) -> Response:
        """Where is my issue (进度查询): by issue id, or by the tracking code the resident was given."""
        by_code = key.upper().startswith("YS-")
        app, db = self.runtime.app, self.runtime.db
        issue = app.get_issue(self._by_tracking_code(key) if by_code else key)
        original = None
        if issue.merged_into:  # the case it follows
            original = app.get_issue(issue.merged_into), case_so_far(db, issue.merged_into)
        return json_response(progress_view(issue, case_so_far(db, str(issue.id)), original, by_code))

    @public("the resident answers by the tracking code")
    @http("POST", "/issues/<string:tracking_code>/confirmation")
    @api("intake", "/issues/{tracking_code}/confirmation")
    def confirm_issue(self, request: Request, tracking_code: str) -> Response:
        """The resident answers their resolved case (居民确认) by its tracking code, never by issue id:
        {confirmed, satisfaction 1–5 (required when confirmed), comment?}. 202: casework closes or reopens it."""
        issue = self.runtime.app.answer_issue(self._by_tracking_code(tracking_code), read_json(request))
        return json_response({"issue_id": str(issue.id), "answered_at": rfc3339(issue.answered_at)}, status=202)

    # photos on a report (services/intake/photos.py) -------------------------------------------------
    @public("a resident adds photos to their own report by its tracking code")
    @http("POST", "/issues/<string:tracking_code>/photos")
    @api("intake", "/issues/{tracking_code}/photos")
    def add_photo(self, request: Request, tracking_code: str) -> Response:
        """A resident's photo of their issue, shown publicly once staff approve it.

        The body is the picture (image/jpeg or image/png, at most 5 MB; up to 3 per issue), stored re-encoded
        without its EXIF (GPS included). 201 {photo_id, status: pending}."""
        issue_id = self._by_tracking_code(tracking_code)
        photo = photos.attach(self.runtime.app, self._photo_store(), issue_id, _photo_body(request),
                              self.runtime.app.clock())
        return json_response(photo.view(staff=True), status=201, headers={"Location": f"/photos/{photo.id}"})

    @public("approved photos are public; staff with a token see every photo and its review")
    @http("GET", "/issues/<string:issue_id>/photos")
    @api("intake", "/issues/{id}/photos")
    def list_photos(self, request: Request, issue_id: str) -> Response:
        """An issue's photos: the approved ones, or with a staff token all of them with their review."""
        staff = identified(self.name, "/issues/{id}/photos", request, STAFF) is not None
        shown = [p.view(staff) for p in photos.photos_of(self.runtime.app, issue_id) if staff or p.status == "approved"]
        return json_response({"issue_id": issue_id, "photos": shown})

    @public("an approved photo is public; staff with a token see one under review")
    @http("GET", "/photos/<string:photo_id>")
    @api("intake", "/photos/{id}")
    def get_photo(self, request: Request, photo_id: str) -> Response:
        """The picture itself (image/jpeg or image/png)."""
        photo = photos.get(self.runtime.app, photo_id)
        public = photo.status == "approved"
        if not public and identified(self.name, "/photos/{id}", request, STAFF) is None:
            raise NotFound(f"no photo {photo_id}", "photo_id", "未找到该照片")
        return Response(self._photo_store().get(photo.id, photo.content_type), content_type=photo.content_type,
                        headers={"Cache-Control": "public, max-age=86400" if public else "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})

    @allow("community_worker", "secretary")
    @http("POST", "/photos/<string:photo_id>/review")
    @api("intake", "/photos/{id}/review")
    def review_photo(self, request: Request, photo_id: str) -> Response:
        """Staff review a photo before it is shown publicly: {approved: true|false}; who reviewed is the token's."""
        photo = photos.review(self.runtime.app, photo_id, read_json(request), caller(request).name,
                              self.runtime.app.clock())
        return json_response(photo.view(staff=True))

    def _photo_store(self) -> photos.PhotoStore:
        return photos.PhotoStore(self.runtime.settings.var_dir)

    @public("public read: masked issues")
    @http("GET", "/issues")
    @api("intake", "/issues", query=("month", "category", "channel", "status", "limit", "offset"))
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

    @allow("community_worker", "secretary")
    @http("POST", "/issues/<string:issue_id>/merge")
    @api("intake", "/issues/{id}/merge")
    def merge_issue(self, request: Request, issue_id: str) -> Response:
        """Staff merge a repeated report into the issue already raised: {into_issue_id}; who merged is the token's."""
        body = read_json(request)
        if isinstance(body, dict):
            if "by" in body:
                raise InvalidInput("by comes from the sign-on token; remove it from the body", "by",
                                   "操作人取自登录身份,请求内容中不应包含 by")
            body = body | {"by": caller(request).name}
        issue = self.runtime.app.merge_issue(issue_id, body)
        return json_response({"issue_id": str(issue.id), "merged_into": issue.merged_into})

    # Open311 GeoReport v2 (services/intake/open311.py): city systems report and follow requests ---------
    @public("Open311 read")
    @http("GET", "/open311/v2/services.json")
    @api("intake", "/open311/v2/services.json", query=None)
    @_open311
    def open311_services(self, request: Request) -> Response:
        known_args(request, open311.QUERY)
        return json_response(open311.services(wants_english(request)))

    @public("Open311 read")
    @http("GET", "/open311/v2/services/<string:service_code>.json")
    @api("intake", "/open311/v2/services/{service_code}.json", query=None)
    @_open311
    def open311_definition(self, request: Request, service_code: str) -> Response:
        known_args(request, open311.QUERY)
        return json_response(open311.definition(service_code, wants_english(request)))

    @allow("city_system")
    @http("POST", "/open311/v2/requests.json")
    @api("intake", "/open311/v2/requests.json", query=None)
    @_open311
    def open311_report(self, request: Request) -> Response:
        """A service request (form-encoded, or JSON): the report of channel open311, merged like any other."""
        known_args(request, open311.QUERY)
        form = read_json(request) if request.mimetype == "application/json" else request.form.to_dict()
        if not isinstance(form, dict):
            raise InvalidInput("body must be a form or a JSON object", "body", "请求内容须为表单或 JSON 对象")
        issue, created = self.runtime.app.report_issue(open311.report_payload(form),
                                                       request.headers.get("Idempotency-Key"),
                                                       lambda new: similar_issues(self.runtime.db, new))
        notice = f"已受理,查询码 {issue.tracking_code}" + (",与相同诉求合并办理" if issue.merged_into else "")
        return json_response([{"service_request_id": str(issue.id), "service_notice": notice, "account_id": None,
                               "tracking_code": issue.tracking_code}], status=201 if created else 200)

    @public("Open311 read")
    @http("GET", "/open311/v2/requests.json")
    @api("intake", "/open311/v2/requests.json", query=None)
    @_open311
    def open311_requests(self, request: Request) -> Response:
        """?service_request_id=a,b &service_code= &start_date= &end_date= &status=open|closed: newest first,
        the last 90 days and 1000 requests at most unless the dates say otherwise (GeoReport's defaults)."""
        known_args(request, (*open311.QUERY, "service_request_id", "service_code", "start_date", "end_date", "status"))
        ids = [i for i in (request.args.get("service_request_id") or "").split(",") if i]
        code = request.args.get("service_code")
        if code is not None:
            open311.definition(code)
        status = choice(request, "status", ("open", "closed"))
        statuses = () if status is None else open311.CLOSED if status == "closed" else tuple(
            s for s in STATUSES if s not in open311.CLOSED)
        end = _geo_time(request, "end_date")
        start = _geo_time(request, "start_date") or (None if ids else (end or self.runtime.app.clock()) - timedelta(days=90))
        docs = find_issues(self.runtime.db, ids, open311.SERVICE_CODES.get(code or ""), start and rfc3339(start),
                           end and rfc3339(end), statuses, 1000)
        return json_response([open311.request_view(d) for d in docs])

    @public("Open311 read")
    @http("GET", "/open311/v2/requests/<string:request_id>.json")
    @api("intake", "/open311/v2/requests/{id}.json", query=None)
    @_open311
    def open311_request(self, request: Request, request_id: str) -> Response:
        known_args(request, open311.QUERY)
        issue = self.runtime.app.get_issue(request_id)
        return json_response([open311.request_view(open311.doc_of(issue, case_so_far(self.runtime.db, request_id)))])

    @public("service to service: the handler checks YISHI_INTERNAL_TOKEN")
    @http("GET", "/internal/contacts/<string:reporter_ref>")
    @api("intake", "/internal/contacts/{reporter_ref}")
    def get_contact(self, request: Request, reporter_ref: str) -> Response:
        """A reporter's name and phone, for notifications only (Bearer YISHI_INTERNAL_TOKEN)."""
        contacts.check_token(request.headers.get("Authorization"))
        return json_response(contacts.contact_of(self.runtime.app, self.runtime.db, reporter_ref))

    # demand votes and the monthly demand list (services/intake/reports.py) ---------------------------
    @public("a resident backs an issue")
    @http("POST", "/issues/<string:issue_id>/votes")
    @api("intake", "/issues/{id}/votes")
    def vote_for_issue(self, request: Request, issue_id: str) -> Response:
        """A resident backs an issue (需求投票): {voter}. 201 when counted, 200 when they had voted already."""
        votes, counted = reports.vote_for_issue(self.runtime.app, issue_id, read_json(request))
        return json_response({"issue_id": issue_id, "votes": votes, "counted": counted}, status=201 if counted else 200)

    @public("the monthly demand list is published")
    @http("GET", "/reports/demand-list")
    @api("intake", "/reports/demand-list", query=("month", "format", "lang"))
    def demand_list(self, request: Request) -> Response:
        """The demand list (数字需求清单) of ?month=YYYY-MM (default: last month); ?format=markdown|html&lang=en."""
        month = reports.check_month(request.args.get("month"), self.runtime.app.clock())
        report = reports.demand_list(self.runtime.db, month)
        return document_response(request, report, lambda lang: reports.document(report, lang), f"demand-list-{month}")


def _photo_body(request: Request) -> bytes:
    """A photo's bytes: image/jpeg or image/png, at most 5 MB (read no further than that)."""
    if request.mimetype not in ("image/jpeg", "image/png"):
        raise InvalidInput("send the photo as image/jpeg or image/png", "Content-Type", "照片须以 image/jpeg 或 image/png 格式上传")
    if request.content_length and request.content_length > photos.MAX_BYTES:
        raise InvalidInput("a photo may be at most 5 MB", "photo", "每张照片不能超过 5 MB")
    return request.stream.read(photos.MAX_BYTES + 1)
