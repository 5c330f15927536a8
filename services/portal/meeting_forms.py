"""The meeting pages' forms (五步议事法): which are offered at each stage of a meeting, and each form as the body
of meetings' command. meetings enforces the rules (notice, opening window, quorum, one vote…); its refusal is
shown beside the input it names."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from services.portal.i18n import SHANGHAI

ORGANISERS = ("secretary", "community_worker")
RECORDER = ("secretary",)
VOTE_RECORDERS = ("secretary", "council_member", "resident_representative")
RESOLUTION_ROWS = 3  # rows of the minutes form; a meeting with more resolutions sends them in two goes
# action -> (meetings' path under the meeting, the meeting statuses it is offered in, the roles offered it, fields)
ACTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "agenda": ("agenda", ("scheduled",), ORGANISERS, ("title", "background", "draft_plan", "case_id")),
    "participants": ("participants", ("scheduled", "open"), ORGANISERS, ("name", "role", "organisation", "present")),
    "open": ("open", ("scheduled",), ORGANISERS, ("present", "chair", "recorder")),
    "reschedule": ("reschedule", ("scheduled",), ORGANISERS, ("meeting_at", "place", "reason")),
    "cancel": ("cancel", ("scheduled",), ORGANISERS, ("reason",)),
    "statements": ("statements", ("open",), ORGANISERS, ("participant_id", "topic_id", "seconds", "summary")),
    "disagreements": ("disagreements", ("open",), ORGANISERS, ("topic_id", "point", "positions")),
    "motions": ("motions", ("open",), RECORDER, ("text", "topic_id", "mode", "major", "majority")),
    "votes": ("votes", ("open",), VOTE_RECORDERS, ("motion_id", "choice", "ballot", "participant_id")),
    "ballots": ("motions/{motion_id}/ballots", ("open",), RECORDER, ("motion_id",)),
    "tally": ("motions/{motion_id}/tally", ("open",), ORGANISERS, ("motion_id",)),
    "close": ("close", ("open",), ORGANISERS, ()),
    "minutes": ("minutes", ("closed",), ORGANISERS, ("summary",)),
}
SCHEDULE_FIELDS = ("kind", "title", "place", "meeting_at")
RESOLUTION_FIELDS = ("text", "owner", "due", "motion_id")
ITEM = re.compile(r"^(?:topics|participants)\[\d+\]\.(.+)$")
RESOLUTION = re.compile(r"^resolutions\[(\d+)\]\.(.+)$")


def actions_for(roles: tuple[str, ...], meeting: dict[str, Any]) -> list[str]:
    return [name for name, (_, statuses, allowed, _) in ACTIONS.items()
            if meeting.get("status") in statuses and any(r in allowed for r in roles)]


def local_time(raw: str) -> str | None:
    """A `datetime-local` input (Asia/Shanghai, the council's clock) as RFC 3339; None when empty or unreadable
    (meetings then names the field)."""
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=SHANGHAI).isoformat() if raw else None
    except ValueError:
        return raw


def _get(form: Any, action: str, name: str) -> str:
    return (form.get(f"{action}-{name}") or "").strip()


def body(action: str, form: Any) -> dict[str, Any]:
    """meetings' command body from the action's form; empty optional inputs are left out."""
    values = {name: _get(form, action, name) for name in ACTIONS[action][3]}
    if action == "agenda":
        return {"topics": [{k: v for k, v in values.items() if v}]}
    if action == "participants":
        person = {k: v for k, v in values.items() if v and k != "present"}
        return {"participants": [person | {"present": values["present"] == "yes"}]}
    if action == "open":
        return {"present": form.getlist("open-present"), **{k: values[k] for k in ("chair", "recorder") if values[k]}}
    if action == "reschedule":
        return {k: v for k, v in (values | {"meeting_at": local_time(values["meeting_at"])}).items() if v}
    if action == "statements":
        seconds = values["seconds"]
        return {k: v for k, v in values.items() if v and k != "seconds"} | (
            {"seconds": int(seconds)} if seconds.isdigit() else {"seconds": seconds} if seconds else {})
    if action == "disagreements":
        lines = [line.strip() for line in values["positions"].splitlines() if line.strip()]
        return {k: v for k, v in values.items() if v and k != "positions"} | {"positions": lines}
    if action == "motions":
        return {k: v for k, v in values.items() if v and k != "major"} | {"major": values["major"] == "yes"}
    if action in ("tally", "ballots", "close"):
        return {}
    if action == "minutes":
        return {"resolutions": resolutions(form), **({"summary": values["summary"]} if values["summary"] else {})}
    return {k: v for k, v in values.items() if v}


def resolutions(form: Any) -> list[dict[str, str]]:
    """The minutes' filled rows: text, owner, due (a date), and the motion it carries out, if any."""
    rows = []
    for i in range(RESOLUTION_ROWS):
        row = {name: (form.get(f"minutes-{name}-{i}") or "").strip() for name in RESOLUTION_FIELDS}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v})
    return rows


def schedule(form: Any) -> dict[str, Any]:
    """POST /meetings from the schedule form: kind, place, meeting_at (Asia/Shanghai), title."""
    values = {name: _get(form, "schedule", name) for name in SCHEDULE_FIELDS}
    return {k: v for k, v in (values | {"meeting_at": local_time(values["meeting_at"])}).items() if v}


def error_field(action: str, problem_field: str | None) -> str:
    """The input a refusal names: `topics[0].background` -> agenda-background; `resolutions[1].owner` ->
    minutes-owner-1; a field the form has no input for -> the form itself."""
    name = problem_field or ""
    if (row := RESOLUTION.match(name)) and action == "minutes":
        return f"minutes-{row.group(2)}-{row.group(1)}"
    name = ITEM.sub(r"\1", name)
    fields = SCHEDULE_FIELDS if action == "schedule" else ACTIONS[action][3]
    return f"{action}-{name}" if name in fields else action


def motion_path(action: str, form: Any) -> str:
    return ACTIONS[action][0].replace("{motion_id}", _get(form, action, "motion_id") or "-")
