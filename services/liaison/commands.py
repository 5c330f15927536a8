"""Validation of liaison commands at the edge: JSON in, plain values out, InvalidInput naming the field."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from services.liaison.rules import DUTIES, OFFERERS, UNIT_KINDS
from shared.deadlines import end_of_day, is_month
from shared.errors import InvalidInput, refuse_unknown

PHONE = re.compile(r"^\+?[\d\- ]{7,20}$")

FIELD_NAMES_ZH = {
    "name": "姓名", "contact": "联系方式", "phone": "电话", "email": "电子邮箱", "expertise": "专业特长",
    "station_id": "联络站", "community": "所在社区", "place": "地点", "representative_ids": "接待代表",
    "starts_at": "开始时间", "title": "主题", "topic": "议题", "visitors": "来访人数", "summary": "小结",
    "description": "诉求内容", "category": "问题分类", "location": "问题位置", "reporter": "反映人",
    "case_id": "案件编号", "representative_id": "代表", "reason": "督办原因", "note": "督办意见", "solved": "是否解决",
    "duty": "履职事项", "done_at": "完成时间", "party": "单位名称", "kind": "单位类别", "responsible": "负责人",
    "meeting_id": "会议编号", "meeting_at": "会议时间", "present": "是否出席", "month": "月份", "body": "请求内容",
    "offered_by": "资源提供方", "offerer_id": "提供方", "area": "服务区域", "capacity": "可服务数量",
    "availability": "可用时间", "case_ids": "需求(案件)", "match_ids": "匹配资源", "confirmed": "是否确认",
    "owner": "负责人", "due": "完成时限",
}


def _zh(field: str) -> str:
    return FIELD_NAMES_ZH.get(field.rsplit(".", 1)[-1].split("[")[0], field)


def digest(payload: Any) -> str:
    """Fingerprint of a command body: tells a retry (same body) from misuse of a key (another body)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def body(payload: Any, fields: tuple[str, ...], name: str = "body") -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput(f"{name} must be a JSON object", name, f"{_zh(name)}必须是一个 JSON 对象")
    refuse_unknown(payload, fields, "" if name == "body" else f"{name}.")
    return payload


def text(obj: dict, key: str, *, required: bool = True, max_len: int = 200, prefix: str = "") -> str | None:
    value, name = obj.get(key), prefix + key
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{name} is required", name, f"{_zh(name)}为必填项")
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidInput(f"{name} must be text", name, f"{_zh(name)}必须是文字")
    value = value.strip()
    if len(value) > max_len:
        raise InvalidInput(f"{name} is longer than {max_len} characters", name, f"{_zh(name)}不能超过{max_len}个字")
    return value


def moment(value: Any, name: str) -> datetime:
    """An RFC 3339 time with an offset, as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidInput(f"{name} must be an RFC 3339 time with an offset", name,
                           f"{_zh(name)}格式不正确(应如 2026-12-12T09:00:00+08:00)")
    return parsed.astimezone(timezone.utc)


def uuid(obj: dict, key: str, prefix: str = "") -> str:
    value = obj.get(key)
    try:
        return str(UUID(value)) if isinstance(value, str) else str(UUID(""))
    except ValueError:
        raise InvalidInput(f"{prefix}{key} must be an id (UUID)", prefix + key, f"{_zh(key)}格式不正确") from None


def month(value: Any, name: str = "month") -> str:
    if not is_month(value):
        raise InvalidInput(f"{name} must be YYYY-MM", name, f"{_zh(name)}格式应为 YYYY-MM")
    return value


def _texts(obj: dict, key: str, most: int, max_len: int = 30) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or len(value) > most:
        raise InvalidInput(f"{key} must be a list of at most {most}", key, f"{_zh(key)}须为不超过{most}项的列表")
    return [text({"v": v}, "v", max_len=max_len, prefix=f"{key}[{i}]") or "" for i, v in enumerate(value)]


def _contact(obj: dict, key: str, required: bool) -> dict[str, str]:
    value = obj.get(key)
    if value is None and not required:
        return {}
    contact = body(value, ("name", "phone", "email"), key) if value is not None else None
    if contact is None:
        raise InvalidInput(f"{key} is required", key, f"{_zh(key)}为必填项")
    out = {k: v for k in ("name", "phone", "email")
           if (v := text(contact, k, required=False, max_len=60, prefix=f"{key}.")) is not None}
    if "phone" in out and not PHONE.match(out["phone"]):
        raise InvalidInput(f"{key}.phone is not a phone number", f"{key}.phone", "电话号码格式不正确")
    return out


def station(payload: Any) -> dict[str, Any]:
    b = body(payload, ("name", "community", "place"))
    return {"name": text(b, "name", max_len=60), "community": text(b, "community", max_len=50),
            "place": text(b, "place", max_len=100)}


def representative(payload: Any) -> dict[str, Any]:
    b = body(payload, ("name", "contact", "expertise", "station_id"))
    return {"name": text(b, "name", max_len=30), "contact": _contact(b, "contact", required=False),
            "expertise": _texts(b, "expertise", most=10), "station_id": uuid(b, "station_id")}


def reception(payload: Any, now: datetime) -> dict[str, Any]:
    b = body(payload, ("station_id", "representative_ids", "starts_at", "place", "title"))
    ids = b.get("representative_ids")
    if not isinstance(ids, list) or not ids or len(ids) > 20:
        raise InvalidInput("representative_ids must list 1 to 20 representatives", "representative_ids",
                           "请指定1至20名接待代表")
    starts_at = moment(b.get("starts_at"), "starts_at")
    if starts_at <= now:
        raise InvalidInput("starts_at must be in the future", "starts_at", "接待日开始时间须晚于当前时间")
    return {"station_id": uuid(b, "station_id"), "starts_at": starts_at,
            "representative_ids": [uuid({"id": v}, "id", f"representative_ids[{i}].") for i, v in enumerate(ids)],
            "place": text(b, "place", required=False, max_len=100),
            "title": text(b, "title", required=False, max_len=100) or "代表接待日"}


def topic(payload: Any) -> str:
    return text(body(payload, ("topic",)), "topic", max_len=200) or ""


def concern(payload: Any) -> dict[str, Any]:
    """A visitor's concern, sent on to intake as it is (intake validates the report and keeps the contact)."""
    b = body(payload, ("title", "description", "category", "location", "reporter"))
    text(b, "title", max_len=100)
    return b


def held(payload: Any) -> dict[str, Any]:
    b = body(payload, ("visitors", "summary"))
    visitors = b.get("visitors")
    if not isinstance(visitors, int) or isinstance(visitors, bool) or not 0 <= visitors <= 10000:
        raise InvalidInput("visitors must be a whole number from 0", "visitors", "来访人数须为不小于0的整数")
    return {"visitors": visitors, "summary": text(b, "summary", required=False, max_len=2000) or ""}


def supervision(payload: Any) -> dict[str, Any]:
    b = body(payload, ("representative_id", "reason"))
    return {"representative_id": uuid(b, "representative_id"), "reason": text(b, "reason", max_len=500)}


def sign_off(payload: Any) -> dict[str, Any]:
    b = body(payload, ("representative_id", "note", "solved"))
    solved = b.get("solved", False)
    if not isinstance(solved, bool):
        raise InvalidInput("solved must be true or false", "solved", "是否解决须为 true 或 false")
    return {"representative_id": uuid(b, "representative_id"), "note": text(b, "note", max_len=2000),
            "solved": solved}


def duty(payload: Any) -> dict[str, Any]:
    b = body(payload, ("duty", "done_at", "note"))
    if b.get("duty") not in DUTIES or b.get("duty") == "hard_problem":
        allowed = [d for d in DUTIES if d != "hard_problem"]
        raise InvalidInput(f"duty must be one of {', '.join(allowed)} (hard problems count from supervised cases "
                           "solved)", "duty", "履职事项须为走访、政策宣讲、专题调研或履职报告之一")
    return {"duty": b["duty"], "done_at": moment(b.get("done_at"), "done_at"),
            "note": text(b, "note", required=False, max_len=2000) or ""}


def unit(payload: Any) -> dict[str, Any]:
    b = body(payload, ("party", "kind", "responsible"))
    if b.get("kind") not in UNIT_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(UNIT_KINDS)}", "kind",
                           f"单位类别须为{'、'.join(UNIT_KINDS.values())}之一")
    return {"party": text(b, "party", max_len=60), "kind": b["kind"],
            "responsible": _contact(b, "responsible", required=True)}


def attendance(payload: Any) -> dict[str, Any]:
    b = body(payload, ("meeting_id", "meeting_at", "present"))
    if not isinstance(b.get("present"), bool):
        raise InvalidInput("present must be true or false", "present", "是否出席须为 true 或 false")
    return {"meeting_id": text(b, "meeting_id", max_len=60), "meeting_at": moment(b.get("meeting_at"), "meeting_at"),
            "present": b["present"]}


def resource(payload: Any) -> dict[str, Any]:
    b = body(payload, ("offered_by", "offerer_id", "category", "title", "area", "capacity", "availability"))
    if b.get("offered_by") not in OFFERERS:
        raise InvalidInput(f"offered_by must be one of {', '.join(OFFERERS)}", "offered_by",
                           f"资源提供方须为{'、'.join(OFFERERS.values())}之一")
    capacity = b.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 100000:
        raise InvalidInput("capacity must be a whole number from 1", "capacity", "可服务数量须为不小于1的整数")
    offerer = None if b["offered_by"] == "volunteer" else uuid(b, "offerer_id")  # a volunteer is not named
    if b["offered_by"] == "volunteer" and b.get("offerer_id") is not None:
        raise InvalidInput("a volunteer's offer names no offerer_id: volunteers are not identified here",
                           "offerer_id", "志愿者资源不记录提供人")
    return {"offered_by": b["offered_by"], "offerer_id": offerer, "category": text(b, "category", max_len=20),
            "title": text(b, "title", max_len=100), "area": text(b, "area", max_len=50), "capacity": capacity,
            "availability": text(b, "availability", required=False, max_len=200) or ""}


def case_ids(payload: Any) -> list[str]:
    b = body(payload, ("case_ids",))
    ids = b.get("case_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 50:
        raise InvalidInput("case_ids must list 1 to 50 cases", "case_ids", "请列出1至50个案件")
    return [uuid({"id": v}, "id", f"case_ids[{i}].") for i, v in enumerate(ids)]


def decision(payload: Any) -> dict[str, Any]:
    b = body(payload, ("confirmed", "note"))
    if not isinstance(b.get("confirmed"), bool):
        raise InvalidInput("confirmed must be true or false", "confirmed", "是否确认须为 true 或 false")
    return {"confirmed": b["confirmed"], "note": text(b, "note", required=False, max_len=500) or ""}


def project(payload: Any, now: datetime) -> dict[str, Any]:
    b = body(payload, ("title", "case_ids", "match_ids", "owner", "due"))
    ids = case_ids({"case_ids": b.get("case_ids")})
    matches = b.get("match_ids", [])
    if not isinstance(matches, list) or len(matches) > 50:
        raise InvalidInput("match_ids must list at most 50 matches", "match_ids", "匹配资源不能超过50项")
    try:
        due = end_of_day(b.get("due")) or moment(b.get("due"), "due")
    except ValueError:
        raise InvalidInput("due is not a date", "due", "完成时限不是有效日期") from None
    if due <= now:
        raise InvalidInput("due must be in the future", "due", "完成时限须晚于当前时间")
    return {"title": text(b, "title", max_len=100), "case_ids": ids, "owner": text(b, "owner", max_len=60),
            "match_ids": [uuid({"id": v}, "id", f"match_ids[{i}].") for i, v in enumerate(matches)], "due": due}


def completion(payload: Any) -> str:
    return text(body(payload, ("summary",)), "summary", max_len=2000) or ""
