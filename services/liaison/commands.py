"""liaison's request bodies as models (shared/models.py): JSON in, plain values out, InvalidInput naming the field."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, model_validator

from services.liaison.rules import DUTIES, OFFERERS, UNIT_KINDS
from shared.deadlines import is_month
from shared.errors import InvalidInput
from shared.models import Body, Due, Moment, OptionalText, Text, Uuid, broken, required

PHONE = re.compile(r"^\+?[\d\- ]{7,20}$")

FIELD_NAMES_ZH = {"case_id": "案件编号", "month": "月份"}  # the names the helpers below may give


def _zh(field: str) -> str:
    return FIELD_NAMES_ZH.get(field.rsplit(".", 1)[-1].split("[")[0], field)


def digest(payload: Any) -> str:
    """Fingerprint of a command body: tells a retry (same body) from misuse of a key (another body)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


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


class Contact(Body):
    name: OptionalText[60, "姓名"] = None
    phone: Annotated[OptionalText[60, "电话"], Field(pattern=PHONE.pattern)] = None
    email: OptionalText[60, "电子邮箱"] = None


def _contact(value: Contact | None) -> dict[str, str]:
    return {k: v for k, v in value.model_dump().items() if v is not None} if value is not None else {}


class Station(Body):
    """A liaison station (联络站)."""
    example = {"name": "幸福里代表联络站", "community": "幸福里", "place": "社区服务中心一楼"}
    name: Text[60, "名称"]
    community: Text[50, "所在社区"]
    place: Text[100, "地点"]


class Representative(Body):
    """A representative (人大代表) at a station; the contact is shown to staff only, masked."""
    example = {"name": "陈明", "contact": {"phone": "13700001111"}, "expertise": ["城市规划", "法律"],
               "station_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"}
    name: Text[30, "姓名"]
    contact: Contact | None = Field(None, title="联系方式")
    expertise: list[Text[30, "专业特长"]] = Field([], max_length=10, title="专业特长")
    station_id: Uuid = Field(title="联络站")


class Reception(Body):
    """A reception day (代表接待日), announced ahead."""
    example = {"station_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
               "representative_ids": ["6fa459ea-ee8a-3ca4-894e-db77e160355e"],
               "starts_at": "2026-12-20T09:00:00+08:00", "place": "联络站接待室", "title": "12月代表接待日"}
    station_id: Uuid = Field(title="联络站")
    representative_ids: list[Uuid] = Field(min_length=1, max_length=20, title="接待代表")
    starts_at: Moment["开始时间"]
    place: OptionalText[100, "地点"] = None
    title: OptionalText[100, "主题"] = None


class Topic(Body):
    """A topic announced for a reception day."""
    example = {"topic": "老旧小区加装电梯"}
    topic: Text[200, "议题"]


class Concern(Body):
    """A visitor's concern at a reception day, sent on to intake as a report (intake checks the rest)."""
    example = {"title": "小区路灯不亮", "description": "东门到3号楼的路灯坏了一个月", "category": "设施维护",
               "location": {"community": "幸福里", "building": "3"}, "reporter": {"name": "赵大爷", "phone": "13600002222"}}
    title: Text[100, "标题"]
    description: str | None = Field(None, title="诉求内容")
    category: str | None = Field(None, title="问题分类")
    location: dict[str, Any] | None = Field(None, title="问题位置")
    reporter: dict[str, Any] | None = Field(None, title="反映人")


class Held(Body):
    """A reception day held: how many came, a summary."""
    example = {"visitors": 12, "summary": "收集诉求5件,现场答复3件"}
    visitors: int = Field(ge=0, le=10000, title="来访人数")
    summary: OptionalText[2000, "小结"] = None


class Supervision(Body):
    """A representative takes up a case's supervision (代表督办)."""
    example = {"representative_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "reason": "居民多次反映,逾期未办结"}
    representative_id: Uuid = Field(title="代表")
    reason: Text[500, "督办原因"]


class SignOff(Body):
    """The representative signs a supervision off: solved or not."""
    example = {"representative_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e", "note": "已现场查看,路灯修复",
               "solved": True}
    representative_id: Uuid = Field(title="代表")
    note: Text[2000, "督办意见"]
    solved: bool = Field(False, title="是否解决")


class Duty(Body):
    """A duty done (履职: 走访、政策宣讲、专题调研、履职报告); hard problems count from supervised cases solved."""
    example = {"duty": "visit", "done_at": "2026-12-02T15:00:00+08:00", "note": "走访3号楼独居老人"}
    duty: Literal[tuple(d for d in DUTIES if d != "hard_problem")] = Field(title="履职事项")
    done_at: Moment["完成时间"]
    note: OptionalText[2000, "备注"] = None


class Unit(Body):
    """A co-building unit (共建单位) and its responsible person (masked to staff)."""
    example = {"party": "幸福里物业", "kind": "property", "responsible": {"name": "李经理", "phone": "13500003333"}}
    party: Text[60, "单位名称"]
    kind: Literal[tuple(UNIT_KINDS)] = Field(title="单位类别")
    responsible: Contact = Field(title="负责人")


class Attendance(Body):
    """A unit's attendance at a joint meeting."""
    example = {"meeting_id": "m-2026-12", "meeting_at": "2026-12-15T19:00:00+08:00", "present": True}
    meeting_id: Text[60, "会议编号"]
    meeting_at: Moment["会议时间"]
    present: bool = Field(title="是否出席")


class Resource(Body):
    """A resource offered (资源清单); a volunteer's is not named."""
    example = {"offered_by": "unit", "offerer_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "category": "服务供给",
               "title": "周末义诊", "area": "幸福里", "capacity": 30, "availability": "每月第一个周六上午"}
    offered_by: Literal[tuple(OFFERERS)] = Field(title="资源提供方")
    offerer_id: Uuid | None = Field(None, title="提供方")
    category: Text[20, "问题分类"]
    title: Text[100, "标题"]
    area: Text[50, "服务区域"]
    capacity: int = Field(1, ge=1, le=100000, title="可服务数量")
    availability: OptionalText[200, "可用时间"] = None

    @model_validator(mode="after")
    def _offerer(self):
        if self.offered_by == "volunteer" and self.offerer_id is not None:
            raise broken("offerer_id", "is not kept for a volunteer's offer: volunteers are not identified here",
                         "不记录:志愿者资源不记录提供人")
        if self.offered_by != "volunteer" and self.offerer_id is None:
            raise required("offerer_id")
        return self


class Cases(Body):
    """The cases (needs) a resource is matched with."""
    example = {"case_ids": ["5f0c6a2e-8d1b-4c3a-9e7f-2b6d4a1c8e90"]}
    case_ids: list[Uuid] = Field(min_length=1, max_length=50, title="需求(案件)")


class Decision(Body):
    """The council confirms a match, or not."""
    example = {"confirmed": True, "note": "资源与需求相符"}
    confirmed: bool = Field(title="是否确认")
    note: OptionalText[500, "备注"] = None


class Project(Body):
    """A project (项目清单) on its own clock: its cases, the matches it uses, an owner and a deadline."""
    example = {"title": "3号楼路灯改造", "case_ids": ["5f0c6a2e-8d1b-4c3a-9e7f-2b6d4a1c8e90"], "match_ids": [],
               "owner": "幸福里物业", "due": "2027-01-31"}
    title: Text[100, "标题"]
    case_ids: list[Uuid] = Field(min_length=1, max_length=50, title="需求(案件)")
    match_ids: list[Uuid] = Field([], max_length=50, title="匹配资源")
    owner: Text[60, "负责人"]
    due: Due["完成时限"]


class Completion(Body):
    """A project completed, with a summary."""
    example = {"summary": "路灯已全部更换,居民验收通过"}
    summary: Text[2000, "小结"]


def station(payload: Any) -> dict[str, Any]:
    return Station.parse(payload).model_dump()


def representative(payload: Any) -> dict[str, Any]:
    b = Representative.parse(payload)
    return {"name": b.name, "contact": _contact(b.contact), "expertise": list(b.expertise), "station_id": b.station_id}


def reception(payload: Any, now: datetime) -> dict[str, Any]:
    b = Reception.parse(payload)
    if b.starts_at <= now:
        raise InvalidInput("starts_at must be in the future", "starts_at", "接待日开始时间须晚于当前时间")
    return {"station_id": b.station_id, "starts_at": b.starts_at, "representative_ids": list(b.representative_ids),
            "place": b.place, "title": b.title or "代表接待日"}


def topic(payload: Any) -> str:
    return Topic.parse(payload).topic


def concern(payload: Any) -> dict[str, Any]:
    """A visitor's concern, sent on to intake as it is (intake validates the report and keeps the contact)."""
    Concern.parse(payload)
    return payload


def held(payload: Any) -> dict[str, Any]:
    b = Held.parse(payload)
    return {"visitors": b.visitors, "summary": b.summary or ""}


def supervision(payload: Any) -> dict[str, Any]:
    return Supervision.parse(payload).model_dump()


def sign_off(payload: Any) -> dict[str, Any]:
    return SignOff.parse(payload).model_dump()


def duty(payload: Any) -> dict[str, Any]:
    b = Duty.parse(payload)
    return {"duty": b.duty, "done_at": b.done_at, "note": b.note or ""}


def unit(payload: Any) -> dict[str, Any]:
    b = Unit.parse(payload)
    return {"party": b.party, "kind": b.kind, "responsible": _contact(b.responsible)}


def attendance(payload: Any) -> dict[str, Any]:
    return Attendance.parse(payload).model_dump()


def resource(payload: Any) -> dict[str, Any]:
    b = Resource.parse(payload)
    return b.model_dump() | {"availability": b.availability or ""}


def case_ids(payload: Any) -> list[str]:
    return list(Cases.parse(payload).case_ids)


def decision(payload: Any) -> dict[str, Any]:
    b = Decision.parse(payload)
    return {"confirmed": b.confirmed, "note": b.note or ""}


def project(payload: Any, now: datetime) -> dict[str, Any]:
    b = Project.parse(payload)
    if b.due <= now:
        raise InvalidInput("due must be in the future", "due", "完成时限须晚于当前时间")
    return {"title": b.title, "case_ids": list(b.case_ids), "owner": b.owner, "match_ids": list(b.match_ids),
            "due": b.due}


def completion(payload: Any) -> str:
    return Completion.parse(payload).summary
