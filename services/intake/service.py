"""intake's HTTP adapter (port 8001): JSON in, the application, JSON out."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from werkzeug.wrappers import Request, Response

from services.intake import abuse, alarms, contacts, erasure, households, open311, open311_formats, photos, reports
from services.intake.boundaries import configured
from services.intake.bootstrap import SPEC
from services.intake.demand_map import demand_map as map_of_demand, geojson, period
from services.intake.door_to_door import KEEPERS, DoorToDoorRoutes
from services.intake.domain import CATEGORIES, CHANNELS, TRACKING_CODE
from services.intake.requests import Confirmation, Merge, ReportIssue, Review, Vote
from services.intake.progress import progress_view
from services.intake.projections import (
    case_so_far, find_issues, issue_id_by_tracking_code, list_issues, similar_issues,
)
from shared.contracts.envelope import rfc3339
from shared.deadlines import is_month
from shared.edge.documents import DOCUMENT, document_response
from shared.errors import DomainError, InvalidInput, NotFound
from shared.edge.access import STAFF, Forbidden, allow, caller, identified, public
from shared.edge.identity import Staff
from shared.edge.http import (PROBLEM, Operable, Reply, RuntimeProvider, Upload, answered, choice, idempotency_key,
                              json_response, page, read_json, route, wants_english)
from shared.edge.open_data import TABLE, table_response


STATUSES = ("received", "open", "resolved", "reopened", "closed", "merged")


def _open311_error(request: Request, error: DomainError) -> Response:
    return open311_formats.error_response(request, error, open311_formats.format_of(request.path))


def _geo_time(request: Request, name: str) -> datetime | None:
    return open311.w3c_time(request.args.get(name), name)


def _keeper(request: Request) -> Staff:
    """The signed-in keeper of the household register a report for a household needs (403 naming the field)."""
    staff = identified("intake", "/issues", request, KEEPERS)
    if staff is None:
        raise Forbidden("household_ref: only signed-in staff report for a household", "household_ref",
                        "只有登录的社区工作人员可为住户代为反映")
    return staff


class IntakeService(DoorToDoorRoutes, Operable):
    name = "intake"
    runtime = RuntimeProvider(SPEC)

    @route("POST", "/issues", public("residents report without an account"), body=ReportIssue, responses={
        201: Reply("recorded: its tracking code (进度查询) and, for a repeat of an open issue, the issue it joined",
                   example={"issue_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "tracking_code": "YS-20261203-7KQ2M9XD",
                            "merged_into": None}),
        200: "a retried Idempotency-Key: the first report's answer",
        429: Reply("too many reports from this client or phone: Retry-After says when", "application/problem+json",
                   PROBLEM)})
    def report_issue(self, request: Request) -> Response:
        """Record a resident's report. 201 with {issue_id, tracking_code}; a retried Idempotency-Key gives 200;
        429 with Retry-After past the abuse limits (services/intake/abuse.py)."""
        body, on_behalf = read_json(request), None
        abuse.check_report(request, "/issues", body)
        if isinstance(body, dict) and "household_ref" in body:  # staff report for a household (代办)
            body, on_behalf = households.reported_for(self.runtime.app, body, _keeper(request).actor())
        issue, created = self.runtime.app.report_issue(body, idempotency_key(request),
                                                       lambda new: similar_issues(self.runtime.db, new), on_behalf)
        answer = {"issue_id": str(issue.id), "tracking_code": issue.tracking_code, "merged_into": issue.merged_into}
        return answered(answer, created, f"/issues/{issue.id}")

    def _by_tracking_code(self, request: Request, code: str) -> str:
        """The issue id a tracking code names; 404 naming `tracking_code` when it names none, 429 once a client's
        wrong codes spent their limit."""
        abuse.before_code_lookup(request)
        issue_id = TRACKING_CODE.match(code.upper()) and (  # the store first: the index lags the 201 that gave the code
            self.runtime.app.issue_id_by_tracking_code(code) or issue_id_by_tracking_code(self.runtime.db, code.upper()))
        if not issue_id:
            abuse.wrong_code(request)
            raise NotFound(f"no issue with tracking code {code}", "tracking_code", "查询码无效或不存在,请核对后再试")
        return issue_id

    @route("GET", "/issues/<string:key>", public("a resident follows their issue by its tracking code"), query=())
    def get_issue(self, request: Request, key: str) -> Response:
        """Where is my issue (进度查询): by issue id, or by the tracking code the resident was given."""
        by_code = key.upper().startswith("YS-")
        app, db = self.runtime.app, self.runtime.db
        issue = app.get_issue(self._by_tracking_code(request, key) if by_code else key)
        original = None
        if issue.merged_into:  # the case it follows
            original = app.get_issue(issue.merged_into), case_so_far(db, issue.merged_into)
        contact = app.contact(issue) if by_code else None  # the reporter's own, masked: not an access to log
        return json_response(progress_view(issue, case_so_far(db, str(issue.id)), original, by_code, contact))

    @route("POST", "/issues/<string:tracking_code>/confirmation", public("the resident answers by the tracking code"),
           body=Confirmation, responses={202: "answered: casework closes or reopens the case"})
    def confirm_issue(self, request: Request, tracking_code: str) -> Response:
        """The resident answers their resolved case (居民确认) by its tracking code, never by issue id:
        {confirmed, satisfaction 1–5 (required when confirmed), comment?}. 202: casework closes or reopens it."""
        issue = self.runtime.app.answer_issue(self._by_tracking_code(request, tracking_code), read_json(request))
        return json_response({"issue_id": str(issue.id), "answered_at": rfc3339(issue.answered_at)}, status=202)

    # photos on a report (services/intake/photos.py) -------------------------------------------------
    @route("POST", "/issues/<string:tracking_code>/photos",
           public("a resident adds photos to their own report by its tracking code"),
           body=Upload(("image/jpeg", "image/png"), "the picture, at most 5 MB; up to 3 per issue"),
           responses={201: "stored without its EXIF, pending review (Location: the photo)"})
    def add_photo(self, request: Request, tracking_code: str) -> Response:
        """A resident's photo of their issue, shown publicly once staff approve it.

        The body is the picture (image/jpeg or image/png, at most 5 MB; up to 3 per issue), stored re-encoded
        without its EXIF (GPS included). 201 {photo_id, status: pending}."""
        issue_id = self._by_tracking_code(request, tracking_code)
        photo = photos.attach(self.runtime.app, self._photo_store(), issue_id, _photo_body(request),
                              self.runtime.app.clock())
        return json_response(photo.view(staff=True), status=201, headers={"Location": f"/photos/{photo.id}"})

    @route("GET", "/issues/<string:issue_id>/photos",
           public("approved photos are public; staff with a token see every photo and its review"))
    def list_photos(self, request: Request, issue_id: str) -> Response:
        """An issue's photos: the approved ones, or with a staff token all of them with their review."""
        staff = identified(self.name, "/issues/{id}/photos", request, STAFF) is not None
        shown = [p.view(staff) for p in photos.photos_of(self.runtime.app, issue_id) if staff or p.status == "approved"]
        return json_response({"issue_id": issue_id, "photos": shown})

    @route("GET", "/photos/<string:photo_id>",
           public("an approved photo is public; staff with a token see one under review"),
           responses={200: Reply("the picture itself", ("image/jpeg", "image/png"))})
    def get_photo(self, request: Request, photo_id: str) -> Response:
        """The picture itself (image/jpeg or image/png)."""
        photo = photos.get(self.runtime.app, photo_id)
        public = photo.status == "approved"
        if not public and identified(self.name, "/photos/{id}", request, STAFF) is None:
            raise NotFound(f"no photo {photo_id}", "photo_id", "未找到该照片")
        return Response(self._photo_store().get(photo.id, photo.content_type), content_type=photo.content_type,
                        headers={"Cache-Control": "public, max-age=86400" if public else "private, no-store",
                                 "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"})

    @route("POST", "/photos/<string:photo_id>/review", allow("community_worker", "secretary"), body=Review,
           responses={200: "the photo as reviewed"})
    def review_photo(self, request: Request, photo_id: str) -> Response:
        """Staff review a photo before it is shown publicly: {approved: true|false}; who reviewed is the token's."""
        photo = photos.review(self.runtime.app, photo_id, read_json(request), caller(request).name,
                              self.runtime.app.clock())
        return json_response(photo.view(staff=True))

    def _photo_store(self) -> photos.PhotoStore | photos.S3PhotoStore:
        return photos.store_for(self.runtime.settings.var_dir)

    @route("GET", "/issues", public("public read: masked issues"),
           query=("month", "category", "channel", "status", "limit", "offset"))
    def list_issues(self, request: Request) -> Response:
        """Issues newest first: ?month=YYYY-MM (Asia/Shanghai) &category= &channel= &status= &limit= &offset=."""
        filters = {}
        month = request.args.get("month")
        if month is not None:
            if not is_month(month):
                raise InvalidInput("month must be YYYY-MM", "month", "月份格式应为 YYYY-MM")
            filters["month"] = month
        for name, allowed in (("category", CATEGORIES), ("channel", CHANNELS), ("status", STATUSES)):
            if (value := choice(request, name, allowed)) is not None:
                filters[name] = value
        limit, offset = page(request)
        return json_response({"issues": list_issues(self.runtime.db, filters, limit, offset),
                              "limit": limit, "offset": offset})

    @route("POST", "/issues/<string:issue_id>/merge", allow("community_worker", "secretary"), body=Merge,
           responses={200: "merged: {issue_id, merged_into}"})
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

    # Open311 GeoReport v2 (services/intake/open311.py): city systems report and follow requests, in JSON or XML
    @route("GET", "/open311/discovery.<any(json,xml):fmt>", public("Open311 discovery"), query=open311.QUERY,
           errors=_open311_error)
    def open311_discovery(self, request: Request, fmt: str) -> Response:
        """GeoReport's discovery document: the endpoint, its specification and its formats."""
        return open311_formats.respond(open311.discovery(request.host_url), fmt, "discovery")

    @route("GET", "/open311/v2/services.<any(json,xml):fmt>", public("Open311 read"), query=open311.QUERY,
           errors=_open311_error)
    def open311_services(self, request: Request, fmt: str) -> Response:
        """The service list: one service per intake category, with an ASCII service_code."""
        return open311_formats.respond(open311.services(wants_english(request)), fmt, "services")

    @route("GET", "/open311/v2/services/<string:service_code>.<any(json,xml):fmt>", public("Open311 read"),
           query=open311.QUERY, errors=_open311_error)
    def open311_definition(self, request: Request, service_code: str, fmt: str) -> Response:
        """A service's definition: its attributes (community, building, unit, title)."""
        return open311_formats.respond(open311.definition(service_code, wants_english(request)), fmt,
                                       "service_definition")

    @route("POST", "/open311/v2/requests.<any(json,xml):fmt>", allow("city_system"), query=open311.QUERY,
           errors=_open311_error)
    def open311_report(self, request: Request, fmt: str) -> Response:
        """A service request (form-encoded, or JSON): the report of channel open311, merged like any other."""
        form = read_json(request) if request.mimetype == "application/json" else request.form.to_dict()
        if not isinstance(form, dict):
            raise InvalidInput("body must be a form or a JSON object", "body", "请求内容须为表单或 JSON 对象")
        payload = open311.report_payload({**request.args.to_dict(), **form}, configured(self.runtime.settings.var_dir))
        issue, created = self.runtime.app.report_issue(payload, idempotency_key(request),
                                                       lambda new: similar_issues(self.runtime.db, new))
        notice = f"已受理,查询码 {issue.tracking_code}" + (",与相同诉求合并办理" if issue.merged_into else "")
        return open311_formats.respond(
            [{"service_request_id": str(issue.id), "service_notice": notice, "account_id": None,
              "tracking_code": issue.tracking_code}], fmt, "service_requests", status=201 if created else 200)

    @route("POST", "/open311/v2/servicerequestupdates.<any(json,xml):fmt>", allow("city_system"), query=open311.QUERY,
           errors=_open311_error)
    def open311_update(self, request: Request, fmt: str) -> Response:
        """A city system's own tracker updates a request (form-encoded, or JSON): {service_request_id, update_id,
        status open|closed, description, updated_datetime?}. 201 when recorded, 200 for the same update again."""
        form = read_json(request) if request.mimetype == "application/json" else request.form.to_dict()
        if not isinstance(form, dict):
            raise InvalidInput("body must be a form or a JSON object", "body", "请求内容须为表单或 JSON 对象")
        request_id, update = open311.update_of({**request.args.to_dict(), **form})
        system = caller(request).subject
        issue, recorded = self.runtime.app.take_city_update(request_id, system, update)
        return open311_formats.respond([open311.update_receipt(issue, system, update)], fmt,
                                       "service_request_updates", status=201 if recorded else 200)

    @route("GET", "/open311/v2/requests.<any(json,xml):fmt>", public("Open311 read"), query=open311.LIST_QUERY,
           errors=_open311_error)
    def open311_requests(self, request: Request, fmt: str) -> Response:
        """?service_request_id=a,b &service_code=a,b &start_date= &end_date= &status=open|closed &page= &page_size=
        &extensions=true: newest first, the last 90 days and 1000 requests a page unless the query says otherwise."""
        ids = [i for i in (request.args.get("service_request_id") or "").split(",") if i]
        categories = open311.codes(request.args.get("service_code"))
        status = choice(request, "status", ("open", "closed"))
        statuses = () if status is None else open311.CLOSED if status == "closed" else tuple(
            s for s in STATUSES if s not in open311.CLOSED)
        end = _geo_time(request, "end_date")
        start = _geo_time(request, "start_date") or (None if ids else (end or self.runtime.app.clock()) - timedelta(days=90))
        limit, offset = open311.paging(request.args)
        extended = open311.extensions(request.args)
        docs = find_issues(self.runtime.db, ids, categories, start and rfc3339(start), end and rfc3339(end), statuses,
                           limit, offset)
        return open311_formats.respond([open311.request_view(d, extended) for d in docs], fmt, "service_requests")

    @route("GET", "/open311/v2/requests/<string:request_id>.<any(json,xml):fmt>", public("Open311 read"),
           query=(*open311.QUERY, "extensions"), errors=_open311_error)
    def open311_request(self, request: Request, request_id: str, fmt: str) -> Response:
        """One service request, as a list of one (GeoReport's shape)."""
        issue = self.runtime.app.get_issue(request_id)
        doc = open311.doc_of(issue, case_so_far(self.runtime.db, request_id))
        return open311_formats.respond([open311.request_view(doc, open311.extensions(request.args))], fmt,
                                       "service_requests")

    @route("GET", "/internal/contacts/<string:reporter_ref>",
           public("service to service: the handler checks YISHI_INTERNAL_TOKEN"), query=("purpose",))
    def get_contact(self, request: Request, reporter_ref: str) -> Response:
        """A reporter's contact, for notifications only (Bearer YISHI_INTERNAL_TOKEN); ?purpose= for the access
        log. 410 once erased."""
        contacts.check_token(request.headers.get("Authorization"))
        purpose = contacts.purpose_of(request.args.get("purpose"), required=False)
        return json_response(contacts.contact_of(self.runtime.app, self.runtime.db, reporter_ref, "notifications",
                                                 "service", purpose, tracking_code=True))

    # residents' personal data (services/intake/contacts.py, erasure.py): every read logged ------------------
    @route("GET", "/residents/<string:reporter_ref>", allow(*contacts.READERS), query=("purpose",))
    def get_resident(self, request: Request, reporter_ref: str) -> Response:
        """A reporter's contact in clear, for staff who must reach them: ?purpose= (why) is required and logged
        with who asked. 410 once erased."""
        staff = caller(request)
        purpose = contacts.purpose_of(request.args.get("purpose"), required=True)
        return json_response(contacts.contact_of(self.runtime.app, self.runtime.db, reporter_ref,
                                                 f"{staff.name} ({staff.subject})", staff.role or "", purpose))

    @route("DELETE", "/residents/<string:reporter_ref>", allow("secretary"))
    def erase_resident(self, request: Request, reporter_ref: str) -> Response:
        """Erase a resident's personal data (PIPL art. 47): the data key is destroyed, an erasure recorded.
        200 with {subject_ref, reason, erased_at, erased}; erased false when it was erased before."""
        record, erased = erasure.erase(self.runtime.app, self.runtime.db, reporter_ref, "request",
                                       caller(request).actor())
        return json_response({"subject_ref": record.subject, "reason": record.reason,
                              "erased_at": rfc3339(record.at), "erased": erased})

    @route("GET", "/residents/access-log", allow("secretary"), query=("subject", "limit", "offset"))
    def contact_access_log(self, request: Request) -> Response:
        """Who read which resident's contact, when and why (newest first; ?subject= one resident)."""
        limit, offset = page(request)
        return json_response({"reads": contacts.access_log(self.runtime.db, request.args.get("subject"), limit, offset),
                              "limit": limit, "offset": offset})

    # demand votes and the monthly demand list (services/intake/reports.py) ---------------------------
    @route("POST", "/issues/<string:issue_id>/votes", public("a resident backs an issue"), body=Vote,
           responses={201: "counted", 200: "this resident had backed the issue already"})
    def vote_for_issue(self, request: Request, issue_id: str) -> Response:
        """A resident backs an issue (需求投票): {voter}. 201 when counted, 200 when they had voted already."""
        votes, counted = reports.vote_for_issue(self.runtime.app, issue_id, read_json(request))
        return json_response({"issue_id": issue_id, "votes": votes, "counted": counted}, status=201 if counted else 200)

    @route("POST", "/alarms", allow("city_system"), body=alarms.Alarm,
           responses={201: "the alarm opened an issue",
                      200: "the alarm joined its device's open issue, or was a repeat"})
    def receive_alarm(self, request: Request) -> Response:
        """A device's alarm (物联网主动预警), from a city system signed in with its own `city_system` token:
        {device_id, alarm_id, kind, location{community, building?, unit?, lat?, lon?}, occurred_at, system_name?,
        detail?}. 201 when it opens an issue; 200 when it is the same alarm again (`duplicate`) or joins its
        device's open issue (`joined`, a burst makes one case)."""
        system = caller(request)
        db = self.runtime.db
        result = alarms.receive_alarm(self.runtime.app, lambda issue_id: case_so_far(db, issue_id).status,
                                      lambda draft: similar_issues(db, draft), system.subject, system.name,
                                      read_json(request))
        return json_response(result, status=201 if result["outcome"] == "opened" else 200)

    @route("GET", "/reports/demand-map",
           public("the demand map is public at building level; staff with a token also see units and issue ids"),
           query=("from", "to", "category", "format"),
           responses={200: Reply("per building: issues open, overdue, resolved, closed; ?format=geojson: the "
                                 "buildings with a point (RFC 7946)", ("application/json", "application/geo+json"))})
    def demand_map(self, request: Request) -> Response:
        """The demand map (需求地图): issues per building and category over [from, to) (default the last 30 days),
        each counted open, overdue, resolved or closed; ?format=json|geojson (the buildings with a point)."""
        fmt = choice(request, "format", ("json", "geojson")) or "json"
        now = self.runtime.app.clock()
        start, end = period(request.args.get("from"), request.args.get("to"), now)
        staff = identified(self.name, "/reports/demand-map", request, STAFF) is not None
        result = map_of_demand(self.runtime.db, start, end, request.args.get("category"), now, staff)
        if fmt == "geojson":
            response = json_response(geojson(result))
            response.content_type = "application/geo+json; charset=utf-8"  # RFC 7946
            return response
        return json_response(result)

    @route("GET", "/open-data/demand-list",
           public("open data: the demand list without titles, places down to the building"), query=("month", "format"),
           responses={200: TABLE})
    def open_demand_list(self, request: Request) -> Response:
        """The month's demand list (数字需求清单) as open data, one row per issue: ?month=YYYY-MM&format=csv|json."""
        month = reports.check_month(request.args.get("month"), self.runtime.app.clock())
        items = reports.demand_list(self.runtime.db, month)["items"]
        return table_response(request, "demand-list", reports.OPEN_COLUMNS, items,
                              {"month": month, "source": "yishi intake"})

    @route("GET", "/reports/demand-list", public("the monthly demand list is published"),
           query=("month", "format", "lang"), responses={200: DOCUMENT})
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
