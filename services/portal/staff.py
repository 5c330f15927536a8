"""The staff pages' content: the worklist (红黄绿灯 by tier and clock) and a case with the actions a role may take.

Which action forms a role is offered mirrors the council's procedure as the owning services declare it; the
service still decides (its refusal is shown beside the form), so a form shown in error sends nothing wrong.
"""
from __future__ import annotations

import uuid
from typing import Any

from services.portal.i18n import Words
from shared.edge.identity import Staff

PARTIES = ("property", "sanitation", "department", "task_force")
TEAMS = ("emergency_team", "council_member")  # the council's own teams, answering for the cases sent to them
WORKERS = ("community_worker", "secretary")
# action -> (the service, its command path under the case, the roles offered the form)
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "triage": ("casework", "triage", WORKERS),
    "assignment": ("casework", "assignment", WORKERS),
    # the responsible party's workflow (派单): it acknowledges (签收), returns (退单), asks for time (延期申请);
    # staff dispute a return, the secretary rules on it and decides on an extension
    "acknowledgement": ("casework", "acknowledgement", (*PARTIES, *TEAMS)),
    "return": ("casework", "return", (*PARTIES, *TEAMS)),
    "extension": ("casework", "extension", (*PARTIES, *TEAMS)),
    "return-dispute": ("casework", "return-dispute", WORKERS),
    "return-ruling": ("casework", "return-ruling", ("secretary",)),
    "extension-decision": ("casework", "extension-decision", ("secretary",)),
    "verification": ("casework", "verification", ("council_member", "emergency_team", *WORKERS, "task_force")),
    "plan": ("casework", "plan", ("council_member", *WORKERS, *PARTIES)),
    "resolution": ("casework", "resolution", (*WORKERS, *PARTIES)),
    "escalation": ("casework", "escalation", ("council_member", *WORKERS)),
    "merge": ("intake", "merge", WORKERS),
    "reply": ("casework", "reply", (*WORKERS, *PARTIES)),  # to the resident, on their progress page
    "note": ("casework", "note", ("council_member", "emergency_team", *WORKERS, *PARTIES)),  # never published
}
# each action's form fields, in the order shown; the same names as the command's body
FIELDS: dict[str, tuple[str, ...]] = {
    "triage": ("tier", "reason"), "assignment": ("party_kind", "party", "reason"), "verification": ("note",),
    "plan": ("plan", "due"), "resolution": ("summary",), "escalation": ("to", "reason"), "merge": ("into",),
    "acknowledgement": (), "return": ("reason",), "extension": ("due", "reason"), "return-dispute": ("reason",),
    "return-ruling": ("upheld", "reason"), "extension-decision": ("approved", "reason"), "reply": ("text",),
    "note": ("text", "visible_to"),
}
YES_NO = ("upheld", "approved")  # a choice sent as true or false
NOTE_READERS = ACTIONS["note"][2]  # whom a note may be shown to (the author's role always, casework adds it)
OPEN = ("open", "reopened")
LIGHT_RANK = {"red": 0, "yellow": 1, "green": 2, None: 3}
TIER_RANK = {"urgent": 0, "complex": 1, "routine": 2}
PAGE_SIZE = 50
READ_MOST = 500  # ledger rows read per worklist view (counted and sorted by clock here: casework orders by opening)
FILTERS = ("status", "tier", "party", "community", "overdue")


def actions_for(staff: Staff, case: dict[str, Any]) -> list[str]:
    """The actions whose forms this staff member is shown on this case (none once it is no longer open); the
    party's workflow only where the case's dispatch is at that step."""
    if case.get("status") not in OPEN:
        return []
    return [name for name, (_, _, roles) in ACTIONS.items()
            if any(r in roles for r in staff.roles) and _at_step(name, case)]


def _at_step(action: str, case: dict[str, Any]) -> bool:
    sent = case.get("dispatch") or {}
    waiting = sent.get("return_state")
    if action in ("acknowledgement", "return", "extension"):
        if not sent or sent.get("returned_at"):
            return False
        if action == "acknowledgement":
            return not sent.get("acknowledged_at")
        return action == "return" or not pending_extension(case)
    if action == "return-dispute":
        return waiting == "pending"
    if action == "return-ruling":
        return waiting in ("pending", "disputed")
    if action == "extension-decision":
        return pending_extension(case) is not None
    return True


def pending_extension(case: dict[str, Any]) -> dict[str, Any] | None:
    return next((e for e in case.get("extensions") or [] if e.get("decision") is None), None)


def light(case: dict[str, Any]) -> str | None:
    """红灯 overdue, 黄灯 warned, 绿灯 on time; None for a case no longer open."""
    if case.get("status") not in OPEN:
        return None
    return case.get("alert_level") or ("red" if case.get("overdue") else "green")


def next_due(case: dict[str, Any]) -> str | None:
    due = [d["due"] for d in (case.get("deadlines") or {}).values() if not d.get("met_at")]
    return min(due) if due and case.get("status") in OPEN else None


def query(args: Any, staff: Staff) -> dict[str, str]:
    """The worklist's filters from the query string; a community-bound staff member sees their community only."""
    picked = {name: (args.get(name) or "").strip()[:100] for name in FILTERS}
    if staff.community and not any(r in PARTIES for r in staff.roles):
        picked["community"] = staff.community
    if picked["overdue"] not in ("true", "false"):
        picked["overdue"] = ""
    return {k: v for k, v in picked.items() if v}


def ledger_params(filters: dict[str, str]) -> dict[str, Any]:
    """What casework's ledger filters itself (its party filter is the token's for a party's staff)."""
    return dict(filters) | {"limit": READ_MOST}


def worklist(cases: list[dict[str, Any]], page: int) -> dict[str, Any]:
    """The rows of one page, the worst clock first; counts by light and tier over every matching case (casework
    filtered them, the community too)."""
    rows = [dict(c) for c in cases]  # the answer may be shared (fresh.py)
    for row in rows:
        row["light"], row["next_due"] = light(row), next_due(row)
    rows.sort(key=lambda c: (LIGHT_RANK[c["light"]], TIER_RANK.get(c.get("tier"), 9), c["next_due"] or "~"))
    counts = {"lights": {k: sum(1 for r in rows if r["light"] == k) for k in ("red", "yellow", "green")},
              "tiers": {k: sum(1 for r in rows if r.get("tier") == k) for k in TIER_RANK}, "total": len(rows)}
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return {"rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "counts": counts, "page": page, "pages": pages,
            "truncated": len(cases) >= READ_MOST}


def history(trail: dict[str, Any]) -> dict[str, Any]:
    """casework's audit trail as the page shows it: who and when per event, and whether the chain holds."""
    entries = [{"version": e["version"], "at": e.get("at"), "what": e.get("type_zh") or e["type"], "type": e["type"],
                "by": e.get("by") or {}, "details": _details(e.get("data") or {})} for e in trail.get("entries", [])]
    return {"verified": bool(trail.get("verified")), "broken_at": trail.get("broken_at"),
            "reason": trail.get("reason"), "entries": entries}


DETAIL_KEYS = ("tier", "reason", "party", "party_kind", "note", "plan", "due", "requested_due", "to", "summary",
               "text", "upheld", "approved", "on_time", "confirmed", "satisfaction", "into_case_id", "merged_into")


def _details(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key in DETAIL_KEYS:
        value = data.get(key)
        if value in (None, "", [], {}):
            continue
        if key in ("due", "requested_due") and isinstance(value, str):
            try:
                value = Words.time(value)
            except ValueError:
                pass
        out.append((key, value if isinstance(value, bool) else str(value)))  # a yes or no is put in words
    return out


def command_body(action: str, form: Any) -> dict[str, Any]:
    """The owning service's command body from the action's form; empty optional fields are left out, so the
    service names a missing required one."""
    values: dict[str, Any] = {name: (form.get(f"{action}-{name}") or "").strip() for name in FIELDS[action]}
    if action == "merge":
        return {"into_issue_id": values["into"]} if values["into"] else {}
    for name in YES_NO:
        if name in values and values[name] in ("yes", "no"):
            values[name] = values[name] == "yes"
    if "visible_to" in values:  # ticked roles; none ticked: casework's default readers
        values["visible_to"] = [r for r in form.getlist(f"{action}-visible_to") if r in NOTE_READERS]
    return {k: v for k, v in values.items() if v not in ("", [])}


def error_field(action: str, problem_field: str | None) -> str:
    """Where a refusal is shown: beside the form's input it names, else at the top of the action's form."""
    name = {"into_issue_id": "into"}.get(problem_field or "", problem_field or "")
    return f"{action}-{name}" if name in FIELDS[action] else action


def form_key(raw: str | None) -> str:
    """The form's idempotency key (a double submit is recorded once), or a new one."""
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        return str(uuid.uuid4())
