"""The monthly results release (议事成果发布): what was resolved this month, what is not and why, next steps.

Built from the case digest (meetings' own record of casework's facts) as the cases stood at the end of
the month, or now if that is earlier. Pure: rows in, a report out; and the report as a document.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from shared.deadlines import month_bounds
from services.meetings.rules import KINDS, SHANGHAI
from shared.contracts.envelope import rfc3339
from shared.masking import public_data

log = logging.getLogger(__name__)
STATES = {"opened": "open", "resolved": "resolved", "closed": "closed", "reopened": "reopened", "merged": "merged"}
STATUS_NAMES = {"open": ("在办", "in progress"), "reopened": ("重新整改", "reopened for rectification"),
                "resolved": ("已解决", "resolved"), "closed": ("已办结", "closed")}
TO_NAMES = {"secretary": ("社区书记", "the community secretary"), "task_force": ("专班", "a task force"),
            "council": ("议事会", "the council"), "assembly": ("居民代表大会", "the residents' representative assembly")}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def build(month: str, cases: list[dict[str, Any]], meetings: dict[str, dict[str, Any]],
          now: datetime, since: datetime | None = None) -> dict[str, Any]:
    """The report for `month` from case digests (see projections.CaseDigest) and the meetings they name.

    `since`: when last month's release was made (its `as_of`, on or after its 25th); cases settled after it
    were in no release yet, so this month's resolved list starts there instead of on the 1st.
    """
    start, end = month_bounds(month)
    start = min(start, since) if since else start
    as_of = min(end, now)
    lists: dict[str, list[dict[str, Any]]] = {"resolved": [], "unresolved": []}
    for case in cases:
        try:
            placed = _place(case, start, as_of, meetings)
        except (KeyError, TypeError, ValueError, AttributeError):  # one odd record never stops the release
            log.warning("case %s has an unreadable digest; listed as unresolved", case.get("case_id"))
            placed = "unresolved", _head(case) | {"status": "open", "since": None, "reasons": [{"code": "unreadable"}],
                                                  "next_steps": [{"kind": "follow_up"}]}
        if placed is not None:
            lists[placed[0]].append(placed[1])
    return {"month": month, "as_of": rfc3339(as_of.astimezone(timezone.utc)),
            "counts": {k: len(v) for k, v in lists.items()}, **public_data(lists)}  # the release is public


def _head(case: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": case["case_id"], "title": case.get("title") or case.get("category") or case["case_id"][:8],
            "category": case.get("category"), "tier": case.get("tier")}


def _place(case: dict[str, Any], start: datetime, as_of: datetime,
           meetings: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """("resolved" | "unresolved", the case's row), or None when it is in neither list."""
    facts = [f for f in case["facts"] if _parse(f["at"]) < as_of]
    if not facts:
        return None
    state, settled_this_month, resolution = "open", None, None
    for f in facts:
        state = STATES.get(f["fact"], state)
        if f["fact"] == "resolved" or (f["fact"] == "closed" and resolution is None):
            resolution = f
            if _parse(f["at"]) >= start:
                settled_this_month = f
        elif f["fact"] == "reopened":
            resolution = None
    if state == "merged":  # reported again by a neighbour: the original case is listed, not this one
        return None
    if state in ("resolved", "closed"):
        if settled_this_month is None:
            return None
        return "resolved", _head(case) | {"reported_at": case.get("reported_at") or facts[0]["at"],
                                          "resolved_at": settled_this_month["at"],
                                          "summary": settled_this_month["data"].get("summary")}
    since = case.get("reported_at") or facts[0]["at"]
    return "unresolved", _head(case) | {"status": state, "since": since, **_why(case, facts, as_of, meetings)}


def _why(case: dict[str, Any], facts: list[dict[str, Any]], as_of: datetime,
         meetings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    reasons: list[dict[str, Any]] = []
    for f in facts:
        if f["fact"] == "reopened":
            reasons.append({"code": "reopened", "text": f["data"].get("reason"), "at": f["at"]})
        elif f["fact"] == "escalated":
            reasons.append({"code": "escalated", "to": f["data"].get("to"), "text": f["data"].get("reason"),
                            "at": f["at"]})
    due = (case.get("due") or {}).get("resolve_by")
    if due and _parse(due) < as_of:
        reasons.append({"code": "overdue", "due": due})
    if not reasons:
        reasons.append({"code": "in_progress", "text": case.get("triage_reason")
                        or next((f["data"].get("triage_reason") for f in facts if f["fact"] == "opened"), None)})
    steps: list[dict[str, Any]] = []
    confirmed = {s["proposal_id"] for s in case["next_steps"] if s["kind"] == "on_agenda"}
    for s in case["next_steps"]:
        if s["kind"] == "resolution":
            steps.append({"kind": "resolution", "text": s["text"], "owner": s["owner"], "due": s["due"]})
        elif s["kind"] == "on_agenda":
            m = meetings.get(s["meeting_id"], {})
            steps.append({"kind": "meeting", "meeting_id": s["meeting_id"], "meeting_at": m.get("meeting_at"),
                          "meeting_kind": m.get("kind")})
        elif s["kind"] == "proposed" and s["proposal_id"] not in confirmed:
            steps.append({"kind": "proposed", "to": s["to"]})
    if not steps:
        steps.append({"kind": "deadline", "due": due} if due and _parse(due) >= as_of else {"kind": "follow_up"})
    return {"reasons": reasons, "next_steps": steps}


# the printable document -----------------------------------------------------------------------------
def _day(value: str | None, lang: str) -> str:
    if not value:
        return "—"
    local = _parse(value).astimezone(SHANGHAI)
    return local.strftime("%Y年%m月%d日" if lang == "zh" else "%Y-%m-%d")


def reason_text(r: dict[str, Any], lang: str) -> str:
    zh = lang == "zh"
    if r["code"] == "reopened":
        return (f"居民确认未解决,重新整改:{r.get('text') or ''}" if zh else f"reopened after the resident's check: "
                f"{r.get('text') or ''}")
    if r["code"] == "escalated":
        to = TO_NAMES.get(r.get("to") or "", (r.get("to"), r.get("to")))
        return f"已提交{to[0]}:{r.get('text') or ''}" if zh else f"escalated to {to[1]}: {r.get('text') or ''}"
    if r["code"] == "unreadable":
        return "案件记录不完整,正在核查" if zh else "the case's record is incomplete and being checked"
    if r["code"] == "overdue":
        return f"已超过办理时限({_day(r['due'], lang)})" if zh else f"past its deadline ({_day(r['due'], lang)})"
    return f"正在办理{(':' + r['text']) if r.get('text') else ''}" if zh else \
        f"in progress{(': ' + r['text']) if r.get('text') else ''}"


def step_text(s: dict[str, Any], lang: str) -> tuple[str, str, str]:
    """(what, owner, by when) of a next step."""
    zh = lang == "zh"
    if s["kind"] == "resolution":
        return s["text"], s["owner"], _day(s["due"], lang)
    if s["kind"] == "meeting":
        kind = KINDS.get(s.get("meeting_kind") or "", ("会议", "meeting"))
        return ((f"提交{kind[0]}审议" if zh else f"to be discussed at the {kind[1]}"),
                ("议事会" if zh else "the council"), _day(s.get("meeting_at"), lang))
    if s["kind"] == "proposed":
        to = TO_NAMES.get(s["to"], (s["to"], s["to"]))
        return (f"待列入{to[0]}议程" if zh else f"to be put on the agenda of {to[1]}"), "—", "—"
    if s["kind"] == "deadline":
        return ("按期办结" if zh else "to be resolved by its deadline"), "—", _day(s["due"], lang)
    return ("继续跟踪办理" if zh else "followed up"), "—", "—"


def document(report: dict[str, Any], lang: str) -> list[tuple]:
    zh = lang == "zh"
    year, mon = report["month"].split("-")
    title = f"{year}年{int(mon)}月议事成果发布" if zh else f"Results release, {report['month']}"
    if report.get("released_at"):
        state = (f"发布时间:{_day(report['released_at'], lang)}" if zh
                 else f"Released {_day(report['released_at'], lang)}")
    else:
        state = "预览(尚未发布)" if zh else "Preview (not yet released)"
    counts = report["counts"]
    blocks: list[tuple] = [
        ("h1", title), ("p", state),
        ("p", f"本月已解决 {counts['resolved']} 件,未解决 {counts['unresolved']} 件。" if zh
         else f"{counts['resolved']} resolved this month, {counts['unresolved']} unresolved."),
        ("h2", "一、本月已解决问题清单" if zh else "1. Resolved this month"),
        ("table", ["问题", "分类", "反映时间", "解决时间", "处理结果"] if zh
         else ["Issue", "Category", "Reported", "Resolved", "Outcome"],
         [[c["title"], c.get("category"), _day(c.get("reported_at"), lang), _day(c["resolved_at"], lang),
           c.get("summary") or "—"] for c in report["resolved"]]),
        ("h2", "二、未解决问题及原因" if zh else "2. Unresolved, and why"),
        ("table", ["问题", "分类", "反映时间", "状态", "原因"] if zh else ["Issue", "Category", "Reported", "Status", "Reason"],
         [[c["title"], c.get("category"), _day(c.get("since"), lang), STATUS_NAMES[c["status"]][0 if zh else 1],
           ";".join(reason_text(r, lang) for r in c["reasons"]) if zh
           else "; ".join(reason_text(r, lang) for r in c["reasons"])] for c in report["unresolved"]]),
        ("h2", "三、下一步计划" if zh else "3. Next steps"),
        ("table", ["问题", "下一步", "责任人", "完成时限"] if zh else ["Issue", "Next step", "Owner", "Due"],
         [[c["title"], *step_text(s, lang)] for c in report["unresolved"] for s in c["next_steps"]]),
    ]
    return blocks
