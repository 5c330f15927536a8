"""intake's request bodies as models (shared/models.py): a resident's report, and what a report is checked
against before it is recorded."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from typing_extensions import Annotated

from services.intake.domain import CATEGORIES, CHANNELS, Answer, Report
from shared.errors import InvalidInput
from shared.models import Body, Moment, OptionalText, Text, broken

PHONE = r"^\+?[0-9][0-9 -]{5,19}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class Location(Body):
    """Where: the community at least; the room is private (never published)."""
    community: Text[50, "所在社区"]
    building: OptionalText[20, "楼栋"] = None
    unit: OptionalText[20, "单元"] = None
    room: OptionalText[100, "房号"] = None
    lat: float | None = Field(None, ge=-90, le=90, title="纬度")
    lon: float | None = Field(None, ge=-180, le=180, title="经度")

    @model_validator(mode="after")
    def _whole_point(self):  # half a point places nothing
        for one, other, zh in (("lat", "lon", "纬度"), ("lon", "lat", "经度")):
            if getattr(self, one) is not None and getattr(self, other) is None:
                raise broken(other, f"is required with location.{one}", f"须与{zh}同时填写")
        return self


class Reporter(Body):
    """Who: a name, a phone or an e-mail (a city system may know only an e-mail); sealed, never published."""
    name: OptionalText[30, "反映人姓名"] = None
    phone: Annotated[OptionalText[20, "反映人电话"], Field(pattern=PHONE)] = None
    email: Annotated[OptionalText[100, "反映人电子邮箱"], Field(pattern=EMAIL)] = None

    @model_validator(mode="after")
    def _reachable(self):
        if not (self.name or self.phone or self.email):
            raise broken("", "needs a name, a phone number or an e-mail address", "须填写姓名、电话或电子邮箱")
        return self


class ReportIssue(Body):
    """A resident's report (诉求): by visit, online, hotline, survey, Open311, a device or a reception day."""
    example = {"channel": "hotline", "title": "3号楼楼道灯坏了", "description": "晚上一片黑,老人上下楼不方便",
               "location": {"community": "幸福里", "building": "3", "unit": "2", "room": "502"},
               "reporter": {"name": "张三", "phone": "13812345678"}}
    channel: Literal[CHANNELS] = Field(title="反映渠道")
    title: Text[100, "标题"]
    description: Text[2000, "问题描述"]
    category: Annotated[Literal[CATEGORIES] | None, BeforeValidator(_blank)] = Field(None, title="问题分类")
    location: Location = Field(title="问题位置")
    reporter: Reporter = Field(title="反映人")
    reported_at: Moment["反映时间"] | None = None


def parse_report(payload: Any, now: datetime) -> Report:
    """A report's JSON body checked field by field (InvalidInput names the first field wrong)."""
    body = ReportIssue.parse(payload)
    if body.reported_at is not None and body.reported_at > now + timedelta(minutes=5):
        raise InvalidInput("reported_at is in the future", "reported_at", "反映时间不能晚于当前时间")
    where = body.location
    location = {"community": where.community, "building": where.building, "unit": where.unit,
                "lat": where.lat, "lon": where.lon}
    reporter = {k: v for k, v in body.reporter.model_dump().items() if v}
    return Report(body.channel, body.title, body.description, body.category, location, where.room, reporter,
                  body.reported_at)


class Confirmation(Body):
    """The resident's answer to a resolved case (居民确认): solved or not, and how satisfied (1–5)."""
    example = {"confirmed": True, "satisfaction": 5, "comment": "灯修好了,谢谢"}
    confirmed: bool = Field(title="是否解决")
    satisfaction: int | None = Field(None, ge=1, le=5, title="满意度")
    comment: OptionalText[500, "意见"] = None

    @model_validator(mode="after")
    def _rated(self):
        if self.confirmed and self.satisfaction is None:
            raise broken("satisfaction", "(1 to 5) is required when confirming", "(1 到 5)确认解决时须填写")
        return self


def parse_answer(payload: Any) -> Answer:
    body = Confirmation.parse(payload)
    return Answer(body.confirmed, body.satisfaction, body.comment)


class Review(Body):
    """Staff approve a photo (shown publicly) or reject it; who reviewed is the token's."""
    example = {"approved": True}
    approved: bool = Field(title="是否通过审核")


class Merge(Body):
    """Staff merge a repeated report into the issue already raised; who merged is the token's."""
    example = {"into_issue_id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"}
    into_issue_id: Text[64, "合并到的诉求"]


class Vote(Body):
    """A resident backs an issue (数字需求清单); each voter counts once per issue."""
    example = {"voter": "13812345678"}
    voter: Text[100, "投票居民的标识"]
