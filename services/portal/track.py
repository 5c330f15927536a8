"""The resident's progress page (查进度) from intake's progress query, and their answer to a resolved case."""
from __future__ import annotations

from typing import Any

from services.portal.i18n import Words


def view(progress: dict[str, Any], t: Words) -> dict[str, Any]:
    """What the page shows: the timeline in plain words, the deadlines, who is responsible."""
    case = progress.get("case") or {}
    due = case.get("due") or {}
    return {
        "code": progress.get("tracking_code"),
        "title": progress.get("title"),
        "category": progress.get("category"),
        "location": progress.get("location") or {},
        "status": progress.get("status"),
        "tier": case.get("tier"),
        "party": case.get("party"),
        "merged": bool(progress.get("merged_into")),
        "issue_id": progress.get("merged_into") or progress.get("issue_id"),
        "deadlines": [{"kind": key.removesuffix("_by"), "at": t.time(at)} for key, at in due.items() if at],
        "timeline": [{"what": t.step(e), "at": t.time(e.get("at")), "party": e.get("party"),
                      "summary": e.get("summary") or e.get("plan") or e.get("reason")}
                     for e in progress.get("timeline", [])],
        "answerable": progress.get("status") == "resolved",
    }


def answer(form: Any) -> dict[str, Any]:
    """intake's confirmation body from the form: {confirmed, satisfaction?, comment?}; intake checks it."""
    body: dict[str, Any] = {"confirmed": form.get("confirmed") == "yes"}
    if (score := form.get("satisfaction") or "").isdigit():
        body["satisfaction"] = int(score)
    if comment := (form.get("comment") or "").strip():
        body["comment"] = comment
    if form.get("confirmed") not in ("yes", "no"):
        body.pop("confirmed")  # intake names the missing field
    return body
