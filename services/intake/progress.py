"""What a resident sees of their issue (进度查询): its case's status and timeline, told truthfully to every
reporter of a merged case, each one's own answer shown as theirs only."""
from __future__ import annotations

from typing import Any

from services.intake.domain import ANSWER_FACTS, Issue, public_text
from shared.contracts.envelope import rfc3339
from shared.masking import mask_name, mask_phone

MERGED_ZH = "与相同诉求合并办理"


def answer_label(answered_by: str, viewer: str) -> str:
    """An answer is 您已反馈 only to the resident who gave it; the others read that another reporter answered."""
    return "您已反馈" if answered_by == viewer else "其他反映人已反馈"


def _entry(progress: dict[str, Any], owner: str, viewer: str) -> dict[str, Any]:
    """A timeline entry of `owner`'s issue as the resident of `viewer` reads it (another's rating is not shown).
    An answer recorded without `answered_issue_id` (before co-reporters were told apart) is the owner's."""
    entry = {**progress, "at": rfc3339(progress["at"])}
    if entry.get("step") != "ResidentConfirmed":
        return entry
    by = entry.get("answered_issue_id", owner)
    if by == viewer:
        return entry | {"step_zh": answer_label(by, viewer)}
    return {k: v for k, v in entry.items() if k not in ANSWER_FACTS} | {"step_zh": answer_label(by, viewer)}


def progress_view(issue: Issue, original: Issue | None, by_tracking_code: bool) -> dict[str, Any]:
    """The resident's view of `issue`; `original` is the issue it was merged into, whose case it follows.

    The tracking code proves who raised the issue (it confirms the case), so it is shown only to
    whoever already quoted it: issue ids are public, tracking codes are not. Contact details are masked.
    """
    report, me = issue.report, str(issue.id)
    reporter = report["reporter"]
    view = {
        "issue_id": me,
        **({"tracking_code": issue.tracking_code} if by_tracking_code else {}),
        "channel": report["channel"],
        "category": issue.category,
        "tags": issue.tags,
        "title": public_text(report["title"], report),
        "description": public_text(report["description"], report),
        "location": report["location"],
        "reporter": {"name": mask_name(reporter["name"]) if "name" in reporter else None,
                     "phone": mask_phone(reporter["phone"]) if "phone" in reporter else None},
        "reported_at": rfc3339(issue.reported_at),
        "status": issue.case["status"] if issue.case else "received",
        "case": issue.case,
        "timeline": [{"status": "received", "at": rfc3339(issue.reported_at)}]
        + [_entry(p, me, me) for p in issue.progress],
    }
    if original is None:
        return view
    merged = {"status": "merged", "at": rfc3339(issue.merged_at), "step": "IssueMerged", "step_zh": MERGED_ZH,
              "into_issue_id": issue.merged_into}
    return view | {"merged_into": issue.merged_into, "case": original.case,
                   "status": original.case["status"] if original.case else "received",
                   "timeline": view["timeline"] + [merged]  # the case's steps since this report joined it
                   + [_entry(p, str(original.id), me) for p in original.progress if p["at"] >= issue.merged_at]}
