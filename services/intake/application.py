"""Intake use cases: report an issue, follow it; its case's progress is a view of casework's events."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.intake.contacts import ReporterIndex
from services.intake.households import HouseholdRegister
from services.intake.visits import DoorToDoor
from services.intake.projections import IssueIndex
from services.intake.reports import DemandList
from services.intake.codes import TrackingCode, tracking_code_id
from services.intake.domain import CityUpdate, Draft, Issue, Report, issue_id_for, new_reporter_ref
from services.intake.requests import Merge, parse_answer, parse_report
from services.intake.duplicates import Candidate, find_duplicate
from services.intake.personal import PersonalData, Shredded, configured_kek, is_sealed
from services.intake.progress import CASE_STEPS, SUPERVISION_STEPS
from services.intake.projections import CaseProgress, CaseSupervision, case_so_far
from services.intake.reports import votes_follow_merge
from shared.store.application import ServiceApplication
from shared.clock import Clock, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.idempotency import checked_key, conflict

RETRIES = 5  # optimistic-concurrency retries when two commands meet on one issue


class IntakeApplication(ServiceApplication):
    name = "intake"
    reacts_to = {"casework": tuple(CASE_STEPS), "liaison": tuple(SUPERVISION_STEPS)}
    views = (CaseProgress(), CaseSupervision())  # casework's and liaison's news about each issue: views
    projections = (IssueIndex(), ReporterIndex(), DemandList(), HouseholdRegister(), DoorToDoor())

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self._personal: PersonalData | None = None

    @property
    def personal(self) -> PersonalData:
        """Residents' personal data: sealed per data subject, shredded on erasure (services/intake/personal.py)."""
        if self._personal is None:
            self._personal = PersonalData(self.read_models, configured_kek(self.settings.var_dir))
        return self._personal

    def contact(self, issue: Issue) -> dict[str, str] | None:
        """The reporter's contact, room and own words in clear; None once erased. Callers log who asked why
        (services/intake/contacts.py); a report recorded before sealing holds them in its `report`."""
        if not is_sealed(issue.personal):
            legacy = issue.report
            return {**legacy.get("reporter", {}), **({"room": legacy["room"]} if legacy.get("room") else {}),
                    "title": legacy["title"], "description": legacy["description"]}
        try:
            return self.personal.open(issue.personal)
        except Shredded:
            return None

    def report_issue(self, payload: Any, idempotency_key: str | None = None,
                     candidates: Callable[[Draft], list[Candidate]] = lambda draft: [],
                     on_behalf: dict[str, Any] | None = None) -> tuple[Issue, bool]:
        """Record a report. Returns (issue, created); a retried Idempotency-Key returns the first issue.

        `candidates(draft)` lists open issues it may repeat; a duplicate is merged into the closest one
        in the same save, so the report and its merge are never apart, and its report says so (`duplicate_of`).
        `on_behalf`: staff report for a household of the register (services/intake/households.py, 代办): its
        contact is sealed under the household's key.
        """
        now = self.clock()
        report = parse_report(payload, now)
        # a retry is answered from the first attempt before anything is drafted: left to fail on its id in the
        # save, it would fail a whole group commit's batch (every save in it written again alone)
        issue_id = issue_id_for(checked_key(idempotency_key))
        if idempotency_key and (existing := self._find(issue_id)) is not None:
            return self._same_report(existing, report), False
        draft = Draft.of(report, now)
        duplicate = find_duplicate(draft.title, draft.category, draft.location, draft.reported_at, candidates(draft))
        for _ in range(3):
            issue, rows = self._drafted(issue_id, report, now, duplicate, on_behalf)
            try:
                self.save(issue, TrackingCode.issue(issue.tracking_code, issue.id), rows=rows)
            except IntegrityError:
                existing = self._find(issue_id)
                if existing is not None:  # a concurrent retry with the same key won the race
                    return self._same_report(existing, report), False
                continue  # a tracking code or a made-up pseudonym drawn twice: draw again
            return issue, True
        raise RuntimeError("no free tracking code or pseudonym in three draws")

    def _drafted(self, issue_id: UUID, report: Report, now: datetime, duplicate: Any,
                 on_behalf: dict[str, Any] | None) -> tuple[Issue, tuple]:
        """The new issue, its personal data sealed; and the rows its save writes: a made-up reporter's new key,
        in the same transaction as the report (one round trip, and never one without the other)."""
        if on_behalf:  # the household's key, made when it was registered
            sealed, rows = self.personal.seal(on_behalf["household_ref"], report.personal, now), ()
        else:
            sealed, row = self.personal.seal_new(new_reporter_ref(), report.personal, now)
            rows = (row,)
        issue = Issue.report_new(issue_id, report, now, sealed.subject, sealed.as_dict(), duplicate, on_behalf)
        return issue, rows

    def get_issue(self, issue_id: str) -> Issue:
        try:
            found = self._find(UUID(issue_id))
        except ValueError:
            raise NotFound(f"no issue {issue_id}", "issue_id", "未找到该诉求") from None
        if found is None:
            raise NotFound(f"no issue {issue_id}", "issue_id", "未找到该诉求")
        return found

    def answer_issue(self, issue_id: str, payload: Any) -> Issue:
        """The resident answers their resolved case (居民确认). Called only for whoever quoted the issue's
        tracking code: the code is checked here and never leaves intake; casework hears `ResidentAnswered`."""
        answer = parse_answer(payload)
        for attempt in range(5):
            issue = self.get_issue(issue_id)
            case = case_so_far(self.read_models, issue.merged_into or str(issue.id))  # the case it follows
            contact = self.contact(issue) if answer.comment else None
            issue.answer(answer, case.status, case.resolutions, self.clock(),
                         {"name": contact["name"]} if contact and contact.get("name") else None)
            try:
                self.save(issue)
                return issue
            except IntegrityError:  # the resident answered twice at once: decide again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def take_city_update(self, issue_id: str, system: str, update: CityUpdate) -> tuple[Issue, bool]:
        """A city system's tracker updates the request it raised or follows (Open311 `servicerequestupdates`).
        Returns (issue, recorded); the same update again records nothing. casework hears `CityUpdateReceived`."""
        for attempt in range(5):
            issue = self.get_issue(issue_id)
            if not issue.take_city_update(system, update, self.clock()):
                return issue, False
            try:
                self.save(issue)
                return issue, True
            except IntegrityError:  # the same update sent twice at once: decide again
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def merge_issue(self, issue_id: str, payload: Any) -> Issue:
        """Staff merge a report into the issue it repeats (the automatic check missed it)."""
        by = payload.get("by") if isinstance(payload, dict) else None  # the staff member, from the token
        into_issue_id = Merge.parse({k: v for k, v in payload.items() if k != "by"} if isinstance(payload, dict)
                                    else payload).into_issue_id
        if not isinstance(by, str) or not 1 <= len(by.strip()) <= 50:
            raise InvalidInput("by (the staff member) must be 1 to 50 characters", "by", "须注明操作人 by")
        for attempt in range(RETRIES):
            issue, into = self._merge_pair(issue_id, into_issue_id)
            issue.merge_into(str(into.id), None, by.strip(), self.clock())
            try:  # the votes follow in the same transaction, so none is left behind on the duplicate
                self.save(issue, *votes_follow_merge(self, issue.id, into.id))
                return issue
            except IntegrityError:  # casework's news about the issue (or a vote) arrived meanwhile: decide again
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _merge_pair(self, issue_id: str, into_issue_id: str) -> tuple[Issue, Issue]:
        issue = self.get_issue(issue_id)
        into = self.get_issue(into_issue_id) if into_issue_id != issue_id else None
        if into is None:
            raise InvalidInput("an issue cannot be merged into itself", "into_issue_id", "不能与自身合并")
        while into.merged_into:  # merge into the issue whose case is worked, not into another duplicate
            into = self.get_issue(into.merged_into)
        if issue.merged_into:
            raise Conflict(f"already merged into {issue.merged_into}", "issue_id", "该诉求已合并")
        if into.id == issue.id:
            raise Conflict("that issue was merged into this one", "into_issue_id", "目标诉求已合并到本诉求")
        return issue, into

    def issue_id_by_tracking_code(self, code: str) -> str | None:
        """The issue a tracking code names, from the event store: the index may not have it yet."""
        try:
            return self.repository.get(tracking_code_id(code)).issue_id
        except AggregateNotFoundError:
            return None

    def _find(self, issue_id: UUID) -> Issue | None:
        try:
            found = self.repository.get(issue_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Issue) else None  # demand votes share the repository

    def _same_report(self, issue: Issue, report: Report) -> Issue:
        """A retry is the same report: its public parts by digest, its personal parts opened and compared."""
        if issue.fingerprint != report.fingerprint() or self.contact(issue) not in (report.personal, None):
            raise conflict("report")
        return issue
