"""Recurring issues (反复出现的问题): N similar issues at one place within 30 days are no longer one-off
repairs but a matter for the council (民事民议), so intake proposes a council topic (`RecurringIssueFound`).

"Similar" is the same category at the same building of the same community; merged duplicates do not count
(they are one issue). A place is proposed at most once per window, whoever runs the detector at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from services.intake.projections import JOINED, STATUS
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database

THRESHOLD = 3  # similar issues at one place …
WINDOW = timedelta(days=30)  # … within this many days
NAMESPACE = UUID("5c0f7e1a-8d2b-4f6e-9a3c-1b7d2e4f6a80")


def place_id(community: str, building: str, category: str) -> UUID:
    return uuid5(NAMESPACE, f"{community}\x00{building}\x00{category}")


def topic_title(community: str, building: str, category: str, count: int) -> str:
    return f"{community}{building}号楼近30日{count}次反映“{category}”问题,建议提交议事会协商"


class RecurringIssue(Aggregate):
    """One place and category; each proposal names the issues that made it recur."""

    @event("Found")
    def __init__(self, id: UUID, community: str, building: str, category: str, issue_ids: list[str],
                 since: datetime, at: datetime):
        self.community, self.building, self.category = community, building, category
        self.proposals: list[dict[str, Any]] = [{"issue_ids": list(issue_ids), "since": since, "at": at}]

    def due_again(self, now: datetime) -> bool:
        return now - self.proposals[-1]["at"] >= WINDOW

    def propose_again(self, issue_ids: list[str], since: datetime, at: datetime) -> None:
        self._found_again(self.community, self.building, self.category, issue_ids, since, at)

    @event("FoundAgain")
    def _found_again(self, community: str, building: str, category: str, issue_ids: list[str], since: datetime,
                     at: datetime) -> None:
        """The place is in the event itself, so its contract needs nothing else."""
        self.proposals.append({"issue_ids": list(issue_ids), "since": since, "at": at})


def recurring_places(db: Database, now: datetime) -> list[tuple[str, str, str, list[str]]]:
    """(community, building, category, issue ids) of every place with THRESHOLD or more issues in the window."""
    rows = db.query(f"SELECT i.community, i.building, i.category, i.issue_id FROM {JOINED} "
                    f"WHERE i.reported_at >= ? AND i.building IS NOT NULL AND {STATUS} <> 'merged' "
                    "ORDER BY i.community, i.building, i.category, i.reported_at", (rfc3339(now - WINDOW),))
    places: dict[tuple[str, str, str], list[str]] = {}
    for community, building, category, issue_id in rows:
        places.setdefault((community, building, category), []).append(issue_id)
    return [(*place, ids) for place, ids in places.items() if len(ids) >= THRESHOLD]


def detect(app: Any, db: Database) -> list[UUID]:
    """Propose each recurring place not proposed within the window (the intake worker's ticker)."""
    now, proposed = app.clock(), []
    for community, building, category, ids in recurring_places(db, now):
        pid = place_id(community, building, category)
        try:
            found = app.repository.get(pid)
        except AggregateNotFoundError:
            found = None
        if found is None:
            found = RecurringIssue(id=pid, community=community, building=building, category=category,
                                   issue_ids=ids, since=now - WINDOW, at=now)
        elif found.due_again(now):
            found.propose_again(ids, now - WINDOW, now)
        else:
            continue
        try:
            app.save(found)
        except IntegrityError:  # another instance proposed it first
            continue
        proposed.append(pid)
    return proposed


def published(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The contract data of a proposal: a place and counts, never who reported."""
    if not isinstance(event, (RecurringIssue.Found, RecurringIssue.FoundAgain)):
        return None
    count = len(event.issue_ids)
    return "RecurringIssueFound", {
        "place_id": str(event.originator_id), "community": event.community, "building": event.building,
        "category": event.category, "issue_ids": list(event.issue_ids), "issues": count,
        "since": rfc3339(event.since), "found_at": rfc3339(event.at),
        "topic_title": topic_title(event.community, event.building, event.category, count)}
