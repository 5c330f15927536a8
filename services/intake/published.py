"""What intake tells the world: private Issue events mapped onto integration contracts.

The tracking code is never mapped: it proves the resident, so it stays in intake (replays included).
"""
from __future__ import annotations

from typing import Any

from services.intake.demand import DemandVotes
from services.intake import erasure
from services.intake.domain import Issue, public_text
from services.intake.recurring import published as recurring_published
from shared.contracts.envelope import rfc3339
from shared.messaging.relay import Published


def publish(event: Any) -> Published | None:
    """Map one stored aggregate event to its integration event; None keeps it private."""
    if isinstance(event, Issue.Reported):
        report = event.report
        return Published("IssueReported", str(event.originator_id), event.timestamp, {
            "issue_id": str(event.originator_id),
            "channel": report["channel"],
            "category": event.category,
            "tags": list(event.tags),
            "title": public_text(report["title"], report),
            "description": public_text(report["description"], report),
            "location": dict(report["location"]),  # community/building/unit only: no room, no reporter
            "reporter_ref": event.reporter_ref,
            "reported_at": rfc3339(event.reported_at),
            # merged as it came in: casework opens its case already merged, so nothing is announced twice
            **({"duplicate_of": event.duplicate_of} if getattr(event, "duplicate_of", None) else {}),
            **(getattr(event, "on_behalf", None) or {}),  # 代办: household_ref, special_group, reported_by
        })
    if isinstance(event, Issue.Answered):  # the resident proved by their code here: casework hears only the answer
        return Published("ResidentAnswered", str(event.originator_id), event.timestamp, {
            "issue_id": str(event.originator_id), "confirmed": event.confirmed, "satisfaction": event.satisfaction,
            "comment": event.comment, "answered_at": rfc3339(event.at)})
    if isinstance(event, Issue.CityUpdated):  # a city system's tracker: the case moves or is told of it
        return Published("CityUpdateReceived", str(event.originator_id), event.timestamp, {
            "issue_id": str(event.originator_id), "system": event.system, "update_id": event.update_id,
            "status": event.status, "description": event.description, "updated_at": rfc3339(event.updated_at)})
    if isinstance(event, Issue.Merged):
        return Published("IssueMerged", str(event.originator_id), event.timestamp,
                         {"issue_id": str(event.originator_id), "into_issue_id": event.into_issue_id})
    recurring = recurring_published(event)
    if recurring:  # a place where an issue keeps coming back: a topic proposed to the council
        return Published(recurring[0], recurring[1]["place_id"], event.timestamp, recurring[1])
    return publish_demand(event) or erasure.published(event)


def publish_demand(event: Any) -> Published | None:
    """A demand vote is published as the issue's new total; who voted stays in intake."""
    if isinstance(event, (DemandVotes.Voted, DemandVotes.Absorbed)):  # Absorbed: a merged duplicate's votes
        return Published("NeedVoted", event.issue_id, event.timestamp, {"issue_id": event.issue_id,
                                                                        "votes": event.votes})
    return None
