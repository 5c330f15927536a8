"""Tracking codes (查询码) to issues, kept in intake's own event store: read your writes.

The issue index is a projection that lags the log under load; a resident handed a code in a 201
must find their issue at once. The code's entry is saved with the issue, in the same transaction,
and read by its id. Issues reported before it existed are found in the index, which holds them all.
"""
from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("5e0d7b1c-8a4f-4c2e-b6d3-9f1a2c3e4d57")


def tracking_code_id(code: str) -> UUID:
    return uuid5(NAMESPACE, f"tracking-code:{code.strip().upper()}")


class TrackingCode(Aggregate):
    """Which issue a tracking code names; never published (the code proves the resident)."""

    @event("Issued")
    def __init__(self, id: UUID, issue_id: str):
        self.issue_id = issue_id

    @classmethod
    def issue(cls, code: str, issue_id: UUID) -> "TrackingCode":
        return cls(id=tracking_code_id(code), issue_id=str(issue_id))
