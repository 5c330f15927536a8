"""What liaison tells the world: private events mapped onto integration contracts.

Never published: a representative's name and contact, a unit's responsible person, who booked or came to a
reception day (counts only), Idempotency-Keys. Free text is masked (shared/masking.py).
"""
from __future__ import annotations

from typing import Any

from services.liaison.domain import Match, Project, Reception, Representative, Resource, Station, Supervision, Unit
from shared.contracts.envelope import rfc3339
from shared.masking import mask_text
from shared.messaging.relay import Published


def _station(e: Any, s: str) -> Published:
    return Published("StationOpened", s, e.timestamp, {"station_id": s, "name": e.name, "community": e.community,
                                                       "place": e.place, "opened_at": rfc3339(e.opened_at)})


def _representative(e: Any, s: str) -> Published:
    return Published("RepresentativeRegistered", s, e.timestamp, {
        "representative_id": s, "station_id": e.station_id, "community": e.community, "expertise": e.expertise,
        "registered_at": rfc3339(e.registered_at)})


def _duty(e: Any, s: str) -> Published:
    return Published("DutyRecorded", s, e.timestamp, {"representative_id": s, "duty": e.duty,
                                                      "done_at": rfc3339(e.done_at)})


def _scheduled(e: Any, s: str) -> Published:
    return Published("ReceptionScheduled", s, e.timestamp, {
        "reception_id": s, "station_id": e.station_id, "community": e.community, "title": e.title,
        "place": e.place, "starts_at": rfc3339(e.starts_at), "representative_ids": e.representative_ids})


def _announced(e: Any, s: str) -> Published:
    return Published("ReceptionAnnounced", s, e.timestamp, {
        "reception_id": s, "topics": [mask_text(t) for t in e.topics], "announced_at": rfc3339(e.announced_at),
        "community": e.community, "title": e.title, "place": e.place, "starts_at": rfc3339(e.starts_at)})


def _concern(e: Any, s: str) -> Published:
    return Published("ConcernRaised", s, e.timestamp, {
        "reception_id": s, "concern_id": e.concern_id, "issue_id": e.issue_id, "raised_at": rfc3339(e.at)})


def _held(e: Any, s: str) -> Published:
    return Published("ReceptionHeld", s, e.timestamp, {"reception_id": s, "visitors": e.visitors,
                                                       "held_at": rfc3339(e.held_at)})


def _taken(e: Any, s: str) -> Published:
    return Published("CaseSupervisionTaken", e.case_id, e.timestamp, {
        "case_id": e.case_id, "issue_id": e.issue_id, "representative_id": e.representative_id,
        "reason": mask_text(e.reason), "taken_at": rfc3339(e.taken_at)})


def _signed_off(e: Any, s: str) -> Published:
    return Published("CaseSupervisionSignedOff", e.case_id, e.timestamp, {
        "case_id": e.case_id, "issue_id": e.issue_id, "representative_id": e.representative_id,
        "note": mask_text(e.note), "solved": e.solved, "signed_off_at": rfc3339(e.signed_off_at)})


def _unit(e: Any, s: str) -> Published:
    return Published("UnitRegistered", s, e.timestamp, {"unit_id": s, "party": e.party, "kind": e.kind,
                                                        "registered_at": rfc3339(e.registered_at)})


def _light(e: Any, s: str) -> Published:
    return Published("UnitLightAssessed", s, e.timestamp, {"unit_id": s, "month": e.month, "light": e.light,
                                                           "figures": e.figures,
                                                           "assessed_at": rfc3339(e.assessed_at)})


def _supervised(e: Any, s: str) -> Published:
    return Published("UnitSupervised", s, e.timestamp, {"unit_id": s, "party": e.party, "month": e.month,
                                                        "notice": mask_text(e.notice),
                                                        "supervised_at": rfc3339(e.supervised_at)})


def _offered(e: Any, s: str) -> Published:
    return Published("ResourceOffered", s, e.timestamp, {
        "resource_id": s, "offered_by": e.offered_by, "offerer_id": e.offerer_id, "category": e.category,
        "title": mask_text(e.title), "area": e.area, "capacity": e.capacity, "offered_at": rfc3339(e.offered_at)})


def _withdrawn(e: Any, s: str) -> Published:
    return Published("ResourceWithdrawn", s, e.timestamp, {"resource_id": s, "withdrawn_at": rfc3339(e.at)})


def _proposed(e: Any, s: str) -> Published:
    return Published("MatchProposed", s, e.timestamp, {"match_id": s, "case_id": e.case_id,
                                                       "resource_id": e.resource_id,
                                                       "proposed_at": rfc3339(e.proposed_at)})


def _decided(e: Any, s: str) -> Published:
    return Published("MatchDecided", s, e.timestamp, {"match_id": s, "case_id": e.case_id,
                                                      "resource_id": e.resource_id, "decision": e.decision,
                                                      "decided_at": rfc3339(e.decided_at)})


def _started(e: Any, s: str) -> Published:
    return Published("ProjectStarted", s, e.timestamp, {"project_id": s, "title": mask_text(e.title),
                                                        "case_ids": e.case_ids, "match_ids": e.match_ids,
                                                        "owner": e.owner, "due": rfc3339(e.due),
                                                        "started_at": rfc3339(e.started_at)})


def _project_warned(e: Any, s: str) -> Published:
    return Published("ProjectWarned", s, e.timestamp, {"project_id": s, "level": e.level, "due": rfc3339(e.due),
                                                       "warned_at": rfc3339(e.warned_at)})


def _completed(e: Any, s: str) -> Published:
    return Published("ProjectCompleted", s, e.timestamp, {"project_id": s, "late": e.late,
                                                          "completed_at": rfc3339(e.completed_at)})


MAP = {Station.Opened: _station, Representative.Registered: _representative, Representative.DutyRecorded: _duty,
       Reception.Scheduled: _scheduled, Reception.Announced: _announced, Reception.ConcernRaised: _concern,
       Reception.Held: _held, Supervision.Taken: _taken, Supervision.SignedOff: _signed_off, Unit.Registered: _unit, Unit.LightAssessed: _light,
       Unit.Supervised: _supervised, Resource.Offered: _offered, Resource.Withdrawn: _withdrawn,
       Match.Proposed: _proposed, Match.Decided: _decided, Project.Started: _started, Project.Warned: _project_warned,
       Project.Completed: _completed}


def publish(event: Any) -> Published | None:
    """Map one stored aggregate event to its integration event; None keeps it private."""
    mapper = MAP.get(type(event))
    return mapper(event, str(event.originator_id)) if mapper else None
