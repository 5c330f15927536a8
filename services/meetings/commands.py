"""meetings' request bodies as models (shared/models.py): JSON in, plain values out, InvalidInput naming the field."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from services.meetings.domain import CHOICES
from services.meetings.rules import KINDS, MAJORITIES, ROLES
from shared.deadlines import is_month
from shared.errors import InvalidInput
from shared.models import Body, Due, Moment, OptionalText, Text, Uuid, broken, required


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


Ref = Uuid  # a case's or a proposal's id


def case_id(value: str) -> str:
    """A case id named in a path, as a UUID."""
    try:
        return str(UUID(value))
    except ValueError:
        raise InvalidInput(f"case_id must be a UUID: {value}", "case_id", "案件编号格式不正确") from None


class Schedule(Body):
    """Schedule a meeting (召开议事会); a joint meeting, hearing or consultation opens only with its roles present."""
    example = {"kind": "regular", "place": "幸福里社区议事厅", "meeting_at": "2026-12-15T19:00:00+08:00",
               "title": "12月议事会例会"}
    kind: Literal[tuple(KINDS)] = Field(title="会议类型")
    meeting_at: Moment["会议时间"]
    title: OptionalText[100, "标题"] = None
    place: Text[100, "地点"]


class Reschedule(Body):
    """Move a meeting not yet opened (改期)."""
    example = {"meeting_at": "2026-12-16T19:00:00+08:00", "place": "社区活动中心二楼", "reason": "议事厅维修"}
    meeting_at: Moment["会议时间"]
    place: OptionalText[100, "地点"] = None
    reason: OptionalText[500, "原因"] = None


class Cancel(Body):
    """Cancel a meeting not yet opened; announced on the board."""
    example = {"reason": "台风预警,暂停集会"}
    reason: Text[500, "原因"]


class Topic(Body):
    """An agenda topic (议题): its background and draft plan, or a proposal (from casework) to take up."""
    title: OptionalText[100, "标题"] = None
    background: OptionalText[4000, "背景资料"] = None
    draft_plan: Text[4000, "初步方案"]
    case_id: Ref | None = Field(None, title="案件编号")
    proposal_id: Ref | None = Field(None, title="提议编号")

    @model_validator(mode="after")
    def _explained(self):
        if self.background is None and self.proposal_id is None:
            raise required("background")
        return self


class Agenda(Body):
    """Publish the agenda (会前公示): topics at least 3 days before the meeting."""
    example = {"topics": [{"title": "3号楼加装电梯", "background": "3号楼老人多,上下楼困难",
                           "draft_plan": "征求全体住户意见后申请加装补贴"}]}
    topics: list[Topic] = Field(min_length=1, max_length=30, title="议题")


class Participant(Body):
    name: Text[30, "姓名"]
    role: Literal[tuple(ROLES)] = Field(title="身份")
    organisation: OptionalText[60, "单位"] = None
    topic_id: OptionalText[20, "议题编号"] = None
    present: bool = Field(False, title="到会人员")


class Invite(Body):
    """Invite participants (1+N: the council and those the topic concerns)."""
    example = {"participants": [{"name": "王芳", "role": "resident_representative"},
                                {"name": "李强", "role": "property_manager", "organisation": "幸福里物业"}]}
    participants: list[Participant] = Field(min_length=1, max_length=200, title="参会人员")


class Opening(Body):
    """Open the meeting: who is present, the chair and the recorder."""
    example = {"present": ["p1", "p2", "p3"], "chair": "p1", "recorder": "p2"}
    present: list[str] = Field([], max_length=200, title="到会人员")
    chair: Text[20, "主持人"]
    recorder: Text[20, "记录人"]


class Statement(Body):
    """A statement (发言); over 5 minutes is flagged."""
    example = {"participant_id": "p3", "topic_id": "t1", "seconds": 180, "summary": "同意加装,建议按楼层分摊费用"}
    participant_id: Text[20, "参会人员编号"]
    topic_id: Text[20, "议题编号"]
    seconds: int = Field(ge=1, le=3600, title="发言时长(秒)")
    summary: Text[2000, "摘要"]


class Disagreement(Body):
    """A point of disagreement (分歧点), by the named recorder."""
    example = {"topic_id": "t1", "point": "一楼住户是否分摊", "positions": ["一楼不用电梯,不应分摊", "公共设施应共同分摊"]}
    topic_id: Text[20, "议题编号"]
    point: Text[1000, "分歧点"]
    positions: list[Text[500, "观点"]] = Field([], max_length=20, title="各方观点")


class Motion(Body):
    """A motion (表决事项): a major matter is voted by secret ballot."""
    example = {"text": "同意3号楼加装电梯方案", "topic_id": "t1", "major": True, "mode": "secret",
               "majority": "two_thirds"}
    text: Text[1000, "内容"]
    topic_id: OptionalText[20, "议题编号"] = None
    mode: Literal["open", "secret"] | None = Field(None, title="表决方式")
    major: bool = Field(False, title="是否重大事项")
    majority: Literal[tuple(MAJORITIES)] = Field("simple", title="通过规则")


class Vote(Body):
    """A vote: by ballot code (secret ballot) or by participant (named vote), one of the two."""
    example = {"motion_id": "m1", "choice": "for", "ballot": "7KQ2-M9XD"}
    motion_id: Text[20, "表决事项编号"]
    choice: Literal[CHOICES] = Field(title="表决意见")
    participant_id: OptionalText[20, "参会人员编号"] = None
    ballot: OptionalText[64, "选票码"] = None

    @model_validator(mode="after")
    def _one_way(self):
        if (self.participant_id is None) == (self.ballot is None):
            raise broken("ballot", "or participant_id: give one (secret ballot or named vote)",
                         "或参会人员编号须二者取一:无记名投票请提供选票码(ballot),记名表决请提供参会人员编号(participant_id)")
        return self


class Resolution(Body):
    text: Text[1000, "内容"]
    owner: Text[60, "责任人"]
    due: Due["完成时限"]
    case_id: Ref | None = Field(None, title="案件编号")
    topic_id: OptionalText[20, "议题编号"] = None
    motion_id: OptionalText[20, "表决事项编号"] = None


class Minutes(Body):
    """The minutes (会议纪要), within 24 h: each resolution with its owner and deadline."""
    example = {"summary": "会议通过3号楼加装电梯方案", "resolutions": [
        {"text": "物业牵头申请加装补贴", "owner": "幸福里物业", "due": "2027-01-31", "motion_id": "m1"}]}
    resolutions: list[Resolution] = Field([], max_length=50, title="决议")
    summary: OptionalText[8000, "摘要"] = None


class Closing(Body):
    """Closing takes no fields: an empty body or {}."""
    example = {}
    required = False


class Release(Body):
    """Release a month's results (from its 25th)."""
    example = {"month": "2026-11"}
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", title="月份")


class Proposal(Body):
    """Put a topic escalated by casework on a meeting's agenda."""
    example = {"meeting_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "draft_plan": "协调物业清理消防通道"}
    meeting_id: Text[40, "会议"]
    title: OptionalText[100, "标题"] = None
    background: OptionalText[4000, "背景资料"] = None
    draft_plan: Text[4000, "初步方案"]


class Suggestion(Body):
    """A resident's suggested topic (议题征集); `resident` (a phone or WeChat id) is kept only as a digest."""
    example = {"title": "小区增设充电桩", "background": "电动车在楼道充电有火灾隐患", "category": "安全隐患",
               "resident": "13812345678"}
    title: Text[100, "标题"]
    background: Text[2000, "背景资料"]
    category: OptionalText[50, "问题分类"] = None
    resident: Text[100, "居民标识"]


class Signature(Body):
    """A resident co-signs a suggestion (联名), counted once."""
    example = {"resident": "13900001111"}
    resident: Text[100, "居民标识"]


class Opinion(Body):
    """A resident's opinion on a topic of a public agenda (意见征集); masked."""
    example = {"topic_id": "t1", "text": "支持加装,希望施工期间注意安全"}
    topic_id: Text[20, "议题编号"]
    text: Text[1000, "内容"]


def schedule(payload: Any, now: datetime) -> dict[str, Any]:
    body = Schedule.parse(payload)
    _future(body.meeting_at, now)
    return {"kind": body.kind, "title": body.title or KINDS[body.kind][0], "place": body.place,
            "meeting_at": body.meeting_at}


def _future(when: datetime, now: datetime) -> None:
    if when <= now:
        raise InvalidInput("meeting_at must be in the future", "meeting_at", "会议时间须晚于当前时间")


def reschedule(payload: Any, now: datetime) -> dict[str, Any]:
    body = Reschedule.parse(payload)
    _future(body.meeting_at, now)
    return body.model_dump()


def cancellation(payload: Any) -> str:
    return Cancel.parse(payload).reason


def topics(payload: Any) -> list[dict[str, Any]]:
    """Agenda topics: {title?, background, draft_plan, case_id?} or {proposal_id, draft_plan, background?}."""
    return [t.model_dump() for t in Agenda.parse(payload).topics]


def participants(payload: Any) -> list[dict[str, Any]]:
    return [p.model_dump() for p in Invite.parse(payload).participants]


def opening(payload: Any) -> dict[str, Any]:
    return Opening.parse(payload).model_dump()


def statement(payload: Any) -> dict[str, Any]:
    return Statement.parse(payload).model_dump()


def disagreement(payload: Any) -> dict[str, Any]:
    return Disagreement.parse(payload).model_dump()


def motion(payload: Any) -> dict[str, Any]:
    body = Motion.parse(payload)
    return body.model_dump() | {"mode": body.mode or ("secret" if body.major else "open")}


def vote(payload: Any) -> dict[str, Any]:
    return Vote.parse(payload).model_dump()


def minutes(payload: Any) -> dict[str, Any]:
    body = Minutes.parse(payload)
    return {"resolutions": [r.model_dump() for r in body.resolutions], "summary": body.summary or ""}


def closing(payload: Any) -> None:
    if payload is not None:
        Closing.parse(payload)


def release(payload: Any) -> Any:
    return Release.parse(payload).month


def month(value: Any, name: str = "month") -> str:
    if not is_month(value):
        raise InvalidInput(f"{name} must be YYYY-MM", name, "月份格式应为 YYYY-MM")
    return value


# residents in deliberation (议题征集、意见征集) ---------------------------------------------------------
def suggestion(payload: Any) -> dict[str, Any]:
    return Suggestion.parse(payload).model_dump()


def signature(payload: Any) -> str:
    return Signature.parse(payload).resident


def opinion(payload: Any) -> dict[str, Any]:
    return Opinion.parse(payload).model_dump()
