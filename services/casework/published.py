"""What casework tells the world: private Case events mapped onto integration contracts."""
from __future__ import annotations

from typing import Any

from services.casework.domain import Case
from shared.contracts.envelope import rfc3339
from shared.relay import Published


def publish(event: Any) -> Published | None:
    if isinstance(event, Case.Opened):
        return Published("CaseOpened", str(event.originator_id), event.timestamp, {
            "case_id": str(event.originator_id),
            "issue_id": event.issue_id,
            "tier": event.tier,
            "category": event.category,
            "due": {k: rfc3339(v) for k, v in event.due.items()},
            "opened_at": rfc3339(event.opened_at),
            "triage_reason": event.triage_reason,
        })
    return None
