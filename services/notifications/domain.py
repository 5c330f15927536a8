"""Notifications domain: who is told what (通知与公示), and what may be said in public. Pure rules.

A decision to tell someone is recorded before anything is sent: a public notice (公示) on the
board is a `Notice`; every message to a person, a group or a city system is a `Delivery` that a
dispatcher later sends, retries and either marks delivered or gives up on (dead letter).
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.contracts import steps_of
from shared.contracts.envelope import rfc3339
from shared.masking import public_data, public_text  # noqa: F401 (public_data: the application's)

NAMESPACE = UUID("3c5b8f0e-2d7a-4e61-9b0c-5a8e1f2d4c77")
SUBSCRIPTION_BOOK_ID = uuid5(NAMESPACE, "subscription-book")

# who can be told: the public board (社区公告栏), the community WeChat group (社区微信群), the resident
# who raised the issue (反映人), the responsible party (责任主体) and the community secretary (社区书记)
AUDIENCES = ("board", "wechat", "reporter", "party", "secretary")
CHANNELS = ("board", "wechat", "sms", "email", "webhook")
CHANNEL_OF = {"wechat": "wechat", "reporter": "sms", "party": "email", "secretary": "email"}
DELIVERY_STATUSES = ("pending", "delivered", "failed", "skipped")


def matter_id(issue_id: str) -> UUID:  # the Matter aggregates of older logs
    return uuid5(NAMESPACE, f"matter:{issue_id}")


def case_link_id(case_id: str) -> UUID:
    return uuid5(NAMESPACE, f"case:{case_id}")


def notice_id_for(source_event: str, kind: str) -> UUID:
    """One notice per upstream event and kind: a redelivered event cannot post twice."""
    return uuid5(NAMESPACE, f"notice:{source_event}:{kind}")


def delivery_id_for(source_event: str, channel: str, recipient: dict[str, Any], kind: str = "") -> UUID:
    """One delivery per upstream event, channel and recipient; it is also the webhook id receivers dedupe on."""
    key = ",".join(f"{k}={recipient[k]}" for k in sorted(recipient))
    return uuid5(NAMESPACE, f"delivery:{source_event}:{channel}:{key}:{kind}")


# what may be said in public: one rule for every public output, shared/masking.py


# --- who is told what -------------------------------------------------------------------------
# The tracking code proves the resident and never leaves intake in an event: a receipt holds this slot,
# which the SMS adapter fills from intake's contact lookup as it sends (the log keeps only the slot).
TRACKING_CODE_SLOT = "{查询码}"


@dataclass(frozen=True)
class About:
    """What a notice about an issue or a case can say: notifications' own record of upstream facts."""

    issue_id: str | None = None
    case_id: str | None = None
    title: str | None = None
    category: str | None = None
    community: str | None = None
    building: str | None = None
    reporter_ref: str | None = None
    tier: str | None = None
    party: str | None = None
    duplicate_of: str | None = None  # opened merged into that issue's case: announced by that case only


@dataclass(frozen=True)
class Tell:
    """A decision: tell `audience` the message `kind` (a template), about `about`, with `params`."""

    audience: str
    kind: str
    about: str
    params: dict[str, Any] = field(default_factory=dict)


def decide(service: str, name: str, data: dict[str, Any], about: About) -> list[Tell]:
    """Who is told what about one public-facing upstream event (the council's 公示 practice)."""
    subject = {"title": about.title or "", "category": about.category or "", "community": about.community or "",
               "building": about.building or ""}
    case = data.get("case_id") or about.case_id or ""
    out: list[Tell] = []

    def tell(audiences: tuple[str, ...], kind: str, about_id: str, **params: Any) -> None:
        out.extend(Tell(a, kind, about_id, {**subject, **params}) for a in audiences)

    for step in steps_of(service, name, data):  # a CaseOpened carrying its first dispatch tells both
        match (service, step):
            case ("intake", "IssueReported") if about.reporter_ref:
                tell(("reporter",), "issue_received", data["issue_id"], tracking_code=TRACKING_CODE_SLOT)
            case ("casework", "CaseOpened") if data["tier"] == "urgent" and not data.get("duplicate_of"):
                # urgent: verified within 24 h, plan within 48 h, progress on the board and in the WeChat group
                due = data.get("due") or {}
                tell(("board", "wechat"), "urgent_opened", case, verify_by=due.get("verify_by"),
                     plan_by=due.get("plan_by"))
            case ("casework", "CaseRetriaged") if data["tier"] == "urgent":
                # raised to urgent by staff: announced as an urgent case is when it opens
                due = data.get("due") or {}
                tell(("board", "wechat"), "urgent_opened", case, verify_by=due.get("verify_by"),
                     plan_by=due.get("plan_by"))
            case ("casework", "SiteVerified") if about.tier == "urgent":
                # 同步公示进展: every step of an urgent case reaches the board and the WeChat group
                tell(("board", "wechat"), "urgent_verified", case, verified_at=data.get("verified_at"))
            case ("casework", "PlanProposed") if about.tier == "urgent":
                tell(("board", "wechat"), "urgent_plan", case, plan=data.get("plan") or "")
            case ("casework", "CaseAssigned"):
                tell(("party",), "case_assigned", case, party=data["party"])
            case ("casework", "DeadlineWarned") if data["level"] == "red":
                # red alert (红色预警): the community secretary takes over coordination
                tell(("secretary",) + (("party",) if about.party else ()), "deadline_red", case,
                     deadline=data["deadline"], due=data["due"], party=about.party or "")
            case ("casework", "CaseEscalated"):
                tell(("secretary",), "case_escalated", case, to=data["to"], reason=data["reason"])
                if data["to"] in ("council", "assembly"):
                    tell(("board",), "case_escalated_public", case, to=data["to"])
            case ("casework", "CaseResolved"):
                if about.reporter_ref:
                    tell(("reporter",), "case_resolved", case, summary=data.get("summary") or "")
                if about.tier == "urgent":
                    tell(("board", "wechat"), "urgent_resolved", case, summary=data.get("summary") or "")
            case ("casework", "CaseClosed"):
                tell(("board",), "case_closed", case)
            case ("casework", "CaseSurveyed"):  # the survey's result is public, item by item (满意度测评结果)
                tell(("board",), "case_surveyed", case, period=data["period"], satisfied=data["satisfied"],
                     total=data["total"])
            case ("casework", "SurveyRecorded"):  # the quarterly survey as a whole (测评公开)
                tell(("board",), "survey_recorded", f"survey:{data['period']}", period=data["period"], items=data["items"],
                     satisfied=data["satisfied"], total=data["total"], below_floor=data["below_floor"])
            case ("casework", "CaseReopened"):  # the board said 办结 (or 待确认): it must not go on saying so
                tell(("board", "wechat"), "case_reopened", case, due=data.get("due"))
            case ("casework", "CaseRetriaged"):  # lowered from urgent, or raised to complex: the board says so
                tell(("board",), "case_retriaged", case, tier=data["tier"], due=(data.get("due") or {}).get("resolve_by"))
            case ("casework", "CaseMerged") if about.tier == "urgent" and not about.duplicate_of:
                # its urgent notice now points to the original (a report merged as it came in had none)
                tell(("board",), "case_merged", case)
            case ("meetings", "AgendaPublished"):
                # topics published at least 3 days before the meeting, with background and draft plan (会前3日公示议题)
                tell(("board", "wechat"), "agenda_published", data["meeting_id"], meeting_at=data["meeting_at"],
                     meeting=data.get("kind"), venue=data.get("place"),
                     agenda=[{k: t.get(k) for k in ("title", "background", "draft_plan")} for t in data["topics"]])
            case ("meetings", "MeetingMinuted"):
                tell(("board", "wechat"), "meeting_minuted", data["meeting_id"], meeting=data.get("kind"),
                     resolutions=[{k: r[k] for k in ("text", "owner", "due")} for r in data["resolutions"]])
            case ("meetings", "VoteRecorded"):  # counts only: a secret ballot names no one
                tell(("board",), "vote_recorded", data["meeting_id"], motion=data.get("text") or "", mode=data["mode"],
                     yes=data["for"], no=data["against"], abstain=data["abstain"], carried=data["carried"])
            case ("meetings", "MeetingCancelled"):
                tell(("board", "wechat"), "meeting_cancelled", data["meeting_id"], meeting=data.get("kind"),
                     meeting_at=data.get("meeting_at"), reason=data["reason"])
            case ("meetings", "MeetingRescheduled"):
                tell(("board", "wechat"), "meeting_rescheduled", data["meeting_id"], meeting=data.get("kind"),
                     meeting_at=data["meeting_at"], previous_meeting_at=data["previous_meeting_at"],
                     venue=data.get("place"), why=data.get("reason"))
            case ("meetings", "TopicProposed"):  # 议题征集: what residents raised reaches the council, publicly
                tell(("board",), "topic_proposed", data["proposal_id"], title=data["title"], source=data["source"],
                     reason=data["reason"])
            case ("meetings", "ResultsReleased"):
                tell(("board", "wechat"), "results_released", data["month"], month=data["month"])
            case ("liaison", "ReceptionAnnounced"):  # 代表进社区前提前公示活动主题和时间,群众点单
                tell(("board", "wechat"), "reception_announced", data["reception_id"], reception=data["title"],
                     starts_at=data["starts_at"], venue=data["place"], topics=data["topics"])
            case ("liaison", "UnitSupervised"):  # a red unit's 督办 notice, to the unit
                tell(("party",), "unit_supervised", data["unit_id"], party=data["party"], month=data["month"],
                     notice=data["notice"])
    return out


# --- retries ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: base, 2·base, 4·base … capped; given up after `max_attempts` attempts."""

    max_attempts: int = 8
    base_seconds: float = 2.0
    cap_seconds: float = 3600.0

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed attempts; None: give up (dead letter)."""
        if attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), self.cap_seconds))


@dataclass(frozen=True)
class MatterFact:
    """What a reported issue is about (事项), from intake's IssueReported: masked, no contact details."""

    issue_id: str
    title: str
    category: str
    community: str
    building: str | None
    reporter_ref: str
    reported_at: str

    @classmethod
    def of(cls, data: dict[str, Any], reported_at: datetime) -> "MatterFact":
        location = data.get("location") or {}
        return cls(issue_id=data["issue_id"], title=public_text(data["title"]), category=data["category"],
                   community=public_text(location.get("community")),
                   building=public_text(location["building"]) if location.get("building") else None,
                   reporter_ref=data["reporter_ref"], reported_at=rfc3339(reported_at))


# --- aggregates -------------------------------------------------------------------------------
class Matter(Aggregate):
    """Written no more: the matter is now a view of intake's IssueReported (projections.Matters). Kept so that
    older logs still decode."""

    @event("Recorded")
    def __init__(self, id: UUID, issue_id: str, title: str, category: str, community: str,
                 building: str | None, reporter_ref: str, reported_at: datetime):
        self.issue_id = issue_id
        self.title = title
        self.category = category
        self.community = community
        self.building = building
        self.reporter_ref = reporter_ref
        self.reported_at = reported_at


class CaseLink(Aggregate):
    """A case and the issue it is about, its tier and its responsible party (from casework's events)."""

    @event("Linked")
    def __init__(self, id: UUID, case_id: str, issue_id: str, tier: str, category: str, title: str | None,
                 community: str | None, building: str | None = None, reporter_ref: str | None = None,
                 duplicate_of: str | None = None, party: str | None = None, party_kind: str | None = None):
        """`party`: the first dispatch, when the CaseOpened carried it (one event, not Linked then Assigned)."""
        self.case_id = case_id
        self.duplicate_of = duplicate_of
        self.building = building
        self.reporter_ref = reporter_ref
        self.issue_id = issue_id
        self.tier = tier
        self.category = category
        self.title = title
        self.community = community
        self.party = party
        self.party_kind = party_kind

    @classmethod
    def link(cls, data: dict[str, Any]) -> "CaseLink":
        title, community = data.get("title"), data.get("community")
        return cls(id=case_link_id(data["case_id"]), case_id=data["case_id"], issue_id=data["issue_id"],
                   tier=data["tier"], category=data["category"], title=public_text(title) if title else None,
                   community=public_text(community) if community else None,
                   building=public_text(data["building"]) if data.get("building") else None,
                   reporter_ref=data.get("reporter_ref"), duplicate_of=data.get("duplicate_of"),
                   party=data.get("party") if data.get("party_kind") else None, party_kind=data.get("party_kind"))

    @event("Assigned")
    def assign(self, party: str, party_kind: str) -> None:
        self.party = party
        self.party_kind = party_kind

    @event("Retriaged")
    def retriage(self, tier: str) -> None:
        self.tier = tier


class Notice(Aggregate):
    """A public notice (公示) on the community board, in zh-CN and English, personal data masked."""

    @event("Published")
    def __init__(self, id: UUID, kind: str, about: str, community: str | None, source_event: str,
                 texts: dict[str, dict[str, str]], published_at: datetime):
        self.kind = kind
        self.about = about
        self.community = community
        self.source_event = source_event
        self.texts = texts
        self.published_at = published_at


class Delivery(Aggregate):
    """A message to a person, a group or a city system, from decision to delivered or given up.

    `recipient` names whom, never how to reach a person: a reporter by `reporter_ref` only; the
    contact is looked up when sending and only its masked form (`to`) is recorded.
    """

    @event("Requested")
    def __init__(self, id: UUID, channel: str, recipient: dict[str, Any], kind: str, about: str,
                 source_event: str, content: dict[str, Any], requested_at: datetime,
                 notice_id: str | None = None, redelivery_of: str | None = None):
        self.channel = channel
        self.recipient = recipient
        self.kind = kind
        self.about = about
        self.source_event = source_event
        self.content = content
        self.requested_at = requested_at
        self.notice_id = notice_id
        self.redelivery_of = redelivery_of
        self.status = "pending"
        self.attempts = 0
        self.next_attempt_at: datetime | None = requested_at
        self.last_error: str | None = None
        self.to: str | None = None

    @property
    def webhook_id(self) -> str:
        """The idempotency key receivers dedupe on: the same for every attempt of this delivery."""
        return f"msg_{self.id.hex}"

    def due(self, now: datetime) -> bool:
        return self.status == "pending" and self.next_attempt_at is not None and self.next_attempt_at <= now

    def record_failure(self, at: datetime, error: str, permanent: bool, retry: RetryPolicy) -> None:
        retry_at = None if permanent else retry.retry_at(self.attempts + 1, at)
        if retry_at is None:
            self.give_up(at, error)
        else:
            self.attempt_failed(at, error, retry_at)

    @event("AttemptFailed")
    def attempt_failed(self, at: datetime, error: str, retry_at: datetime) -> None:
        self.attempts += 1
        self.last_error = error
        self.next_attempt_at = retry_at

    def delivered(self, at: datetime, to: str) -> None:
        self._delivered(at, to, self.channel, self.about, self.notice_id or str(self.id))

    @event("Delivered")
    def _delivered(self, at: datetime, to: str, channel: str, about: str, notice_id: str) -> None:
        self.attempts += 1
        self.status = "delivered"
        self.to = to
        self.next_attempt_at = None

    def give_up(self, at: datetime, error: str) -> None:
        """Dead-lettered (DeliveryFailed): visible at GET /deliveries?status=failed, redeliverable."""
        self._gave_up(at, error, self.attempts + 1, self.channel, self.about)

    @event("GaveUp")
    def _gave_up(self, at: datetime, error: str, attempts: int, channel: str, about: str) -> None:
        self.attempts = attempts
        self.status = "failed"
        self.last_error = error
        self.next_attempt_at = None

    @event("Skipped")
    def skip(self, at: datetime, reason: str) -> None:
        """Nothing to send it with (the channel is not configured here): recorded, not retried."""
        self.status = "skipped"
        self.last_error = reason
        self.next_attempt_at = None


_PATTERN = re.compile(r"^[A-Za-z0-9.*]{1,120}$")


def valid_pattern(pattern: Any) -> bool:
    return isinstance(pattern, str) and bool(_PATTERN.match(pattern))


def matches(patterns: list[str], type_uri: str) -> bool:
    """A pattern matches the CloudEvents type (`cn.yishi.casework.CaseOpened.v1`) or its short form
    (`casework.CaseOpened`); `*` matches any run of characters (`casework.*`, `*.CaseClosed`)."""
    parts = type_uri.split(".")
    short = ".".join(parts[2:4]) if len(parts) == 5 else type_uri
    return any(fnmatch.fnmatchcase(type_uri, p) or fnmatch.fnmatchcase(short, p) for p in patterns)


class SubscriptionBook(Aggregate):
    """The register of city systems' webhook subscriptions (订阅登记): one aggregate, so a decision
    about an event sees every subscription that existed when it was taken."""

    @event("Opened")
    def __init__(self, id: UUID):
        self.subscriptions: dict[str, dict[str, Any]] = {}

    @event("Subscribed")
    def subscribe(self, subscription_id: str, url: str, types: list[str], secret: str, at: datetime,
                  owner: str | None = None) -> None:
        """`owner` is the subscribing city system's token subject (None: subscribed before sign-on)."""
        self.subscriptions[subscription_id] = {"subscription_id": subscription_id, "url": url, "types": list(types),
                                               "secret": secret, "created_at": at, "active": True, "owner": owner}

    @event("Cancelled")
    def cancel(self, subscription_id: str, at: datetime) -> None:
        self.subscriptions[subscription_id]["active"] = False

    @event("RedeliveryRequested")
    def request_redelivery(self, subscription_id: str, request_id: str, source: str | None, from_sequence: int,
                           deliveries: int, at: datetime) -> None:
        """A subscriber asked for everything it was sent since `from_sequence` again (new webhook ids)."""

    def matching(self, type_uri: str) -> list[dict[str, Any]]:
        return [s for s in self.subscriptions.values() if s["active"] and matches(s["types"], type_uri)]
