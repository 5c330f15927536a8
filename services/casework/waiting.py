"""Facts that reached casework before their case: kept until it opens, then applied. Pure.

intake's and meetings' queues are read apart, and a redelivery after an outage, a dead letter retried
later or a consumer that gave up waiting for a predecessor can hand casework an `IssueMerged` or a
meeting's resolution before the `IssueReported` that opens the case. Skipping it would leave the case
different from the one the same facts in another order give, forever (a rebuild replays casework's own
log, which never held the fact). So the fact is recorded here, under the case it is about, and the
case applies it when it opens.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("7a9e2c41-5b3d-4f6a-8e1c-2d4b6f8a0c93")


def waiting_id(case_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"waiting:{case_id}")


class Waiting(Aggregate):
    """The early facts about one case not yet opened: {"kind": "merge" | "resolution", ...}."""

    @event("Started")
    def __init__(self, id: UUID, case_id: str):
        self.case_id = case_id
        self.facts: list[dict[str, Any]] = []

    @classmethod
    def for_case(cls, case_id: UUID) -> "Waiting":
        return cls(id=waiting_id(case_id), case_id=str(case_id))

    @event("FactKept")
    def keep(self, fact: dict[str, Any]) -> None:
        self.facts.append(dict(fact))
