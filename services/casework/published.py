"""What casework tells the world: private Case events mapped onto integration contracts.

Every event names the issue it came from, so intake answers the resident without asking casework.
Staff notes and titles pass through `mask_text`: typed by people, they may quote a phone number or a resident's name.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from services.casework.domain import Case
from services.casework.surveys import SurveyRound
from shared.contracts.envelope import rfc3339
from shared.masking import mask_text
from shared.messaging.relay import Published


def _due(deadlines: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {f"{name}_by": rfc3339(d["due"]) for name, d in deadlines.items()}


def _present(**fields: Any) -> dict[str, Any]:
    """Optional contract fields, sent only when known (events recorded before them replay unchanged)."""
    return {k: v for k, v in fields.items() if v is not None}


class CaseFacts:
    """The issue's facts every later case event is published with, per case: taken from `Opened` as the
    relay publishes it (so the next event of the case costs no read), else read from the case's first event.
    Bounded: a case not seen for a while is read again."""

    def __init__(self, app: Any, maxsize: int = 20000):
        self.app, self.maxsize = app, maxsize
        self._known: OrderedDict[UUID, dict[str, Any]] = OrderedDict()

    def of(self, case_id: UUID) -> dict[str, Any]:
        if case_id in self._known:
            self._known.move_to_end(case_id)
            return self._known[case_id]
        return self.learn(case_id, self.app.repository.get(case_id, version=1))

    def learn(self, case_id: UUID, opened: Any) -> dict[str, Any]:
        """`opened`: the `Opened` event, or the case as it opened (both hold these attributes)."""
        facts = {"issue_id": opened.issue_id, "title": mask_text(opened.title), "category": opened.category,
                 "community": opened.community}
        self._known[case_id] = facts
        if len(self._known) > self.maxsize:
            self._known.popitem(last=False)
        return facts


def publisher(app: Any) -> Callable[[Any], Published | None]:
    """The relay's map for casework. Only `Opened` holds the issue's facts; later events are published
    with them too (`CaseFacts`)."""
    facts = CaseFacts(app)

    def publish(event: Any) -> Published | None:
        if isinstance(event, SurveyRound.Recorded):  # the round as a whole reaches the board (测评公开)
            rate = round(event.satisfied / event.total, 4) if event.total else None
            return Published("SurveyRecorded", str(event.originator_id), event.timestamp, {
                "period": event.period, "items": event.items, "satisfied": event.satisfied, "total": event.total,
                "satisfaction_rate": rate, "below_floor": event.below_floor, "reopened": event.reopened,
                "recorded_at": rfc3339(event.at)})
        if not isinstance(event, Case.Event):
            return None
        case_id = str(event.originator_id)
        if isinstance(event, Case.Opened):
            facts.learn(event.originator_id, event)
            return Published("CaseOpened", case_id, event.timestamp, {
                "case_id": case_id, "issue_id": event.issue_id, "tier": event.tier, "category": event.category,
                "due": _due(event.deadlines), "opened_at": rfc3339(event.opened_at),
                "reported_at": rfc3339(event.reported_at),
                "triage_reason": event.triage_reason, "title": mask_text(event.title), "community": event.community,
                # what a notice about the case needs, so none waits on intake's queue
                "building": event.building, "reporter_ref": getattr(event, "reporter_ref", None),
                **_present(duplicate_of=getattr(event, "duplicate_of", None)),
                **_first_dispatch(getattr(event, "dispatch", None), event.opened_at),
            })
        known = facts.of(event.originator_id)
        mapped = _map(event, {"case_id": case_id, "issue_id": known["issue_id"]}, known)
        return Published(mapped[0], case_id, event.timestamp, mapped[1]) if mapped else None

    return publish


def _first_dispatch(dispatch: dict[str, Any] | None, at: Any) -> dict[str, Any]:
    """The party a case was sent to as it opened: what a CaseAssigned said before both were one step."""
    if dispatch is None:
        return {}
    return {"party": dispatch["party"], "party_kind": dispatch["party_kind"], "assigned_at": rfc3339(at),
            **_present(acknowledge_by=_time(dispatch["acknowledge_by"]))}


def _time(moment: Any) -> str | None:
    return rfc3339(moment) if moment is not None else None


def _party_step(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The responsible party's steps and the secretary's rulings (派单): what the unit lights count.
    Reasons are typed by people: masked. Internal notes (`Noted`) are never published."""
    if isinstance(event, Case.Acknowledged):
        return "CaseAcknowledged", {"party": event.party, "acknowledged_at": rfc3339(event.at),
                                    "on_time": event.on_time}
    if isinstance(event, Case.AcknowledgeMissed):
        return "CaseAcknowledgeMissed", {"party": event.party, "acknowledge_by": rfc3339(event.acknowledge_by),
                                         "missed_at": rfc3339(event.at)}
    if isinstance(event, Case.Replied):
        return "CaseReplied", {"text": mask_text(event.text), "replied_at": rfc3339(event.at), "party": event.party}
    if isinstance(event, Case.Returned):
        return "CaseReturned", {"party": event.party, "reason": mask_text(event.reason), "returned_at": rfc3339(event.at)}
    if isinstance(event, Case.ReturnDisputed):
        return "CaseReturnDisputed", {"party": event.party, "reason": mask_text(event.reason),
                                      "disputed_at": rfc3339(event.at)}
    if isinstance(event, Case.ReturnRuled):
        return ("CaseReturnUpheld" if event.upheld else "CaseReturnOverruled"), {
            "party": event.party, "reason": mask_text(event.reason), "ruled_at": rfc3339(event.at),
            **_present(acknowledge_by=_time(event.acknowledge_by))}
    if isinstance(event, Case.ExtensionRequested):
        return "CaseExtensionRequested", {"party": event.party, "requested_due": rfc3339(event.requested_due),
                                          "reason": mask_text(event.reason), "requested_at": rfc3339(event.at)}
    if isinstance(event, Case.ExtensionDecided):
        return ("CaseExtensionApproved" if event.approved else "CaseExtensionRefused"), {
            "party": event.party, "requested_due": rfc3339(event.requested_due), "reason": mask_text(event.reason),
            "decided_at": rfc3339(event.at)}
    return None


def _map(event: Any, base: dict[str, Any], facts: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    if isinstance(event, Case.Retriaged):
        return "CaseRetriaged", base | {"tier": event.tier, "reason": event.reason, "due": _due(event.deadlines)}
    if isinstance(event, Case.Assigned):
        return "CaseAssigned", base | {"party": event.party, "party_kind": event.party_kind, "assigned_at": rfc3339(event.at),
                                       **_present(acknowledge_by=_time(getattr(event, "acknowledge_by", None)))}
    workflow = _party_step(event)
    if workflow:
        return workflow[0], base | workflow[1]
    if isinstance(event, Case.Verified):
        return "SiteVerified", base | {"verified_at": rfc3339(event.at),
                                       "note": mask_text(event.note) if event.note else None}
    if isinstance(event, Case.PlanProposed):
        return "PlanProposed", base | {"plan": mask_text(event.plan), "proposed_at": rfc3339(event.at),
                                       "due": rfc3339(event.due) if event.due else None}
    if isinstance(event, Case.ResolutionAdopted):
        return "PlanProposed", base | {"plan": mask_text(event.text), "proposed_at": rfc3339(event.at),
                                       "due": rfc3339(event.due), "owner": event.owner,
                                       "meeting_id": event.meeting_id, "resolution_id": event.resolution_id}
    if isinstance(event, Case.DeadlineWarned):
        return "DeadlineWarned", base | {"level": event.level, "deadline": event.deadline, "due": rfc3339(event.due),
                                         "tier": event.tier, "party": event.party}
    if isinstance(event, Case.Escalated):
        return "CaseEscalated", base | {"to": event.to, "reason": event.reason, "tier": event.tier,
                                        "title": facts["title"], "category": facts["category"],
                                        "community": facts["community"]}
    if isinstance(event, Case.Resolved):
        return "CaseResolved", base | {"resolved_at": rfc3339(event.at), "summary": mask_text(event.summary)}
    if isinstance(event, Case.Confirmed):  # whose issue answered: known for answers recorded since it was kept
        return "ResidentConfirmed", base | {"confirmed": event.confirmed, "satisfaction": event.satisfaction,
                                            **_present(answered_issue_id=getattr(event, "issue_id", None))}
    if isinstance(event, Case.Reopened):
        return "CaseReopened", base | {"reason": event.reason, "due": rfc3339(event.deadline["due"])}
    if isinstance(event, Case.Retimed):
        return "CaseRetimed", base | {"deadline": event.deadline, "old_due": rfc3339(event.old_due),
                                      "due": rfc3339(event.due), "reason": event.reason,
                                      "calendar_years": list(event.calendar_years)}
    if isinstance(event, Case.Merged):
        return "CaseMerged", base | {"into_case_id": event.into_case_id, "into_issue_id": event.into_issue_id}
    if isinstance(event, Case.Closed):
        return "CaseClosed", base | {"closed_at": rfc3339(event.at)}
    if isinstance(event, Case.Surveyed):  # the quarterly survey's result reaches the board (满意度测评)
        return "CaseSurveyed", base | {"period": event.period, "satisfied": event.satisfied, "total": event.total,
                                       "surveyed_at": rfc3339(event.at)}
    return None  # Joined, CommandRemembered, Noted: kept inside casework
