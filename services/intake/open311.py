"""Open311 GeoReport v2 for city systems (the 12345 hotline, the grid platform): services and requests.

A translation layer only: a request becomes the same report `POST /issues` takes (channel `open311`),
and a report is shown in GeoReport's shape. GeoReport has no field for the community, which every
report needs, so it is the service definition's required attribute `community`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from services.intake.domain import CATEGORIES, Issue, public_text
from services.intake.progress import CaseSoFar
from shared.contracts.envelope import rfc3339
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
    "community": (True, "所在社区(必填)", "The community (required)"),
    "building": (False, "楼栋", "Building"),
    "unit": (False, "单元", "Unit"),
    "title": (False, "标题(不填时取问题描述的开头)", "Title (the description's start when absent)"),
}
ATTRIBUTES = [{"variable": True, "code": code, "datatype": "string", "required": required, "order": order}
              for order, (code, (required, _, _)) in enumerate(_ATTRIBUTE_TEXT.items(), 1)]
# what GeoReport lets a client send: every request may name its jurisdiction and key (neither is used here);
# a request's fields, of which email, device_id, account_id, address_id and media_url are accepted and not kept
QUERY = ("jurisdiction_id", "api_key")
REQUEST_FIELDS = (*QUERY, "service_code", "lat", "long", "address_string", "address_id", "email", "device_id",
                  "account_id", "first_name", "last_name", "phone", "description", "media_url",
                  *(f"attribute[{a['code']}]" for a in ATTRIBUTES))
# our status -> GeoReport's open/closed: a resolved case stays open until its resident confirms it
CLOSED = ("closed", "merged")
AGENCY = "社区居民议事会"


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


def report_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """A GeoReport request's fields (form-encoded, attributes as `attribute[code]`) as intake's report body.

    Personal data maps to the fields intake keeps private: the name and phone to `reporter`, the exact
    `address_string` to `location.room`; what the field checks then refuse is named by intake's field.
    """
    refuse_unknown(form, REQUEST_FIELDS)
    code = form.get("service_code")
    if not code:
        raise InvalidInput("service_code is required", "service_code", "service_code 为必填项")
    definition(code)
    description = (form.get("description") or "").strip()
    if not description:
        raise InvalidInput("description is required", "description", "问题描述为必填项")
    community = (form.get("attribute[community]") or "").strip()
    if not community:
        raise InvalidInput("attribute[community] is required", "attribute[community]", "所在社区 attribute[community] 为必填项")
    name = "".join(p.strip() for p in (form.get("last_name") or "", form.get("first_name") or ""))
    location = {"community": community, "building": form.get("attribute[building]") or None,
                "unit": form.get("attribute[unit]") or None, "room": form.get("address_string") or None,
                "lat": _number(form, "lat"), "lon": _number(form, "long")}
    title = (form.get("attribute[title]") or "").strip() or description.splitlines()[0][:30]
    return {"channel": "open311", "category": SERVICE_CODES[code], "title": title, "description": description,
            "location": {k: v for k, v in location.items() if v is not None},
            "reporter": {k: v for k, v in (("name", name), ("phone", form.get("phone"))) if v}}


def doc_of(issue: Issue, case: CaseSoFar) -> dict[str, Any]:
    """An issue as lists show it (projections.issue_doc), from the aggregate and its case: no wait for the index."""
    report = issue.report
    times = [rfc3339(issue.reported_at), *(p["at"] for p in case.timeline),
             *([rfc3339(issue.merged_at)] if issue.merged_at else [])]
    last = case.timeline[-1] if case.timeline else {}
    return {"issue_id": str(issue.id), "category": issue.category, "title": public_text(report["title"], report),
            "location": report["location"], "reported_at": rfc3339(issue.reported_at),
            "updated_at": max(times, key=lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))),
            "status": "merged" if issue.merged_into else case.status,
            "step_zh": last.get("step_zh"), "case": case.case or {}}


def request_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """One issue (its public index entry) as a GeoReport service request; personal data is never in it."""
    location = doc.get("location") or {}
    case = doc.get("case") or {}
    due = case.get("due") or {}
    return {
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
