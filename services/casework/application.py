"""Casework use cases: open a case for every reported issue."""
from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent

from services.casework.domain import Case, case_id_for
from shared.application import ServiceApplication
from shared.contracts import IntegrationEvent
from shared.errors import NotFound


class CaseworkApplication(ServiceApplication):
    name = "casework"

    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        if (event.service, event.name) == ("intake", "IssueReported"):
            if self._find(case_id_for(event.data["issue_id"])) is None:
                processing.collect_events(Case.open_for(event.data, opened_at=event.time))

    def get_case(self, case_id: str) -> Case:
        try:
            found = self._find(UUID(case_id))
        except ValueError:
            found = None
        if found is None:
            raise NotFound(f"no case {case_id}", "case_id", "未找到该案件")
        return found

    def _find(self, case_id: UUID) -> Case | None:
        try:
            return self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
