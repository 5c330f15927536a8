"""What a resident sees of their issue (进度查询): its case's status and timeline, told truthfully to every
reporter of a merged case, each one's own answer shown as theirs only."""
from __future__ import annotations

from typing import Any

from datetime import datetime

from services.intake.domain import ANSWER_FACTS, Issue, public_text
from shared.contracts import steps_of
from shared.contracts.envelope import rfc3339
from shared.masking import mask_name, mask_phone, public_point

MERGED_ZH = "与相同诉求合并办理"

# casework event -> (timeline label, the issue's new status or None to keep it, facts the resident sees)
CASE_STEPS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "CaseOpened": ("已立案分级", "open", ("tier", "due")),
    "CaseRetriaged": ("调整分级", None, ("tier", "due")),
    "CaseRetimed": ("按节假日安排调整办理时限", None, ("deadline",)),
    "CaseAssigned": ("已指派责任主体", None, ("party",)),
    "SiteVerified": ("已现场核实", None, ("verified_at",)),
    "PlanProposed": ("已提出解决方案", None, ("plan", "owner")),
    "CaseEscalated": ("已上报协调", None, ("to",)),
    "CaseResolved": ("已办结,待您确认", "resolved", ("summary",)),
    "ResidentConfirmed": ("您已反馈", None, ("confirmed", "satisfaction")),
    "CaseReopened": ("重新整改", "reopened", ("reason",)),
    "CaseClosed": ("已结案", "closed", ()),
    "CaseMerged": ("与相同诉求合并办理", "merged", ("into_issue_id",)),
    "CaseReplied": ("收到回复", None, ("text", "party")),
    # the responsible party's steps: none of them changes the resident's deadline, and the label says so
    "CaseAcknowledged": ("责任单位已签收,正在办理(办理时限仍从您反映之日起计算)", None, ("party",)),
    "CaseAcknowledgeMissed": ("责任单位未按时签收,已记入考核,社区正在督办(办理时限不变)", None, ("party",)),
    "CaseReturned": ("责任单位退回派单,社区将重新派单(办理时限不变)", None, ("party", "reason")),
    "CaseReturnDisputed": ("社区对退单有异议,已提请社区书记裁定(办理时限不变)", None, ("reason",)),
    "CaseReturnUpheld": ("社区书记裁定退单理由成立,社区将重新派单(办理时限不变)", None, ("reason",)),
    "CaseReturnOverruled": ("社区书记裁定退单理由不成立,原责任单位继续办理(办理时限不变)", None, ("party", "reason")),
    "CaseExtensionRequested": ("责任单位申请延期,待社区书记审批(办理时限不变)", None, ("reason", "requested_due")),
    "CaseExtensionApproved": ("社区书记批准延期,责任单位承诺的办结日期见下;逾期仍计入考核", None,
                              ("reason", "requested_due")),
    "CaseExtensionRefused": ("社区书记未批准延期,须按原时限办结", None, ("reason",)),
}

# liaison event -> (timeline label, facts the resident sees): a people's congress representative's 代表督办
SUPERVISION_STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CaseSupervisionTaken": ("人大代表督办中", ()),
    "CaseSupervisionSignedOff": ("人大代表督办结束", ("note", "solved")),
}


class CaseSoFar:
    """What intake knows of an issue's case: its facts (status, tier, due, party…) and its timeline, and a
    representative's supervision of it (shown in the resident's timeline, never decided on)."""

    def __init__(self, case: dict[str, Any] | None = None, timeline: list[dict[str, Any]] | None = None,
                 supervision: list[dict[str, Any]] | None = None):
        self.case = case
        self.timeline = timeline or []  # entries {status, at (RFC 3339), step, step_zh, facts…}
        self.supervision = supervision or []  # entries {at, step, step_zh, facts…}

    def shown(self) -> list[dict[str, Any]]:
        """The timeline with the supervision's entries in time order, each in the status the case had then."""
        out, pending, status = [], sorted(self.supervision, key=lambda e: e["at"]), "received"
        for entry in self.timeline:  # casework's own order is kept
            while pending and pending[0]["at"] < entry["at"]:
                out.append({"status": status, **pending.pop(0)})
            out.append(entry)
            status = entry["status"]
        return out + [{"status": status, **e} for e in pending]

    @property
    def status(self) -> str:
        return self.case["status"] if self.case else "received"

    @property
    def resolutions(self) -> int:
        """How many times the case was resolved (counted, not timed: clocks differ)."""
        return sum(p["status"] == "resolved" for p in self.timeline)

    def step(self, name: str, data: dict[str, Any], at: datetime) -> None:
        """casework's news about the issue: a timeline entry per step it tells, and the case's facts as they
        stand now."""
        for told in steps_of("casework", name, data):
            self._step(told, data, at)

    def _step(self, name: str, data: dict[str, Any], at: datetime) -> None:
        step_zh, status, facts = CASE_STEPS[name]
        due = (self.case or {}).get("due", {})
        detail = {"step": name, "step_zh": step_zh, **{k: data[k] for k in facts if k in data}}
        if name == "ResidentConfirmed":  # whose answer: 您已反馈 only on that resident's timeline
            by = data.get("answered_issue_id") or data["issue_id"]
            detail |= {"answered_issue_id": by, "step_zh": answer_label(by, data["issue_id"])}
        if name == "CaseReopened":
            detail["due"] = {"resolve_by": data.get("due")}
        if name == "CaseRetimed":  # a year's holiday notice moved one working-day deadline
            detail["due"] = {**due, f"{data['deadline']}_by": data["due"]}
        if name == "PlanProposed" and data.get("due"):
            detail["due"] = {**due, "resolve_by": data["due"]}
        status = status or (self.case["status"] if self.case else "open")
        kept = {k: v for k, v in detail.items() if k != "step" and k not in ANSWER_FACTS}  # an answer is one resident's
        self.case = {**(self.case or {}), **kept, "case_id": data["case_id"], "status": status}
        self.timeline.append({"status": status, "at": rfc3339(at), **detail})

    def summary(self) -> dict[str, Any]:
        """The case as issue lists show it (projections.issue_doc)."""
        last = self.timeline[-1] if self.timeline else {}
        return {"status": self.status, "case_id": (self.case or {}).get("case_id"), "updated_at": last.get("at"),
                "step_zh": last.get("step_zh"),
                "case": {k: self.case[k] for k in ("tier", "due", "party") if self.case and k in self.case}}


def answer_label(answered_by: str, viewer: str) -> str:
    """An answer is 您已反馈 only to the resident who gave it; the others read that another reporter answered."""
    return "您已反馈" if answered_by == viewer else "其他反映人已反馈"


def _entry(progress: dict[str, Any], owner: str, viewer: str) -> dict[str, Any]:
    """A timeline entry of `owner`'s issue as the resident of `viewer` reads it (another's rating is not shown).
    An answer recorded without `answered_issue_id` (before co-reporters were told apart) is the owner's."""
    entry = dict(progress)
    if entry.get("step") != "ResidentConfirmed":
        return entry
    by = entry.get("answered_issue_id", owner)
    if by == viewer:
        return entry | {"step_zh": answer_label(by, viewer)}
    return {k: v for k, v in entry.items() if k not in ANSWER_FACTS} | {"step_zh": answer_label(by, viewer)}


def progress_view(issue: Issue, own: CaseSoFar, original: tuple[Issue, CaseSoFar] | None,
                  by_tracking_code: bool, contact: dict[str, str] | None = None) -> dict[str, Any]:
    """The resident's view of `issue` and its case; `original`: the issue it was merged into (whose case it
    follows) and that case.

    The tracking code proves who raised the issue (it confirms the case), so it is shown only to
    whoever already quoted it: issue ids are public, tracking codes are not. `contact` (opened for the
    reporter who quoted their code) is shown masked; None once erased, and to whoever asks by issue id.
    """
    report, me = issue.report, str(issue.id)
    reporter = contact or {}
    view = {
        "issue_id": me,
        **({"tracking_code": issue.tracking_code} if by_tracking_code else {}),
        "channel": report["channel"],
        "category": issue.category,
        "tags": issue.tags,
        "title": public_text(report["title"], report),
        "description": public_text(report["description"], report),
        "location": public_point(report["location"]),  # public by issue id: the point no finer than the building
        "reporter": {"name": mask_name(reporter["name"]) if "name" in reporter else None,
                     "phone": mask_phone(reporter["phone"]) if "phone" in reporter else None} if contact else None,
        "reported_at": rfc3339(issue.reported_at),
        "status": own.status,
        "case": own.case,
        "timeline": [{"status": "received", "at": rfc3339(issue.reported_at), **_reported_by(issue)}]
        + [_entry(p, me, me) for p in own.shown()],
    }
    if original is None:
        return view
    into, case = original
    joined = rfc3339(issue.merged_at)
    merged = {"status": "merged", "at": joined, "step": "IssueMerged", "step_zh": MERGED_ZH,
              "into_issue_id": issue.merged_into}
    return view | {"merged_into": issue.merged_into, "case": case.case, "status": case.status,
                   "timeline": view["timeline"] + [merged]  # the case's steps since this report joined it
                   + [_entry(p, str(into.id), me) for p in case.shown() if _at(p) >= issue.merged_at]}


def _reported_by(issue: Issue) -> dict[str, Any]:
    """Who reported a need found on a visit for the household (代办), as the timeline shows it."""
    on_behalf = getattr(issue, "on_behalf", None)
    if not on_behalf:
        return {}
    by = on_behalf["reported_by"]
    return {"reported_by": {"role": by["role"], "name": by["name"]},
            "step_zh": f"{ROLE_ZH.get(by['role'], '工作人员')}{by['name']}"
                       f"{'上门走访时' if issue.report['channel'] == 'visit' else ''}代为反映(代办)"}


ROLE_ZH = {"community_worker": "社区工作者", "secretary": "社区书记", "council_member": "议事会成员"}


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
