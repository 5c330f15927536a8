"""Validation of casework's HTTP commands: who may do what (role-appropriate), and each field by name.

Identity comes from the sign-on token (shared/edge/access.py): the HTTP edge puts the token's actor
({role, name, subject}) into the command; ALLOWED is the one table of which roles the council's procedure
gives each step to, declared on the routes and checked again here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from services.casework.domain import COUNCIL_TEAMS, ESCALATION_TARGETS, PARTY_ROLES, Actor, Forbidden
from services.casework.templates import KINDS as TEMPLATE_KINDS
from services.casework.triage import PARTY_KINDS, TIERS
from shared.edge.access import ROLES
from shared.errors import InvalidInput, refuse_unknown
from shared.models import Body, Due, Text, broken, required

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


NOTE_DEFAULT_AUDIENCE = ("community_worker", "secretary", "council_member")
NOTE_READERS = ALLOWED["note"]


class CaseCommand(Body):
    """A staff command on one case, posted to /cases/{case_id}/{name}; `roles` are the roles allowed."""

    name: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]


class Verify(CaseCommand):
    """现场核实: the case was checked on site."""
    name, roles = "verification", ALLOWED["verification"]
    example = {"note": "已到现场核实,3号楼2单元楼道灯损坏"}
    note: Text[2000, "核实情况"] | None = None


class ProposePlan(CaseCommand):
    """提出方案: how and by when the case will be handled."""
    name, roles = "plan", ALLOWED["plan"]
    example = {"plan": "物业本周内更换楼道灯", "due": "2026-12-10"}
    plan: Text[2000, "方案"]
    due: Due["完成时限"] | None = None


class Dispatch(CaseCommand):
    """派单: the case is sent to a responsible party."""
    name, roles = "assignment", ALLOWED["assignment"]
    example = {"party_kind": "property", "party": "幸福里物业", "reason": "楼道照明属物业维修范围"}
    party_kind: Literal[PARTY_KINDS] = Field(title="责任主体类型")
    party: Text[100, "责任主体"]
    reason: Text[2000, "指派理由"] = "工作人员指派"


class Escalate(CaseCommand):
    """上报: to the council (议事会) or beyond."""
    name, roles = "escalation", ALLOWED["escalation"]
    example = {"to": "council", "reason": "涉及多个楼栋,需议事会协商"}
    to: Literal[ESCALATION_TARGETS] = Field(title="上报对象")
    reason: Text[2000, "上报理由"]


class Resolve(CaseCommand):
    """办结: a response template's text (常用答复), a summary typed, or both (the template's first)."""
    name, roles = "resolution", ALLOWED["resolution"]
    example = {"summary": "已更换楼道灯,经居民确认恢复照明"}
    summary: Text[2000, "办理结果"] | None = None
    template_id: Text[64, "答复模板"] | None = None

    @model_validator(mode="after")
    def _said(self):
        if self.summary is None and self.template_id is None:
            raise required("summary")
        return self


class Retriage(CaseCommand):
    """调整分级: staff override the tier, with a reason; the new tier's clocks apply."""
    name, roles = "triage", ALLOWED["triage"]
    example = {"tier": "urgent", "reason": "路灯下是学校通道"}
    tier: Literal[TIERS] = Field(title="分级")
    reason: Text[2000, "调整理由"]


class Acknowledge(CaseCommand):
    """签收: the responsible party takes the case up."""
    name, roles = "acknowledgement", ALLOWED["acknowledgement"]
    example = {}


class Return(CaseCommand):
    """退单: the party sends the case back, with a reason."""
    name, roles = "return", ALLOWED["return"]
    example = {"reason": "该路段不属本物业管理范围"}
    reason: Text[500, "退单理由"]


class DisputeReturn(CaseCommand):
    """退单异议: staff disagree with a return; the secretary rules."""
    name, roles = "return-dispute", ALLOWED["return-dispute"]
    example = {"reason": "该楼栋在物业服务合同范围内"}
    reason: Text[500, "异议理由"]


class RuleReturn(CaseCommand):
    """裁定退单: the secretary upholds the return or sends the case back to the party."""
    name, roles = "return-ruling", ALLOWED["return-ruling"]
    example = {"upheld": False, "reason": "合同约定由物业负责"}
    upheld: bool = Field(title="裁定结果")
    reason: Text[500, "裁定理由"]


class RequestExtension(CaseCommand):
    """延期申请: the party asks for more time."""
    name, roles = "extension", ALLOWED["extension"]
    example = {"due": "2026-12-20", "reason": "灯具需厂家供货"}
    due: Due["申请办结时限"]
    reason: Text[500, "延期理由"]


class DecideExtension(CaseCommand):
    """延期审批: the secretary approves or refuses an extension."""
    name, roles = "extension-decision", ALLOWED["extension-decision"]
    example = {"approved": True, "reason": "同意延期至12月20日"}
    approved: bool = Field(title="审批结果")
    reason: Text[500, "审批意见"]


class AddNote(CaseCommand):
    """内部备注: a note for the roles named (default: the community's own staff), always with the author's."""
    name, roles = "note", ALLOWED["note"]
    example = {"text": "居民白天不在家,晚上7点后联系", "visible_to": ["community_worker", "secretary"]}
    text: Text[2000, "备注"]
    visible_to: list[Literal[NOTE_READERS]] = Field(NOTE_DEFAULT_AUDIENCE, min_length=1, title="可见角色")


class Reply(CaseCommand):
    """回复居民: a message on the resident's timeline; a template's text, typed, or both."""
    name, roles = "reply", ALLOWED["reply"]
    example = {"text": "物业已安排电工明天上午维修"}
    text: Text[2000, "回复内容"] | None = None
    template_id: Text[64, "答复模板"] | None = None

    @model_validator(mode="after")
    def _said(self):
        if self.text is None and self.template_id is None:
            raise required("text")
        return self


CASE_COMMANDS: dict[str, type[CaseCommand]] = {c.name: c for c in (
    Verify, ProposePlan, Dispatch, Escalate, Resolve, Retriage, Acknowledge, Return, DisputeReturn, RuleReturn,
    RequestExtension, DecideExtension, AddNote, Reply)}


@dataclass(frozen=True)
class Command:
    actor: Actor
    body: CaseCommand


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


def actor_for(payload: Any, command: str) -> Actor:
    """The actor (from the token, shared/edge/access.py `with_actor`) of a command whose roles are ALLOWED[command]."""
    actor = _obj(payload).get("actor")
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
    """A case command's actor and body, each field checked by its model."""
    body = {k: v for k, v in _obj(payload).items() if k != "actor"}
    return Command(actor_for(payload, command), CASE_COMMANDS[command].parse(body))


class SurveyItem(Body):
    case_id: Text[64, "案件编号"]
    satisfied: int = Field(ge=0, le=100000, title="满意人数")
    total: int = Field(ge=1, le=100000, title="测评人数")

    @model_validator(mode="after")
    def _within(self):
        if self.satisfied > self.total:
            raise broken("satisfied", "must be at most total", "不能大于测评人数")
        return self


class Survey(Body):
    """居民满意度测评: per case, satisfied responses out of all; items under 80 % are reopened."""
    roles: ClassVar = ALLOWED["survey"]
    example = {"period": "2026-Q4", "items": [{"case_id": "5f0c6a2e-8d1b-4c3a-9e7f-2b6d4a1c8e90", "satisfied": 18,
                                               "total": 20}]}
    period: Text[20, "测评期"]
    items: list[SurveyItem] = Field(min_length=1, max_length=1000, title="测评项")


class ResponseTemplate(Body):
    """常用答复: a response template staff pick in a resolution or a reply."""
    roles: ClassVar = ALLOWED["templates"]
    example = {"category": "公共照明", "kind": "resolution", "text": "已安排维修,楼道照明已恢复。"}
    category: Text[50, "问题分类"]
    kind: Literal[tuple(TEMPLATE_KINDS)] = Field(title="模板类型")
    text: Text[1000, "模板内容"]


class TriageRule(Body):
    """A staff member's triage rule: reports matching its keywords or categories get its tier."""
    roles: ClassVar = ALLOWED["rules"]
    example = {"rule_id": "fire-exit", "tier": "urgent", "keywords": ["消防通道", "堵塞"], "note": "消防安全优先"}
    rule_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", title="规则编号")
    tier: Literal[TIERS] = Field(title="分级")
    keywords: list[Text[40, "关键词"]] = Field([], max_length=100, title="关键词")
    categories: list[Text[40, "分类"]] = Field([], max_length=100, title="分类")
    note: str = Field("", max_length=200, title="说明")


Day = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\d(\.\.\d{4}-\d\d-\d\d)?$", title="日期")]


class CalendarNotice(Body):
    """节假日安排: the State Council's notice for a year, days as YYYY-MM-DD or ranges YYYY-MM-DD..YYYY-MM-DD."""
    roles: ClassVar = ALLOWED["calendar"]
    example = {"holidays": ["2027-01-01..2027-01-03", "2027-02-10..2027-02-17"], "workdays": ["2027-02-07"],
               "document": "国办发明电〔2026〕7号"}
    holidays: list[Day] = Field(min_length=1, max_length=100, title="放假日期", description=(
        "days off (放假), dates or inclusive ranges, in the year or the December before"))
    workdays: list[Day] = Field([], max_length=100, title="调休上班日期",
                                description="weekend days worked instead (调休上班)")
    document: Text[200, "通知文号"] | None = Field(None, description="the notice's title or number")


def checked(payload: Any, command: str, model: type[Body]) -> tuple[Actor, Any]:
    """The actor and the body of a staff command outside a case (survey, rules, templates, calendar)."""
    body = {k: v for k, v in _obj(payload).items() if k != "actor"}
    actor = actor_for(payload, command)
    return actor, model.parse(body)


def parse_survey(payload: Any) -> tuple[Actor, str, list[dict[str, Any]]]:
    """A quarterly satisfaction survey (居民满意度测评): per item, satisfied responses out of all."""
    actor, survey = checked(payload, "survey", Survey)
    return actor, survey.period, [item.model_dump() for item in survey.items]
