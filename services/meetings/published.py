"""What meetings tells the world: private Meeting/ResultsRelease events mapped onto integration contracts.

Statements, participants and individual votes stay private; a secret ballot is published only as counts.
"""
from __future__ import annotations

from typing import Any

from services.meetings.domain import Meeting, ResultsRelease, TopicProposal
from shared.contracts.envelope import rfc3339
from shared.masking import mask_text
from shared.messaging.relay import Published


def _topic(t: dict[str, Any]) -> dict[str, Any]:
    return {"topic_id": t["topic_id"], "case_id": t.get("case_id"),
            "title": mask_text(t["title"]) if t.get("title") else None,
            "background": mask_text(t["background"]), "draft_plan": mask_text(t["draft_plan"])}


def _known(**fields: Any) -> dict[str, Any]:
    """Optional fields, left out when an event stored before they were carried has none."""
    return {k: v for k, v in fields.items() if v is not None}


def publish(event: Any) -> Published | None:
    """Map one stored aggregate event to its integration event; None keeps it private."""
    subject = str(event.originator_id)
    if isinstance(event, Meeting.Scheduled):
        return Published("MeetingScheduled", subject, event.timestamp, {
            "meeting_id": subject, "kind": event.kind, "title": event.title, "meeting_at": rfc3339(event.meeting_at),
            "place": event.place})
    if isinstance(event, Meeting.AgendaPublished):
        # the agenda is cumulative: the event carries every topic published so far
        return Published("AgendaPublished", subject, event.timestamp, {
            "meeting_id": subject, "topics": [_topic(t) for t in event.agenda],
            "published_at": rfc3339(event.published_at), "meeting_at": rfc3339(event.meeting_at),
            **_known(kind=getattr(event, "kind", None), place=getattr(event, "place", None))})
    if isinstance(event, Meeting.Cancelled):
        return Published("MeetingCancelled", subject, event.timestamp, {
            "meeting_id": subject, "kind": event.kind, "meeting_at": rfc3339(event.meeting_at),
            "reason": mask_text(event.reason), "cancelled_at": rfc3339(event.cancelled_at)})
    if isinstance(event, Meeting.Rescheduled):
        return Published("MeetingRescheduled", subject, event.timestamp, {
            "meeting_id": subject, "kind": event.kind, "meeting_at": rfc3339(event.meeting_at),
            "previous_meeting_at": rfc3339(event.previous_meeting_at), "place": event.place,
            "reason": mask_text(event.reason) if event.reason else None})
    if isinstance(event, Meeting.VoteTallied):
        return Published("VoteRecorded", subject, event.timestamp, {
            "meeting_id": subject, "motion_id": event.motion_id, "mode": event.mode, "for": event.yes,
            "against": event.no, "abstain": event.abstain, "carried": event.carried, "topic_id": event.topic_id,
            **_known(text=mask_text(event.text) if getattr(event, "text", None) else None)})
    if isinstance(event, Meeting.Minuted):
        return Published("MeetingMinuted", subject, event.timestamp, {
            "meeting_id": subject, "minuted_at": rfc3339(event.minuted_at),
            "resolutions": [{"resolution_id": r["resolution_id"], "case_id": r.get("case_id"),
                             "text": mask_text(r["text"]), "owner": r["owner"], "due": rfc3339(r["due"])}
                            for r in event.resolutions],
            "disagreements": [mask_text(d) for d in event.disagreements], "late": event.late,
            **_known(kind=getattr(event, "kind", None))})
    if isinstance(event, TopicProposal.Proposed) and getattr(event, "source", "escalation") != "escalation":
        # residents' co-signed topic or a recurring issue before the council: the board says so (escalated cases
        # are announced by casework's CaseEscalated)
        return Published("TopicProposed", subject, event.timestamp, {
            "proposal_id": subject, "source": event.source, "title": mask_text(event.title or ""),
            "reason": mask_text(event.reason), "proposed_at": rfc3339(event.proposed_at),
            **_known(category=event.category)})
    if isinstance(event, ResultsRelease.Released):
        return Published("ResultsReleased", subject, event.timestamp, {
            "month": event.month, "released_at": rfc3339(event.released_at),
            "resolved": len(event.report.get("resolved", [])), "unresolved": len(event.report.get("unresolved", []))})
    return None
