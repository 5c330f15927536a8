"""Validation of meeting commands at the edge: JSON in, plain values out, InvalidInput naming the field."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from services.meetings.domain import CHOICES
from services.meetings.rules import KINDS, MAJORITIES, ROLES
from shared.deadlines import end_of_day
from shared.errors import InvalidInput, refuse_unknown

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

FIELD_NAMES_ZH = {
    "kind": "会议类型", "title": "标题", "place": "地点", "meeting_at": "会议时间", "topics": "议题",
    "background": "背景资料", "draft_plan": "初步方案", "case_id": "案件编号", "proposal_id": "提议编号",
    "participants": "参会人员", "name": "姓名", "role": "身份", "organisation": "单位", "present": "到会人员",
    "chair": "主持人", "recorder": "记录人", "participant_id": "参会人员编号", "topic_id": "议题编号",
    "seconds": "发言时长(秒)", "summary": "摘要", "point": "分歧点", "positions": "各方观点", "text": "内容",
    "mode": "表决方式", "major": "是否重大事项", "majority": "通过规则", "motion_id": "表决事项编号",
    "choice": "表决意见", "ballot": "选票码", "resolutions": "决议", "owner": "责任人", "due": "完成时限",
    "month": "月份", "body": "请求内容", "reason": "原因", "resident": "居民标识", "category": "问题分类",
}


def _zh(field: str) -> str:
    return FIELD_NAMES_ZH.get(field.rsplit(".", 1)[-1].split("[")[0], field)


def digest(payload: Any) -> str:
    """Fingerprint of a command body: tells a retry (same body) from misuse of a key (another body)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _object(payload: Any, name: str = "body", fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A JSON object that carries `fields` only (when given): any other key is refused by its path."""
    if not isinstance(payload, dict):
        raise InvalidInput(f"{name} must be a JSON object", name, f"{_zh(name)}必须是一个 JSON 对象")
    if fields is not None:
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
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} is not valid Unicode text", name, f"{_zh(name)}含有无效字符") from None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidInput(f"{name} is longer than {max_len} characters", name, f"{_zh(name)}不能超过{max_len}个字")
    return value


def moment(value: Any, name: str) -> datetime:
    """An RFC 3339 time with an offset, as UTC."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"{name} must be an RFC 3339 time", name,
                           f"{_zh(name)}格式不正确(应如 2026-12-01T19:00:00+08:00)")
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone offset", name, f"{_zh(name)}需带时区(如 +08:00)")
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidInput(f"{name} is out of range", name, f"{_zh(name)}超出范围") from None


def deadline(value: Any, name: str) -> datetime:
    """A deadline: a date (the end of that day in Asia/Shanghai) or an RFC 3339 time."""
    try:
        day_end = end_of_day(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a date", name, f"{_zh(name)}不是有效日期") from None
    return day_end or moment(value, name)


def case_ref(obj: dict, key: str, prefix: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(UUID(value))
    except ValueError:
        raise InvalidInput(f"{prefix}{key} must be a UUID", prefix + key, f"{_zh(key)}格式不正确") from None


def _list(obj: dict, key: str, most: int, prefix: str = "") -> list:
    value = obj.get(key)
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{prefix}{key} must be a non-empty list", prefix + key, f"{_zh(key)}不能为空")
    if len(value) > most:
        raise InvalidInput(f"{prefix}{key} has more than {most} items", prefix + key, f"{_zh(key)}不能超过{most}项")
    return value


def _choice(obj: dict, key: str, allowed: dict | tuple, default: str | None = None) -> str:
    value = obj.get(key, default)
    if value not in allowed:
        raise InvalidInput(f"{key} must be one of {', '.join(allowed)}", key,
                           f"{_zh(key)}必须是 {'、'.join(allowed)} 之一")
    return value


def schedule(payload: Any, now: datetime) -> dict[str, Any]:
    body = _object(payload, fields=("kind", "meeting_at", "title", "place"))
    kind = _choice(body, "kind", KINDS)
    when = moment(body.get("meeting_at"), "meeting_at")
    if when <= now:
        raise InvalidInput("meeting_at must be in the future", "meeting_at", "会议时间须晚于当前时间")
    return {"kind": kind, "title": text(body, "title", required=False, max_len=100) or KINDS[kind][0],
            "place": text(body, "place", max_len=100), "meeting_at": when}


def reschedule(payload: Any, now: datetime) -> dict[str, Any]:
    body = _object(payload, fields=("meeting_at", "place", "reason"))
    when = moment(body.get("meeting_at"), "meeting_at")
    if when <= now:
        raise InvalidInput("meeting_at must be in the future", "meeting_at", "会议时间须晚于当前时间")
    return {"meeting_at": when, "place": text(body, "place", required=False, max_len=100),
            "reason": text(body, "reason", required=False, max_len=500)}


def cancellation(payload: Any) -> str:
    return text(_object(payload, fields=("reason",)), "reason", max_len=500) or ""


TOPIC_FIELDS = ("title", "background", "draft_plan", "case_id", "proposal_id")


def topics(payload: Any) -> list[dict[str, Any]]:
    """Agenda topics: {title?, background, draft_plan, case_id?} or {proposal_id, draft_plan, background?}."""
    body = _object(payload, fields=("topics",))
    out = []
    for i, raw in enumerate(_list(body, "topics", 30)):
        prefix = f"topics[{i}]."
        item = _object(raw, f"topics[{i}]", TOPIC_FIELDS)
        proposal = case_ref(item, "proposal_id", prefix)
        out.append({
            "title": text(item, "title", required=False, max_len=100, prefix=prefix),
            "background": text(item, "background", required=proposal is None, max_len=4000, prefix=prefix),
            "draft_plan": text(item, "draft_plan", max_len=4000, prefix=prefix),
            "case_id": case_ref(item, "case_id", prefix),
            "proposal_id": proposal,
        })
    return out


def participants(payload: Any) -> list[dict[str, Any]]:
    body = _object(payload, fields=("participants",))
    out = []
    for i, raw in enumerate(_list(body, "participants", 200)):
        prefix = f"participants[{i}]."
        item = _object(raw, f"participants[{i}]", ("name", "role", "organisation", "topic_id", "present"))
        role = item.get("role")
        if role not in ROLES:
            raise InvalidInput(f"{prefix}role must be one of {', '.join(ROLES)}", prefix + "role",
                               "身份必须是 " + "、".join(f"{zh}({k})" for k, (zh, _) in ROLES.items()) + " 之一")
        present = item.get("present", False)
        if not isinstance(present, bool):
            raise InvalidInput(f"{prefix}present must be true or false", prefix + "present", "到会情况须为 true 或 false")
        topic = text(item, "topic_id", required=False, max_len=20, prefix=prefix)
        out.append({"name": text(item, "name", max_len=30, prefix=prefix), "role": role,
                    "organisation": text(item, "organisation", required=False, max_len=60, prefix=prefix),
                    "topic_id": topic, "present": present})
    return out


def opening(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("present", "chair", "recorder"))
    present = body.get("present", [])
    if not isinstance(present, list) or not all(isinstance(p, str) for p in present):
        raise InvalidInput("present must be a list of participant ids", "present", "到会人员须为参会人员编号列表")
    return {"present": present, "chair": text(body, "chair", max_len=20),
            "recorder": text(body, "recorder", max_len=20)}


def statement(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("participant_id", "topic_id", "seconds", "summary"))
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 3600:
        raise InvalidInput("seconds must be a whole number from 1 to 3600", "seconds", "发言时长须为 1 到 3600 之间的整数秒")
    return {"participant_id": text(body, "participant_id", max_len=20), "topic_id": text(body, "topic_id", max_len=20),
            "seconds": seconds, "summary": text(body, "summary", max_len=2000)}


def disagreement(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("topic_id", "point", "positions"))
    positions = body.get("positions", [])
    if not isinstance(positions, list) or len(positions) > 20 or not all(
            isinstance(p, str) and 0 < len(p.strip()) <= 500 for p in positions):
        raise InvalidInput("positions must be a list of up to 20 texts", "positions", "各方观点须为不超过20条的文字列表")
    return {"topic_id": text(body, "topic_id", max_len=20), "point": text(body, "point", max_len=1000),
            "positions": [p.strip() for p in positions]}


def motion(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("text", "topic_id", "mode", "major", "majority"))
    major = body.get("major", False)
    if not isinstance(major, bool):
        raise InvalidInput("major must be true or false", "major", "是否重大事项须为 true 或 false")
    return {"text": text(body, "text", max_len=1000), "topic_id": text(body, "topic_id", required=False, max_len=20),
            "mode": _choice(body, "mode", ("open", "secret"), "secret" if major else "open"), "major": major,
            "majority": _choice(body, "majority", MAJORITIES, "simple")}


def vote(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("motion_id", "choice", "participant_id", "ballot"))
    out = {"motion_id": text(body, "motion_id", max_len=20), "choice": _choice(body, "choice", CHOICES),
           "participant_id": text(body, "participant_id", required=False, max_len=20),
           "ballot": text(body, "ballot", required=False, max_len=64)}
    if (out["participant_id"] is None) == (out["ballot"] is None):
        raise InvalidInput("give either ballot (secret ballot) or participant_id (named vote)", "ballot",
                           "无记名投票请提供选票码(ballot),记名表决请提供参会人员编号(participant_id),二者取一")
    return out


def minutes(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("resolutions", "summary"))
    raw = body.get("resolutions", [])
    if not isinstance(raw, list) or len(raw) > 50:
        raise InvalidInput("resolutions must be a list of up to 50", "resolutions", "决议须为不超过50项的列表")
    out = []
    for i, item in enumerate(raw):
        prefix = f"resolutions[{i}]."
        item = _object(item, f"resolutions[{i}]", ("text", "owner", "due", "case_id", "topic_id", "motion_id"))
        if item.get("due") is None:
            raise InvalidInput(f"{prefix}due is required", prefix + "due", "每项决议须明确完成时限")
        out.append({"text": text(item, "text", max_len=1000, prefix=prefix),
                    "owner": text(item, "owner", max_len=60, prefix=prefix),
                    "due": deadline(item["due"], prefix + "due"),
                    "case_id": case_ref(item, "case_id", prefix),
                    "topic_id": text(item, "topic_id", required=False, max_len=20, prefix=prefix),
                    "motion_id": text(item, "motion_id", required=False, max_len=20, prefix=prefix)})
    return {"resolutions": out, "summary": text(body, "summary", required=False, max_len=8000) or ""}


def closing(payload: Any) -> None:
    """Closing takes no fields: an empty body or {}."""
    if payload is not None:
        _object(payload, fields=())


def release(payload: Any) -> Any:
    """The month a results release names: {month}."""
    return _object(payload, fields=("month",)).get("month")


def month(value: Any, name: str = "month") -> str:
    if not isinstance(value, str) or not MONTH.match(value):
        raise InvalidInput(f"{name} must be YYYY-MM", name, "月份格式应为 YYYY-MM")
    return value


# residents in deliberation (议题征集、意见征集) ---------------------------------------------------------
def _resident(body: dict) -> str:
    """The resident's own reference (phone, WeChat id…): only its digest is kept, to count them once."""
    return text(body, "resident", max_len=100)


def suggestion(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("title", "background", "category", "resident"))
    return {"title": text(body, "title", max_len=100), "background": text(body, "background", max_len=2000),
            "category": text(body, "category", required=False, max_len=50), "resident": _resident(body)}


def signature(payload: Any) -> str:
    return _resident(_object(payload, fields=("resident",)))


def opinion(payload: Any) -> dict[str, Any]:
    body = _object(payload, fields=("topic_id", "text"))
    return {"topic_id": text(body, "topic_id", max_len=20), "text": text(body, "text", max_len=1000)}
