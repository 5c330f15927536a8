"""Validation of casework's HTTP commands: who may do what (role-appropriate), and each field by name.

Identity comes from the sign-on token (shared/edge/access.py): the HTTP edge puts the token's actor
({role, name, subject}) into the command; ALLOWED is the one table of which roles the council's procedure
gives each step to, declared on the routes and checked again here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from services.casework.domain import COUNCIL_TEAMS, ESCALATION_TARGETS, PARTY_ROLES, Actor, Forbidden
from services.casework.triage import PARTY_KINDS, TIERS
from shared.deadlines import end_of_day
from shared.edge.access import ROLES
from shared.errors import InvalidInput, refuse_unknown

ROLES_ZH = ROLES  # one table of the roles and their Chinese names (shared/edge/access.py)
PARTIES = PARTY_ROLES
ALLOWED: dict[str, tuple[str, ...]] = {
    "verification": ("council_member", "community_worker", "emergency_team", "secretary", "task_force"),
    "plan": ("council_member", "community_worker", "secretary", *PARTIES),
    "assignment": ("community_worker", "secretary"),
    "escalation": ("council_member", "community_worker", "secretary"),
    "resolution": ("community_worker", "secretary", *PARTIES),
    "triage": ("community_worker", "secretary"),
    "survey": ("community_worker", "secretary"),
    "rules": ("community_worker", "secretary"),
    "calendar": ("community_worker", "secretary"),  # entering the State Council's holiday notice
    # the responsible party's workflow (派单): the party acknowledges, returns, asks for time; the secretary rules
    # (the council's own teams — 社区应急小组, 议事会调解小组 — act on the cases sent to them: party_kind council)
    "acknowledgement": (*PARTIES, *COUNCIL_TEAMS),
    "return": (*PARTIES, *COUNCIL_TEAMS),
    "return-dispute": ("community_worker", "secretary"),
    "return-ruling": ("secretary",),
    "extension": (*PARTIES, *COUNCIL_TEAMS),
    "extension-decision": ("secretary",),
    "note": ("council_member", "community_worker", "emergency_team", "secretary", *PARTIES),
    "reply": ("community_worker", "secretary", *PARTIES),  # a message to the resident on their timeline
    "templates": ("community_worker", "secretary"),  # editing the response templates (常用答复)
}


# the fields each command's body may carry besides `actor`: any other is refused by name
FIELDS: dict[str, tuple[str, ...]] = {
    "verification": ("note",), "plan": ("plan", "due"), "assignment": ("party_kind", "party", "reason"),
    "escalation": ("to", "reason"), "resolution": ("summary",), "triage": ("tier", "reason"),
    "survey": ("period", "items"), "rules": ("rule_id", "tier", "keywords", "categories", "note"),
    "calendar": ("holidays", "workdays", "document"),
    "acknowledgement": (), "return": ("reason",), "return-dispute": ("reason",), "return-ruling": ("upheld", "reason"),
    "extension": ("due", "reason"), "extension-decision": ("approved", "reason"), "note": ("text", "visible_to"),
    "templates": ("category", "kind", "text"),
}
FIELDS["resolution"] = ("summary", "template_id")
FIELDS["reply"] = ("text", "template_id")


@dataclass(frozen=True)
class Command:
    actor: Actor
    fields: dict[str, Any]


def _obj(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput("body must be a JSON object", "body", "请求内容必须是 JSON 对象")
    return payload


def text(payload: dict, name: str, zh: str, *, required: bool = True, max_len: int = 2000) -> str | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{name} is required", name, f"{zh}不能为空")
    if len(value) > max_len:
        raise InvalidInput(f"{name} must be at most {max_len} characters", name, f"{zh}不能超过 {max_len} 个字符")
    return value.strip()


def when(payload: dict, name: str, zh: str, *, required: bool) -> datetime | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an RFC 3339 time", name, f"{zh}须为 RFC 3339 时间") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone offset", name, f"{zh}需带时区(如 +08:00)")
    return parsed.astimezone(timezone.utc)


def due(payload: dict, name: str, zh: str) -> datetime | None:
    """A deadline: a date (the end of that day in Asia/Shanghai) or an RFC 3339 time."""
    try:
        day_end = end_of_day(payload.get(name))
    except ValueError:
        raise InvalidInput(f"{name} is not a date", name, f"{zh}不是有效日期") from None
    return day_end or when(payload, name, zh, required=False)


def actor_for(payload: Any, command: str) -> Actor:
    """The actor of a command whose body may carry `actor` and the command's FIELDS only."""
    refuse_unknown(_obj(payload), ("actor", *FIELDS[command]))
    actor = payload.get("actor")
    if not isinstance(actor, dict):
        raise InvalidInput("actor {role, name} is required", "actor", "须注明操作人 actor {role, name}")
    refuse_unknown(actor, ("role", "name", "subject"), "actor.")  # filled from the token
    role, name = actor.get("role"), actor.get("name")
    if role not in ROLES_ZH:
        raise InvalidInput(f"actor.role must be one of {', '.join(ROLES_ZH)}", "actor.role",
                           f"actor.role 必须是 {'、'.join(ROLES_ZH)} 之一")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 50:
        raise InvalidInput("actor.name must be 1 to 50 characters", "actor.name", "操作人姓名须为 1 到 50 个字符")
    if role not in ALLOWED[command]:
        allowed = "、".join(ROLES_ZH[r] for r in ALLOWED[command])
        raise Forbidden(f"a {role} may not perform {command}; allowed: {', '.join(ALLOWED[command])}", "actor.role",
                        f"{ROLES_ZH[role]}无权执行该操作,限:{allowed}")
    subject = actor.get("subject")
    return {"role": role, "name": name.strip(), **({"subject": subject} if isinstance(subject, str) else {})}


def parse(command: str, payload: Any) -> Command:
    body = _obj(payload)
    actor = actor_for(body, command)
    fields: dict[str, Any]
    if command == "verification":
        fields = {"note": text(body, "note", "核实情况", required=False)}
    elif command == "plan":
        fields = {"plan": text(body, "plan", "方案"), "due": due(body, "due", "完成时限")}
    elif command == "assignment":
        kind = body.get("party_kind")
        if kind not in PARTY_KINDS:
            raise InvalidInput(f"party_kind must be one of {', '.join(PARTY_KINDS)}", "party_kind",
                               f"责任主体类型必须是 {'、'.join(PARTY_KINDS)} 之一")
        fields = {"party": text(body, "party", "责任主体", max_len=100), "party_kind": kind,
                  "reason": text(body, "reason", "指派理由", required=False) or "工作人员指派"}
    elif command == "escalation":
        if body.get("to") not in ESCALATION_TARGETS:
            raise InvalidInput(f"to must be one of {', '.join(ESCALATION_TARGETS)}", "to",
                               f"上报对象必须是 {'、'.join(ESCALATION_TARGETS)} 之一")
        fields = {"to": body["to"], "reason": text(body, "reason", "上报理由")}
    elif command == "resolution":  # a response template's text, or a summary typed (both: template, then summary)
        template = text(body, "template_id", "答复模板", required=False, max_len=64)
        fields = {"summary": text(body, "summary", "办理结果", required=template is None), "template_id": template}
    elif command == "reply":  # like a resolution: a template's text, or typed, or both
        template = text(body, "template_id", "答复模板", required=False, max_len=64)
        fields = {"summary": text(body, "text", "回复内容", required=template is None), "template_id": template}
    elif command in WORKFLOW:
        fields = WORKFLOW[command](body, actor)
    elif command == "triage":
        if body.get("tier") not in TIERS:
            raise InvalidInput(f"tier must be one of {', '.join(TIERS)}", "tier", f"分级必须是 {'、'.join(TIERS)} 之一")
        fields = {"tier": body["tier"], "reason": text(body, "reason", "调整理由")}
    else:
        raise ValueError(command)
    return Command(actor, fields)


def flag(payload: dict, name: str, zh: str) -> bool:
    value = payload.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false", name, f"{zh}须为 true 或 false")
    return value


def _visible_to(body: dict, actor: Actor) -> list[str]:
    """Who reads a note: the roles named (default: the community's own staff), always with the author's."""
    roles = body.get("visible_to", list(NOTE_DEFAULT_AUDIENCE))
    if not isinstance(roles, list) or not roles or any(r not in ALLOWED["note"] for r in roles):
        raise InvalidInput(f"visible_to must be a list of roles among {', '.join(ALLOWED['note'])}", "visible_to",
                           f"visible_to 须为角色列表,限:{'、'.join(ROLES_ZH[r] for r in ALLOWED['note'])}")
    return sorted({*roles, actor["role"]})


NOTE_DEFAULT_AUDIENCE = ("community_worker", "secretary", "council_member")
WORKFLOW: dict[str, Any] = {
    "acknowledgement": lambda body, actor: {},
    "return": lambda body, actor: {"reason": text(body, "reason", "退单理由", max_len=500)},
    "return-dispute": lambda body, actor: {"reason": text(body, "reason", "异议理由", max_len=500)},
    "return-ruling": lambda body, actor: {"upheld": flag(body, "upheld", "裁定结果"),
                                          "reason": text(body, "reason", "裁定理由", max_len=500)},
    "extension": lambda body, actor: {"due": due(body, "due", "申请办结时限") or _missing("due", "申请办结时限"),
                                      "reason": text(body, "reason", "延期理由", max_len=500)},
    "extension-decision": lambda body, actor: {"approved": flag(body, "approved", "审批结果"),
                                               "reason": text(body, "reason", "审批意见", max_len=500)},
    "note": lambda body, actor: {"text": text(body, "text", "备注"), "visible_to": _visible_to(body, actor)},
}


def _missing(name: str, zh: str) -> Any:
    raise InvalidInput(f"{name} is required", name, f"{zh}不能为空")


def parse_survey(payload: Any) -> tuple[Actor, str, list[dict[str, Any]]]:
    """A quarterly satisfaction survey (居民满意度测评): per item, satisfied responses out of all."""
    body = _obj(payload)
    actor = actor_for(body, "survey")
    period = text(body, "period", "测评期", max_len=20)
    items = body.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= 1000:
        raise InvalidInput("items must be a list of 1 to 1000 entries", "items", "items 须为 1 到 1000 项的列表")
    parsed = []
    for i, item in enumerate(items):
        where = f"items[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object", where, f"{where} 必须是对象")
        refuse_unknown(item, ("case_id", "satisfied", "total"), f"{where}.")
        case_id = item.get("case_id")
        if not isinstance(case_id, str):
            raise InvalidInput(f"{where}.case_id is required", f"{where}.case_id", f"{where}.case_id 不能为空")
        total, satisfied = item.get("total"), item.get("satisfied")
        if not isinstance(total, int) or isinstance(total, bool) or not 1 <= total <= 100000:
            raise InvalidInput(f"{where}.total must be an integer from 1", f"{where}.total", f"{where}.total 须为正整数")
        if not isinstance(satisfied, int) or isinstance(satisfied, bool) or not 0 <= satisfied <= total:
            raise InvalidInput(f"{where}.satisfied must be an integer from 0 to total", f"{where}.satisfied",
                               f"{where}.satisfied 须为 0 到 total 之间的整数")
        parsed.append({"case_id": case_id, "satisfied": satisfied, "total": total})
    return actor, period, parsed
