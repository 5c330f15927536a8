"""A quarterly satisfaction survey's round (居民满意度测评) as a whole: what the board publishes besides each
item's own result (测评公开), and how many items fell under 80 % and were reopened for rectification. Pure."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event


def survey_round_id(namespace: UUID, period: str) -> UUID:
    return uuid5(namespace, f"survey:{period}")


class SurveyRound(Aggregate):
    """One period's survey; a period entered in several parts records each part."""

    @event("Started")
    def __init__(self, id: UUID, period: str):
        self.period = period
        self.parts: list[dict[str, Any]] = []

    @event("Recorded")
    def record(self, period: str, items: int, satisfied: int, total: int, below_floor: int, reopened: int,
               actor: dict, at: datetime) -> None:
        self.parts.append({"items": items, "satisfied": satisfied, "total": total, "below_floor": below_floor,
                           "reopened": reopened, "at": at})
