"""Intake domain: a resident's report (Issue), its validation and its category tags. Pure rules."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import event

from shared.audit import Audited

from shared.errors import Conflict
from shared.masking import public_text as public_text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAMESPACE = UUID("6f1c0c1e-6a0e-4d7f-9a51-3f1f0e7a9b10")

CHANNELS = ("visit", "online", "hotline", "survey", "open311", "device", "reception")  # 走访 / 线上 / 热线 / 调研 / Open311 / 物联网设备 / 代表接待日

# Category tags (分类标签), from the work plan's examples. Staff extend the table, not the code:
# a report's text is matched against every keyword; the category with most hits wins.
CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "安全隐患": ("消防通道", "消防", "漏电", "电线", "燃气", "煤气", "坠落", "塌", "火灾", "隐患"),
    "设施维护": ("路灯", "照明", "楼道灯", "灯坏", "电梯", "健身器材", "维修", "损坏", "漏水", "水管", "门禁",
                 "井盖", "破损", "坏了",
                 "下水道", "堵塞"),
    "环境卫生": ("垃圾", "卫生", "清扫", "清运", "异味", "臭", "污水", "堆放", "杂物", "蚊虫", "老鼠", "绿化"),
    "停车交通": ("停车", "车位", "占道", "电动车", "充电", "乱停"),
    "邻里纠纷": ("纠纷", "噪音", "吵", "矛盾", "邻居", "争执"),
    "物业管理": ("物业", "业委会", "换届", "物业费"),
    "服务供给": ("养老", "助餐", "托育", "儿童", "老人", "医疗", "健康", "无障碍", "活动", "服务"),
}
OTHER = "其他"
CATEGORIES = (*CATEGORY_KEYWORDS, OTHER)

TRACKING_CODE = re.compile(r"^YS-\d{8}-[0-9A-HJKMNP-TV-Z]{8}$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tag(text: str) -> tuple[str, list[str]]:
    """(category, tags) for a report's text: every matched keyword is a tag."""
    hits = {cat: [k for k in words if k in text] for cat, words in CATEGORY_KEYWORDS.items()}
    best = max(hits, key=lambda c: len(hits[c]))
    tags = sorted({k for words in hits.values() for k in words})
    return (best if hits[best] else OTHER), tags


@dataclass(frozen=True)
class Report:
    """A validated report as submitted by a resident or an operator on their behalf."""

    channel: str
    title: str
    description: str
    category: str | None
    location: dict[str, Any]
    room: str | None  # exact address: kept private, never published
    reporter: dict[str, str]  # name / phone / email: personal data, sealed, never published
    reported_at: datetime | None

    def fingerprint(self) -> str:
        """Digest of what the resident said, to tell a retry from a different report under one key.

        Of the report's public parts only: a digest of a phone number is as good as the number (there are few
        to try), so the personal parts are compared sealed (`personal`), never hashed into the event."""
        body = {"channel": self.channel, "title": self.public_title, "description": self.public_description,
                "category": self.category, "location": self.location,
                "reported_at": self.reported_at.isoformat() if self.reported_at else None}
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    @property
    def personal(self) -> dict[str, Any]:
        """What is sealed under the reporter's own data key (services/intake/personal.py): contact, room and
        the report's words as the resident gave them (they may hold a name or a number the masks miss)."""
        return {**self.reporter, **({"room": self.room} if self.room else {}), "title": self.title,
                "description": self.description}

    @property
    def public_title(self) -> str:
        return public_text_of(self.title, names=[self.reporter.get("name") or ""], private=[self.room or ""])

    @property
    def public_description(self) -> str:
        return public_text_of(self.description, names=[self.reporter.get("name") or ""], private=[self.room or ""])


@dataclass(frozen=True)
class Draft:
    """A report as it will be recorded, before it is: what duplicate detection compares it by."""

    title: str
    category: str
    tags: list[str]
    location: dict[str, Any]
    reported_at: datetime

    @classmethod
    def of(cls, report: Report, now: datetime) -> "Draft":
        auto_category, tags = tag(f"{report.title} {report.description}")
        return cls(report.title, report.category or auto_category, tags, report.location, report.reported_at or now)


def public_text(text: str, report: dict[str, Any]) -> str:
    """A report's free text as it may leave intake: phones masked, the reporter's name and room hidden.
    A report recorded sealed holds its text masked already; one recorded before keeps its contact in clear."""
    reporter = report.get("reporter") or {}
    return public_text_of(text, names=[reporter.get("name") or ""], private=[report.get("room") or ""])


def new_reporter_ref() -> str:
    """A reporter's pseudonym (the data subject of their report's sealed personal data)."""
    return "rp-" + uuid4().hex[:16]


@dataclass(frozen=True)
class Answer:
    """The resident's answer to a resolved case (居民确认): solved or not, and how satisfied (1–5)."""

    confirmed: bool
    satisfaction: int | None
    comment: str | None


@dataclass(frozen=True)
class CityUpdate:
    """Where a city system's own tracker says the matter stands: `open` (a progress note) or `closed` (its
    department reports it done; the resident still confirms)."""

    update_id: str
    status: str
    description: str
    updated_at: datetime | None

    def digest(self) -> str:
        said = [self.status, self.description, self.updated_at.isoformat() if self.updated_at else ""]
        return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()[:32]


ANSWERABLE = ("resolved", "closed")  # closed: a co-reporter may still answer the case the original reporter closed
ANSWER_FACTS = ("confirmed", "satisfaction", "answered_issue_id")  # one resident's answer: on the timeline only


def issue_id_for(idempotency_key: str | None) -> UUID:
    """A client's Idempotency-Key always names the same issue, so a retry cannot report twice."""
    return uuid5(NAMESPACE, f"issue:{idempotency_key}") if idempotency_key else uuid4()


def new_tracking_code(now: datetime) -> str:
    """The code a resident quotes to follow (and later confirm) their issue: 查询码."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    return f"YS-{day}-" + "".join(secrets.choice(_CROCKFORD) for _ in range(8))


class Issue(Audited):
    """A resident's report (诉求), from intake to the answer they get back."""

    @event("Reported")
    def __init__(self, id: UUID, tracking_code: str, report: dict[str, Any], category: str,
                 tags: list[str], reporter_ref: str, reported_at: datetime, fingerprint: str,
                 duplicate_of: str | None = None, personal: dict[str, str] | None = None,
                 on_behalf: dict[str, Any] | None = None):
        """`duplicate_of`: the issue this report repeats when merged as it came in (`Merged` follows in the
        same save); published with the report, so casework opens its case already merged. `personal`: the
        reporter's contact, room and own words, sealed under their data key (None in reports recorded before,
        whose `report` holds them in clear until `yishi seal-contacts`). `on_behalf`: a need found on a visit,
        reported for a household (代办): {household_ref, special_group, reported_by (the visitor, an actor)}."""
        self.tracking_code = tracking_code
        self.report = report
        self.personal = personal
        self.on_behalf = on_behalf
        self.category = category
        self.tags = tags
        self.reporter_ref = reporter_ref
        self.reported_at = reported_at
        self.fingerprint = fingerprint
        self.merged_into: str | None = None
        self.merged_at: datetime | None = None
        self.answered = 0  # the resolution (1st, 2nd after a reopening...) the resident answered last
        self.answered_at: datetime | None = None
        self.city_updates: dict[str, str] = {}  # "<system>:<its update id>" -> what that update said (its digest)

    @classmethod
    def report_new(cls, issue_id: UUID, report: Report, now: datetime, reporter_ref: str,
                   personal: dict[str, str], duplicate: tuple[str, float] | None = None,
                   on_behalf: dict[str, Any] | None = None) -> "Issue":
        """A new issue; `personal` is `report.personal` sealed under `reporter_ref`'s data key; `duplicate`
        (the issue it repeats, how alike) merges it as it is reported. Only masked text is kept in clear."""
        draft = Draft.of(report, now)
        issue = cls(
            id=issue_id,
            tracking_code=new_tracking_code(now),
            report={"channel": report.channel, "title": report.public_title,
                    "description": report.public_description, "location": report.location},
            category=draft.category,
            tags=draft.tags,
            reporter_ref=reporter_ref,
            reported_at=draft.reported_at,
            fingerprint=report.fingerprint(),
            duplicate_of=duplicate[0] if duplicate else None,
            personal=dict(personal),
            on_behalf=dict(on_behalf) if on_behalf else None,
        )
        if duplicate:
            issue.merge_into(duplicate[0], duplicate[1], "system", now)
        return issue

    @event("Merged")
    def merge_into(self, into_issue_id: str, similarity: float | None, by: str, at: datetime) -> None:
        """The same problem was already raised: this report follows that issue's case (重复诉求合并)."""
        self.merged_into = into_issue_id
        self.merged_at = at

    @event("CaseProgressed")
    def record_case_progress(self, case_id: str, status: str, at: datetime, detail: dict[str, Any]) -> None:
        """Written no more: casework's news once copied into intake's log; now the case_progress view of
        casework's events. Kept so that older logs still decode."""

    def answer(self, answer: Answer, status: str, resolution: int, at: datetime,
               reporter: dict[str, str] | None = None) -> None:
        """The resident who holds the tracking code answers the resolved case, once per resolution.

        `status` and `resolution` (how many times it was resolved) are of the case this issue follows: its
        own, or its original's when merged. A closed case is answered too: by a co-reporter after the original
        reporter closed it (casework counts it toward satisfaction), or by whichever resident has not
        answered this resolution yet.
        """
        if status not in ANSWERABLE:
            raise Conflict(f"only a resolved case can be confirmed; this one is {status}", "tracking_code",
                           "案件尚未办结,暂不能确认")
        if self.answered == resolution:
            raise Conflict("this resolution was answered already", "tracking_code", "您已对本次办理结果作出反馈")
        self._answered(resolution=resolution, confirmed=answer.confirmed, satisfaction=answer.satisfaction,
                       comment=public_text(answer.comment, {"reporter": reporter or {}, **self.report})
                       if answer.comment else None, at=at)

    def take_city_update(self, system: str, update: "CityUpdate", at: datetime) -> bool:
        """A city system's own tracker says where the matter stands (Open311 `servicerequestupdates`): recorded
        once per update id of that system. The same update again changes nothing (False); another one under an
        id already used is refused."""
        key, digest = f"{system}:{update.update_id}", update.digest()
        if key in self.city_updates:
            if self.city_updates[key] != digest:
                raise Conflict(f"update {update.update_id} was received with other content", "update_id",
                               "该更新编号已用于另一条更新")
            return False
        self._city_updated(system=system, update_id=update.update_id, status=update.status,
                           description=public_text(update.description, self.report), digest=digest,
                           updated_at=update.updated_at or at, at=at)
        return True

    @event("CityUpdated")
    def _city_updated(self, system: str, update_id: str, status: str, description: str, digest: str,
                      updated_at: datetime, at: datetime) -> None:
        self.city_updates[f"{system}:{update_id}"] = digest

    @event("Answered")
    def _answered(self, resolution: int, confirmed: bool, satisfaction: int | None, comment: str | None,
                  at: datetime) -> None:
        self.answered = resolution
        self.answered_at = at
