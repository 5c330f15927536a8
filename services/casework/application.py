"""Casework use cases: triage every reported issue, run its clocks, take staff and resident commands."""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from services.casework import metrics
from services.casework.calendar import WorkingCalendar
from services.casework.commands import Command, actor_for, parse, parse_survey
from services.casework.domain import RULES_ID, Case, TriageRules, case_id_for
from services.casework.triage import BUILT_IN_RULES, Rule, parse_rule, triage
from shared.application import ServiceApplication
from shared.contracts import IntegrationEvent
from shared.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
RETRIES = 5  # optimistic-concurrency retries when the deadline watcher and a command meet on one case


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class CaseworkApplication(ServiceApplication):
    name = "casework"

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.calendar = WorkingCalendar(on_fallback=lambda year: metrics.CALENDAR_FALLBACK.labels(str(year)).inc())

    # --- upstream ---------------------------------------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        if (event.service, event.name) == ("intake", "IssueReported"):
            if self._find(case_id_for(event.data["issue_id"])) is None:
                data = event.data
                text = " ".join([data["title"], data["description"], *data["tags"]])
                processing.collect_events(Case.open_for(data, triage(data["category"], text, self.rules()),
                                                        self.calendar, opened_at=event.time))
        elif (event.service, event.name) == ("intake", "IssueMerged"):
            case = self._find(case_id_for(event.data["issue_id"]))
            into = self._find(case_id_for(event.data["into_issue_id"]))
            if case is not None and into is not None and case.merge_into(into, event.time):
                processing.collect_events(case, into)
        elif (event.service, event.name) == ("meetings", "MeetingMinuted"):
            for resolution in event.data["resolutions"]:
                case = self._find(UUID(resolution["case_id"])) if resolution.get("case_id") else None
                if case is not None and case.adopt_resolution(
                        event.data["meeting_id"], resolution["resolution_id"], resolution["text"],
                        resolution["owner"], _at(resolution["due"]), _at(event.data["minuted_at"])):
                    processing.collect_events(case)

    # --- staff and resident commands ---------------------------------------------------------
    def command(self, case_id: str, name: str, payload: Any, idempotency_key: str | None = None) -> tuple[Case, bool]:
        """Apply one command to a case. Returns (case, applied); a retried Idempotency-Key applies nothing."""
        cmd = parse(name, payload)
        fingerprint = hashlib.sha256(json.dumps([name, payload], sort_keys=True, default=str).encode()).hexdigest()
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
            raise InvalidInput("Idempotency-Key must be 1 to 200 characters", "Idempotency-Key",
                               "Idempotency-Key 长度须为 1 到 200 个字符")
        for attempt in range(RETRIES):
            case = self.get_case(case_id)
            if idempotency_key and idempotency_key in case.commands:
                if case.commands[idempotency_key] != fingerprint:
                    raise Conflict("this Idempotency-Key was used for a different command", "Idempotency-Key",
                                   "该 Idempotency-Key 已用于另一条不同的指令")
                return case, False
            self._apply(case, name, cmd, self.clock())
            if idempotency_key:
                case.remember_command(idempotency_key, fingerprint)
            try:
                self.save(case)
                return case, True
            except IntegrityError:  # the watcher or another command got there first: decide again
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _apply(self, case: Case, name: str, cmd: Command, now: datetime) -> None:
        f, actor = cmd.fields, cmd.actor
        if name == "verification":
            case.verify(f["note"], actor, now)
        elif name == "plan":
            case.propose_plan(f["plan"], f["due"], actor, now)
        elif name == "assignment":
            case.assign(f["party"], f["party_kind"], f["reason"], actor, now)
        elif name == "escalation":
            case.escalate(f["to"], f["reason"], actor, now)
        elif name == "resolution":
            case.resolve(f["summary"], actor, now)
        elif name == "triage":
            case.retriage(f["tier"], f["reason"], actor, now, self.calendar)
        elif name == "confirmation":
            case.confirm(f["tracking_code"], f["confirmed"], f["satisfaction"], f["comment"], now, self.calendar)

    def record_survey(self, payload: Any) -> list[dict[str, Any]]:
        """Every item is checked before anything is written; each item's case is saved on its own."""
        actor, period, items = parse_survey(payload)
        cases = [(item, self.get_case(item["case_id"], field=f"items[{i}].case_id")) for i, item in enumerate(items)]
        results = []
        for item, case in cases:
            for attempt in range(RETRIES):
                reopened, rate = case.record_survey(period, item["satisfied"], item["total"], actor, self.clock(),
                                              self.calendar)
                try:
                    self.save(case)
                    break
                except IntegrityError:
                    if attempt == RETRIES - 1:
                        raise
                    case = self.get_case(item["case_id"])
            results.append({"case_id": str(case.id), "satisfaction_rate": round(rate, 4),
                            "reopened": reopened, "status": case.status})
        return results

    # --- the deadline watcher ----------------------------------------------------------------
    def watch(self, case_ids: list[str], now: datetime | None = None) -> list[tuple[str, str, str]]:
        """Raise the alerts these cases are owed at `now`; each alert is recorded once, whoever races.

        Every instance may run this at once: the case's version number lets one save win and the
        loser reloads, sees the alert already raised, and records nothing.
        """
        now = now or self.clock()
        raised = []
        for case_id in case_ids:
            for attempt in range(RETRIES):
                case = self._find(UUID(case_id))
                if case is None:
                    break
                alerts = case.check_deadlines(now)
                if not alerts:
                    break
                try:
                    self.save(case)
                except IntegrityError:
                    continue
                for deadline, level in alerts:
                    raised.append((case_id, deadline, level))
                    if level == "red":
                        metrics.DEADLINE_BREACHES.labels(case.tier, deadline).inc()
                break
        return raised

    # --- triage rules ---------------------------------------------------------------------------
    def rules(self) -> tuple[Rule, ...]:
        staff = self._rules_aggregate()
        return BUILT_IN_RULES + (staff.as_rules() if staff else ())

    def add_rule(self, payload: Any) -> Rule:
        actor = actor_for(payload, "rules")
        rule = parse_rule(payload)
        if any(r.rule_id == rule.rule_id for r in BUILT_IN_RULES):
            raise Conflict(f"{rule.rule_id} is a built-in rule", "rule_id", "该编号为内置规则")
        aggregate = self._rules_aggregate() or TriageRules(id=RULES_ID)
        aggregate.add(rule.to_dict(), actor, self.clock())
        self.save(aggregate)
        return rule

    def _rules_aggregate(self) -> TriageRules | None:
        try:
            return self.repository.get(RULES_ID)
        except AggregateNotFoundError:
            return None

    # --- reading ---------------------------------------------------------------------------------
    def get_case(self, case_id: str, field: str = "case_id") -> Case:
        try:
            found = self._find(UUID(case_id))
        except ValueError:
            found = None
        if found is None:
            raise NotFound(f"no case {case_id}", field, "未找到该案件")
        return found

    def history(self, case_id: str) -> list[Any]:
        """Every event of the case, in order: the audit trail."""
        case = self.get_case(case_id)
        return list(self.events.get(case.id))

    def _find(self, case_id: UUID) -> Case | None:
        try:
            return self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
