"""Open311 GeoReport v2 for city systems (the 12345 hotline, the grid platform): services and requests.

A translation layer only: a request becomes the same report `POST /issues` takes (channel `open311`),
and a report is shown in GeoReport's shape (JSON or XML: open311_formats.py). GeoReport has no field for
the community, which every report needs: it is the attribute `community`, else the community the
`jurisdiction_id` names, else the one the point (`lat`/`long`) lies in, else the deployment's default
(boundaries.py); a request is refused only when none applies.

Extensions implementers use: `page`/`page_size` on the request list, `extensions=true` for
`extended_attributes` (community, building, tier, case, deadlines, the current step), and inbound updates from a
city system's own tracker (`servicerequestupdates`): `closed` resolves the case (the resident still confirms),
`open` is a progress note on the resident's timeline.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping
from uuid import uuid5

from services.intake.boundaries import Boundaries
from services.intake.domain import CATEGORIES, CityUpdate, Issue, public_text
from services.intake.progress import CaseSoFar
from shared.contracts.envelope import rfc3339
from shared.masking import public_point
from shared.errors import InvalidInput, refuse_unknown

# service_code -> category: ASCII codes for systems that cannot key on Chinese names
SERVICE_CODES: dict[str, str] = {
    "safety": "安全隐患", "facility": "设施维护", "sanitation": "环境卫生", "parking": "停车交通",
    "neighbours": "邻里纠纷", "property": "物业管理", "services": "服务供给", "other": "其他",
}
CODE_OF = {category: code for code, category in SERVICE_CODES.items()}
assert set(SERVICE_CODES.values()) == set(CATEGORIES), "every category needs a service code"

# (zh-CN, English): Chinese first, English when the client asks for it (Accept-Language)
DESCRIPTIONS = {
    "safety": ("安全隐患:消防通道堵塞、漏电、燃气等", "Safety hazards: blocked fire exits, exposed wiring, gas"),
    "facility": ("设施维护:路灯、楼道照明、电梯、健身器材等",
                 "Facility repair: street and stairwell lights, lifts, fitness equipment"),
    "sanitation": ("环境卫生:垃圾清运、卫生清扫、绿化等", "Sanitation: garbage collection, cleaning, greenery"),
    "parking": ("停车交通:停车难、占道、电动车充电等", "Parking and traffic"),
    "neighbours": ("邻里纠纷:噪音、邻里矛盾等", "Neighbour disputes: noise, conflicts"),
    "property": ("物业管理:物业服务、业委会换届等", "Property management, owners' committee"),
    "services": ("服务供给:养老助餐、托育、无障碍等", "Community services: elderly meals, childcare, accessibility"),
    "other": ("其他诉求", "Other"),
}
_ATTRIBUTE_TEXT = {  # code -> (required, zh-CN, English)
    "community": (False, "所在社区(不填时按管辖区编号、坐标或默认社区确定)",
                  "The community (else from jurisdiction_id, the point, or the default community)"),
    "building": (False, "楼栋", "Building"),
    "unit": (False, "单元", "Unit"),
    "title": (False, "标题(不填时取问题描述的开头)", "Title (the description's start when absent)"),
}
ATTRIBUTES = [{"variable": True, "code": code, "datatype": "string", "required": required, "order": order}
              for order, (code, (required, _, _)) in enumerate(_ATTRIBUTE_TEXT.items(), 1)]
# what GeoReport lets a client send: every request may name its jurisdiction and key (the key is the city
# system's token, checked by the access policy); of a request's fields, device_id, account_id, address_id
# and media_url are accepted and not kept
QUERY = ("jurisdiction_id", "api_key")
LIST_QUERY = (*QUERY, "service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size",
              "extensions")
REQUEST_FIELDS = (*QUERY, "service_code", "lat", "long", "address_string", "address_id", "email", "device_id",
                  "account_id", "first_name", "last_name", "phone", "description", "media_url",
                  *(f"attribute[{a['code']}]" for a in ATTRIBUTES))
UPDATE_STATUSES = ("open", "closed")
UPDATE_FIELDS = (*QUERY, "service_request_id", "update_id", "status", "description", "updated_datetime", "email",
                 "first_name", "last_name", "title", "media_url", "account_id")
# our status -> GeoReport's open/closed: a resolved case stays open until its resident confirms it
CLOSED = ("closed", "merged")
AGENCY = "社区居民议事会"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00Z"  # when this endpoint's behaviour last changed (discovery)


def services(english: bool = False) -> list[dict[str, Any]]:
    return [{"service_code": code, "service_name": category, "description": DESCRIPTIONS[code][english],
             "metadata": True, "type": "realtime", "keywords": "", "group": category}
            for code, category in SERVICE_CODES.items()]


def definition(service_code: str, english: bool = False) -> dict[str, Any]:
    if service_code not in SERVICE_CODES:
        raise InvalidInput(f"service_code must be one of {', '.join(SERVICE_CODES)}", "service_code",
                           f"service_code 必须是 {'、'.join(SERVICE_CODES)} 之一")
    texts = {code: text[2 if english else 1] for code, text in _ATTRIBUTE_TEXT.items()}
    return {"service_code": service_code, "attributes": [
        a | {"datatype_description": texts[a["code"]], "description": texts[a["code"]]} for a in ATTRIBUTES]}


def _number(form: Mapping[str, str], name: str) -> float | None:
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number", name, f"{name} 必须是数字") from None


def report_payload(form: Mapping[str, str], boundaries: Boundaries) -> dict[str, Any]:
    """A GeoReport request's fields (form-encoded, attributes as `attribute[code]`) as intake's report body.

    Personal data maps to the fields intake keeps private: the name, phone and e-mail to `reporter`, the
    exact `address_string` to `location.room`; what the field checks then refuse is named by intake's field.
    """
    refuse_unknown(form, REQUEST_FIELDS)
    code = form.get("service_code")
    if not code:
        raise InvalidInput("service_code is required", "service_code", "service_code 为必填项")
    definition(code)
    description = (form.get("description") or "").strip()
    if not description:
        raise InvalidInput("description is required", "description", "问题描述为必填项")
    lat, lon = _number(form, "lat"), _number(form, "long")
    name = "".join(p.strip() for p in (form.get("last_name") or "", form.get("first_name") or ""))
    location = {"community": community_of(form, lat, lon, boundaries), "building": form.get("attribute[building]") or None,
                "unit": form.get("attribute[unit]") or None, "room": form.get("address_string") or None,
                "lat": lat, "lon": lon}
    title = (form.get("attribute[title]") or "").strip() or description.splitlines()[0][:30]
    return {"channel": "open311", "category": SERVICE_CODES[code], "title": title, "description": description,
            "location": {k: v for k, v in location.items() if v is not None},
            "reporter": {k: v for k, v in (("name", name), ("phone", form.get("phone")), ("email", form.get("email")))
                         if v}}


def community_of(form: Mapping[str, str], lat: float | None, lon: float | None, boundaries: Boundaries) -> str:
    """The attribute, else the jurisdiction's community, else the point's, else the default; refused when none."""
    named = (form.get("attribute[community]") or "").strip()
    jurisdiction = (form.get("jurisdiction_id") or "").strip()
    found = (named or (boundaries.of_jurisdiction(jurisdiction) if jurisdiction else None)
             or (boundaries.at(lat, lon) if lat is not None and lon is not None else None) or boundaries.default)
    if not found:
        raise InvalidInput("the community is unknown: send attribute[community], a jurisdiction_id or a point inside "
                           "a configured community", "attribute[community]",
                           "无法确定所在社区:请填写 attribute[community],或提供 jurisdiction_id 或位于社区范围内的坐标")
    return found


def codes(raw: str | None) -> tuple[str, ...]:
    """`service_code=a,b` (GeoReport: several, comma-delimited) as categories, each refused by name if unknown."""
    picked = tuple(c for c in (raw or "").split(",") if c)
    for code in picked:
        definition(code)
    return tuple(SERVICE_CODES[c] for c in picked)


def paging(args: Mapping[str, str]) -> tuple[int, int]:
    """(limit, offset) of `page` (from 1) and `page_size` (1-1000, default 1000: GeoReport's own limit)."""
    values = []
    for name, default, high in (("page", 1, 10**6), ("page_size", 1000, 1000)):
        raw = args.get(name)
        if raw is not None and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= high):
            raise InvalidInput(f"{name} must be an integer from 1 to {high}", name, f"{name} 必须是 1 到 {high} 之间的整数")
        values.append(int(raw) if raw is not None else default)
    page, size = values
    return size, (page - 1) * size


def extensions(args: Mapping[str, str]) -> bool:
    raw = args.get("extensions")
    if raw not in (None, "true", "false"):
        raise InvalidInput("extensions must be true or false", "extensions", "extensions 必须是 true 或 false")
    return raw == "true"


def w3c_time(raw: str | None, name: str) -> datetime | None:
    """A GeoReport date-time (W3C, with its offset), in UTC; None when absent."""
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"{name} must be a W3C date-time with offset", name, f"{name} 须为带时区的时间")
    return moment.astimezone(timezone.utc)


def update_of(form: Mapping[str, str]) -> tuple[str, CityUpdate]:
    """A city system's inbound update of a request (`servicerequestupdates`, the extension FixMyStreet and
    mySociety's open311-adapter speak): (service_request_id, the update). Who updated (e-mail, names) and media
    are accepted and not kept."""
    refuse_unknown(form, UPDATE_FIELDS)
    fields = {}
    for name, high in (("service_request_id", 64), ("update_id", 100), ("status", 10), ("description", 2000)):
        value = (form.get(name) or "").strip()
        if not value:
            raise InvalidInput(f"{name} is required", name, f"{name} 为必填项")
        if len(value) > high:
            raise InvalidInput(f"{name} must be at most {high} characters", name, f"{name} 不能超过 {high} 个字符")
        fields[name] = value
    if fields["status"] not in UPDATE_STATUSES:
        raise InvalidInput("status must be open or closed", "status", "status 必须是 open 或 closed")
    return fields["service_request_id"], CityUpdate(fields["update_id"], fields["status"], fields["description"],
                                                    w3c_time(form.get("updated_datetime"), "updated_datetime"))


def update_receipt(issue: Issue, system: str, update: CityUpdate) -> dict[str, Any]:
    """What GeoReport's update extension answers: the update's id here (the same for the same update)."""
    return {"update_id": str(uuid5(issue.id, f"{system}:{update.update_id}")), "service_request_id": str(issue.id)}


def discovery(base_url: str) -> dict[str, Any]:
    """GeoReport's discovery document: where the endpoint is and what it speaks."""
    return {"changeset": CHANGESET, "contact": AGENCY, "key_service": "向社区居民议事会申请城市系统令牌",
            "endpoints": [{"specification": SPECIFICATION, "url": base_url.rstrip("/") + "/open311/v2",
                           "changeset": CHANGESET, "type": "production",
                           "formats": ["application/json", "text/xml"]}]}


def doc_of(issue: Issue, case: CaseSoFar) -> dict[str, Any]:
    """An issue as lists show it (projections.issue_doc), from the aggregate and its case: no wait for the index."""
    report = issue.report
    times = [rfc3339(issue.reported_at), *(p["at"] for p in case.timeline),
             *([rfc3339(issue.merged_at)] if issue.merged_at else [])]
    last = case.timeline[-1] if case.timeline else {}
    return {"issue_id": str(issue.id), "category": issue.category, "title": public_text(report["title"], report),
            "location": public_point(report["location"]), "reported_at": rfc3339(issue.reported_at),
            "updated_at": max(times, key=lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))),
            "status": "merged" if issue.merged_into else case.status,
            "step_zh": last.get("step_zh"), "case": case.case or {}}


def request_view(doc: Mapping[str, Any], extended: bool = False) -> dict[str, Any]:
    """One issue (its public index entry) as a GeoReport service request; personal data is never in it."""
    location = doc.get("location") or {}
    case = doc.get("case") or {}
    due = case.get("due") or {}
    view = {
        "service_request_id": doc["issue_id"],
        "status": "closed" if doc.get("status") in CLOSED else "open",
        "status_notes": doc.get("step_zh") or "已受理",
        "service_name": doc["category"],
        "service_code": CODE_OF.get(doc["category"], "other"),
        "description": doc["title"],
        "agency_responsible": case.get("party") or AGENCY,
        "service_notice": None,
        "requested_datetime": doc["reported_at"],
        "updated_datetime": doc.get("updated_at") or doc["reported_at"],
        "expected_datetime": due.get("resolve_by") or due.get("plan_by") or due.get("verify_by"),
        "address": "".join(location.get(k) or "" for k in ("community", "building", "unit")),
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": None,
    }
    if extended:  # GeoReport's extension: what a city system's tracker needs beyond the standard fields
        view["extended_attributes"] = {
            "community": location.get("community"), "building": location.get("building"),
            "unit": location.get("unit"), "status": doc.get("status"), "tier": case.get("tier"),
            "case_id": doc.get("case_id") or case.get("case_id"), "party": case.get("party"),
            "deadlines": dict(due) or None, "step": doc.get("step_zh")}
    return view
