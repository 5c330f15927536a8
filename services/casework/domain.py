"""Casework domain: a case (案件) opened from a resident's issue. Pure rules.

Triage into tiers with clocks comes with the casework issue; until then every case opens as
routine with no due dates, and says so in its triage reason.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("0b7a7d64-3f7e-4b8e-8f6a-7d1f1b1c2a55")
TIERS = ("urgent", "routine", "complex")  # 紧急类 / 常规类 / 复杂类
PENDING_TRIAGE = "pending triage (待分级)"


def case_id_for(issue_id: str) -> UUID:
    """One case per issue, whoever opens it and however often the issue is redelivered."""
    return uuid5(NAMESPACE, f"case:{issue_id}")


class Case(Aggregate):
    """A case in the ledger (问题台账)."""

    @event("Opened")
    def __init__(self, id: UUID, issue_id: str, category: str, title: str, community: str, tier: str,
                 triage_reason: str, due: dict[str, Any], opened_at: datetime):
        self.issue_id = issue_id
        self.category = category
        self.title = title
        self.community = community
        self.tier = tier
        self.triage_reason = triage_reason
        self.due = due
        self.opened_at = opened_at
        self.status = "open"

    @classmethod
    def open_for(cls, issue: dict[str, Any], opened_at: datetime) -> "Case":
        return cls(id=case_id_for(issue["issue_id"]), issue_id=issue["issue_id"], category=issue["category"],
                   title=issue["title"], community=issue["location"]["community"], tier="routine",
                   triage_reason=PENDING_TRIAGE, due={}, opened_at=opened_at)
