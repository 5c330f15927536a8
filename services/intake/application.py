"""Intake use cases: report an issue, follow it, learn of its case's progress from casework."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from services.intake.domain import Issue, issue_id_for, parse_report
from shared.application import ServiceApplication
from shared.contracts import IntegrationEvent
from shared.errors import Conflict, InvalidInput, NotFound

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IntakeApplication(ServiceApplication):
    name = "intake"

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock

    def report_issue(self, payload: Any, idempotency_key: str | None = None) -> tuple[Issue, bool]:
        """Record a report. Returns (issue, created); a retried Idempotency-Key returns the first issue."""
        now = self.clock()
        report = parse_report(payload, now)
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise InvalidInput("Idempotency-Key must be 1 to 200 characters", "Idempotency-Key",
                               "Idempotency-Key 长度须为 1 到 200 个字符")
        issue_id = issue_id_for(idempotency_key)
        if idempotency_key:
            existing = self._find(issue_id)
            if existing is not None:
                return self._same_report(existing, report.fingerprint()), False
        issue = Issue.report_new(issue_id, report, now)
        try:
            self.save(issue)
        except IntegrityError:  # a concurrent retry with the same key won the race
            return self._same_report(self.repository.get(issue_id), report.fingerprint()), False
        return issue, True

    def get_issue(self, issue_id: str) -> Issue:
        try:
            found = self._find(UUID(issue_id))
        except ValueError:
            raise NotFound(f"no issue {issue_id}", "issue_id", "未找到该诉求") from None
        if found is None:
            raise NotFound(f"no issue {issue_id}", "issue_id", "未找到该诉求")
        return found

    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        if (event.service, event.name) != ("casework", "CaseOpened"):
            return
        issue = self._find(UUID(event.data["issue_id"]))
        if issue is None:
            return
        detail = {"tier": event.data["tier"], "due": event.data["due"]}
        issue.record_case_progress(event.data["case_id"], "open", event.time, detail)
        processing.collect_events(issue)

    def _find(self, issue_id: UUID) -> Issue | None:
        try:
            return self.repository.get(issue_id)
        except AggregateNotFoundError:
            return None

    @staticmethod
    def _same_report(issue: Issue, fingerprint: str) -> Issue:
        if issue.fingerprint != fingerprint:
            raise Conflict("this Idempotency-Key was used for a different report", "Idempotency-Key",
                           "该 Idempotency-Key 已用于另一条不同的诉求")
        return issue
