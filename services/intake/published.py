"""What intake tells the world: private Issue events mapped onto integration contracts."""
from __future__ import annotations

from typing import Any

from services.intake.domain import Issue
from shared.contracts.envelope import rfc3339
from shared.masking import mask_text
from shared.relay import Published


def publish(event: Any) -> Published | None:
    """Map one stored aggregate event to its integration event; None keeps it private."""
    if isinstance(event, Issue.Reported):
        report = event.report
        return Published("IssueReported", str(event.originator_id), event.timestamp, {
            "issue_id": str(event.originator_id),
            "tracking_code": event.tracking_code,
            "channel": report["channel"],
            "category": event.category,
            "tags": list(event.tags),
            "title": mask_text(report["title"]),
            "description": mask_text(report["description"]),
            "location": dict(report["location"]),  # community/building/unit only: no room, no reporter
            "reporter_ref": event.reporter_ref,
            "reported_at": rfc3339(event.reported_at),
        })
    return None
