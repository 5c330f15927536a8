"""The unbroken trace of a case (全程留痕) on the progress page: report → agenda topic → vote → minutes resolution
→ plan and deadline → resolution → confirmation → monthly results release, each step linked to the public page
that records it. The council's steps are meetings' (`GET /cases/{id}/trace`), the case's are intake's timeline."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from services.portal.i18n import Words
from services.portal.staff_words import KIND

COUNCIL = ("topic", "vote", "resolution")  # the steps a case has only when it went before the council
STAGES = ("report", *COUNCIL, "plan", "resolved", "confirmation", "release")


def chain(progress: dict[str, Any], steps: list[dict[str, Any]], t: Words) -> list[dict[str, Any]]:
    """The stages in the council's order, each with its entries ({text, at?, href?, owner?, due?}; none yet:
    empty); none at all when the case has no step in the council's record (its timeline tells it all)."""
    if not steps:
        return []
    case_id = (progress.get("case") or {}).get("case_id")
    timeline = progress.get("timeline", [])
    entries = {
        "report": [{"text": t.word("trace_reported"), "at": t.time(progress.get("reported_at"))}],
        **{kind: [_COUNCIL_ENTRY[kind](s, t) for s in steps if s["kind"] == kind] for kind in COUNCIL},
        "plan": [_plan(e, t) for e in timeline if e.get("step") == "PlanProposed"],
        "resolved": [{"text": e.get("summary") or t.step(e), "at": t.time(e.get("at"))}
                     for e in timeline if e.get("step") == "CaseResolved"],
        "confirmation": [_answer(e, t) for e in timeline if e.get("step") == "ResidentConfirmed"],
        "release": [_release(s, case_id, t) for s in steps if s["kind"] == "release"],
    }
    shown = STAGES if entries["topic"] else tuple(s for s in STAGES if s not in COUNCIL)
    return [{"stage": stage, "entries": entries[stage]} for stage in shown]


def _meeting(step: dict[str, Any], anchor: str) -> str:
    return f"/meetings/{quote(step['meeting_id'], safe='')}#{anchor}"


def _topic(step: dict[str, Any], t: Words) -> dict[str, Any]:
    kind = t.of(KIND, step.get("meeting_kind")) or t.word("trace_meeting")
    text = f"{kind} · {step.get('title') or ''}"
    return {"text": text + (t.word("trace_cancelled") if step.get("cancelled") else ""),
            "at": t.time(step.get("meeting_at")), "href": _meeting(step, f"topic-{step['topic_id']}")}


def _vote(step: dict[str, Any], t: Words) -> dict[str, Any]:
    counts = t.word("trace_counts").format(yes=step["for"], no=step["against"], abstain=step["abstain"],
                                           outcome=t.word("trace_carried" if step["carried"] else "trace_not_carried"))
    return {"text": f"{step.get('text') or ''} {counts}".strip(), "at": t.time(step.get("meeting_at")),
            "href": _meeting(step, f"motion-{step['motion_id']}")}


def _resolution(step: dict[str, Any], t: Words) -> dict[str, Any]:
    return {"text": step["text"], "owner": step.get("owner"), "due": t.time(step.get("due")),
            "at": t.time(step.get("minuted_at")), "href": _meeting(step, "minutes")}


_COUNCIL_ENTRY = {"topic": _topic, "vote": _vote, "resolution": _resolution}


def _plan(entry: dict[str, Any], t: Words) -> dict[str, Any]:
    due = (entry.get("due") or {}).get("resolve_by")
    return {"text": entry.get("plan") or t.step(entry), "owner": entry.get("owner"), "due": t.time(due),
            "at": t.time(entry.get("at"))}


def _answer(entry: dict[str, Any], t: Words) -> dict[str, Any]:
    text = t.step(entry)
    if "confirmed" in entry:  # the viewer's own answer: another reporter's is not shown (intake leaves it out)
        text += f":{t.word('yes' if entry['confirmed'] else 'no')}"
        if entry.get("satisfaction"):
            text += " · " + t.word("trace_score").format(n=entry["satisfaction"])
    return {"text": text, "at": t.time(entry.get("at"))}


def _release(step: dict[str, Any], case_id: str | None, t: Words) -> dict[str, Any]:
    anchor = f"#case-{case_id}" if case_id else ""
    return {"text": t.word("trace_listed").format(month=step["month"], list=t.word(step["list"])),
            "at": t.time(step.get("released_at")), "href": f"/results?month={quote(step['month'])}{anchor}"}
