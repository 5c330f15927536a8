"""Casework use cases: triage every reported issue, run its clocks, take staff and resident commands."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError

from services.casework import metrics
from services.casework.calendar import SHANGHAI, WorkingCalendar, calendar_view, parse_notice, parse_year
from services.casework.commands import (CalendarNotice, Command, ResponseTemplate, TriageRule, actor_for, checked,
                                        parse, parse_survey)
from services.casework.handlers import COMMAND_HANDLERS
from services.casework.projections import Ledger
from services.casework.domain import (CALENDAR_ID, NAMESPACE, OPEN_STATUSES, RULES_ID, SATISFACTION_FLOOR, Case,
                                      OfficialCalendar, TriageRules, case_id_for)
from services.casework.surveys import SurveyRound, survey_round_id
from services.casework.templates import (ResponseTemplates, parse_template_id, template_text,
                                         templates_for, templates_id)
from services.casework.triage import BUILT_IN_RULES, Rule, parse_rule, triage
from services.casework.waiting import Waiting, waiting_id
from shared.store.application import ServiceApplication
from shared.clock import Clock, utcnow
from shared.contracts import IntegrationEvent
from shared.contracts.envelope import rfc3339
from shared.errors import Conflict, DomainError, NotFound
from shared.idempotency import checked_key, replayed

log = logging.getLogger(__name__)
RETRIES = 5  # optimistic-concurrency retries when the deadline watcher and a command meet on one case


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class CaseworkApplication(ServiceApplication):
    name = "casework"
    reacts_to = {"intake": ("IssueReported", "IssueMerged", "ResidentAnswered", "CityUpdateReceived"),
                 "meetings": ("MeetingMinuted",)}
    projections = (Ledger(),)  # the ledger never trails a case: staff read what they did at once

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock

    @property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar with every notice entered so far: read at each use, so every process
        counts on the latest entry."""
        entered = self._find(CALENDAR_ID)
        return WorkingCalendar(entered.notices() if entered else {},
                               on_fallback=lambda year: metrics.CALENDAR_FALLBACK.labels(str(year)).inc())

    # --- upstream ---------------------------------------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """Every fact about a case has the same effect whichever queue delivered it first: one that
        arrives before its case is kept (`Waiting`) and applied when the case opens."""
        held: dict[UUID, Any] = {}  # the aggregates this event touches, each loaded once
        if (event.service, event.name) == ("intake", "IssueReported"):
            self._open(event, held)
        elif (event.service, event.name) == ("intake", "IssueMerged"):
            self._merge({"kind": "merge", "issue_id": event.data["issue_id"],
                         "into_issue_id": event.data["into_issue_id"], "at": rfc3339(event.time)}, held)
        elif (event.service, event.name) == ("intake", "ResidentAnswered"):
            self._resident_answered(event.data, processing)
        elif (event.service, event.name) == ("intake", "CityUpdateReceived"):
            self._city_update(event.data, processing)
        elif (event.service, event.name) == ("meetings", "MeetingMinuted"):
            for r in event.data["resolutions"]:
                if r.get("case_id"):
                    self._adopt({"kind": "resolution", "case_id": r["case_id"], "meeting_id": event.data["meeting_id"],
                                 "resolution_id": r["resolution_id"], "text": r["text"], "owner": r["owner"],
                                 "due": r["due"], "minuted_at": event.data["minuted_at"]}, held)
        processing.collect_events(*held.values())

    def reads(self, event: IntegrationEvent) -> list[UUID]:
        """What `policy` reads for the event: its cases and what waits for them, the rules and the calendar."""
        data = event.data
        if event.name == "MeetingMinuted":
            return [UUID(r["case_id"]) for r in data["resolutions"] if r.get("case_id")]
        cases = [case_id_for(data[k]) for k in ("issue_id", "into_issue_id", "duplicate_of") if data.get(k)]
        return [*cases, *map(waiting_id, cases), CALENDAR_ID, *([RULES_ID] if event.name == "IssueReported" else [])]

    def _open(self, event: IntegrationEvent, held: dict[UUID, Any]) -> None:
        data = event.data
        if self._held(case_id_for(data["issue_id"]), held) is not None:
            return
        text = " ".join([data["title"], data["description"], *data["tags"]])
        flags = ("special_group",) if data.get("special_group") else ()  # intake's household register says so
        case = Case.open_for(data, triage(data["category"], text, self.rules(), flags), self.calendar,
                             opened_at=event.time)
        held[case.id] = case
        if case.duplicate_of:  # merged as reported: it joins that case now, never announced on its own
            self._merge({"kind": "merge", "issue_id": case.issue_id, "into_issue_id": case.duplicate_of,
                         "at": rfc3339(event.time)}, held)
        waiting = self._held(waiting_id(case.id), held)
        for fact in waiting.facts if waiting else ():
            (self._merge if fact["kind"] == "merge" else self._adopt)(fact, held, keep=False)

    def _merge(self, fact: dict[str, Any], held: dict[UUID, Any], keep: bool = True) -> None:
        """A repeated report's case joins the original's, whichever of the three facts came last."""
        ids = (case_id_for(fact["issue_id"]), case_id_for(fact["into_issue_id"]))
        case, into = (self._held(i, held) for i in ids)
        if case is not None and into is not None:
            case.merge_into(into, _at(fact["at"]))
        elif keep:
            for missing in (i for i, c in zip(ids, (case, into)) if c is None):
                self._keep(missing, fact, held)

    def _adopt(self, fact: dict[str, Any], held: dict[UUID, Any], keep: bool = True) -> None:
        """A meeting's resolution naming the case sets its plan, owner and due date."""
        case = self._held(UUID(fact["case_id"]), held)
        if case is not None:
            case.adopt_resolution(fact["meeting_id"], fact["resolution_id"], fact["text"], fact["owner"],
                                  _at(fact["due"]), _at(fact["minuted_at"]))
        elif keep:
            self._keep(UUID(fact["case_id"]), fact, held)

    def _keep(self, case_id: UUID, fact: dict[str, Any], held: dict[UUID, Any]) -> None:
        waiting = self._held(waiting_id(case_id), held) or Waiting.for_case(case_id)
        waiting.keep(fact)
        held[waiting.id] = waiting

    def _held(self, aggregate_id: UUID, held: dict[UUID, Any]) -> Any:
        if aggregate_id not in held:
            found = self._find(aggregate_id)
            if found is None:
                return None
            held[aggregate_id] = found
        return held[aggregate_id]

    def _resident_answered(self, data: dict[str, Any], processing: ProcessingEvent) -> None:
        """The resident answered through intake, which checked their tracking code (居民确认).

        A merged duplicate's resident answers the case their report joined. An answer that no longer
        fits (the case was reopened by a survey meanwhile) is logged and dropped, never retried.
        """
        case = self._find(case_id_for(data["issue_id"]))
        if case is not None and case.merged_into:
            case = self._find(UUID(case.merged_into))
        if case is None:
            log.warning("answer for issue %s: no case", data["issue_id"])
            return
        try:
            case.confirm(data["issue_id"], data["confirmed"], data["satisfaction"], data.get("comment"),
                         _at(data["answered_at"]), self.calendar)
        except DomainError as exc:
            log.warning("answer for issue %s not applied to case %s: %s", data["issue_id"], case.id, exc)
            return
        processing.collect_events(case)

    def _city_update(self, data: dict[str, Any], processing: ProcessingEvent) -> None:
        """A city system's tracker (12345, the grid platform) says where its department stands: `closed` resolves
        the case — the resident still confirms it — and `open`, or news of a case no longer open, is a reply on
        the resident's timeline."""
        case = self._find(case_id_for(data["issue_id"]))
        if case is not None and case.merged_into:
            case = self._find(UUID(case.merged_into))
        if case is None:
            log.warning("city update %s for issue %s: no case", data["update_id"], data["issue_id"])
            return
        actor = {"role": "city_system", "name": data["system"]}
        text = f"{data['system']}:{data['description']}"
        at = _at(data["updated_at"])
        if data["status"] == "closed" and case.status in OPEN_STATUSES:
            case.resolve(text, actor, at)
        else:
            case.reply(text, actor, at)
        processing.collect_events(case)

    # --- staff commands ----------------------------------------------------------------------
    def command(self, case_id: str, name: str, payload: Any, idempotency_key: str | None = None) -> tuple[Case, bool]:
        """Apply one command to a case. Returns (case, applied); a retried Idempotency-Key applies nothing."""
        cmd = parse(name, payload)
        fingerprint = hashlib.sha256(json.dumps([name, payload], sort_keys=True, default=str).encode()).hexdigest()
        checked_key(idempotency_key)
        for attempt in range(RETRIES):
            case = self.get_case(case_id)
            if idempotency_key and replayed(case.commands.get(idempotency_key), fingerprint):
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
        COMMAND_HANDLERS[type(cmd.body)](self, case, cmd.body, cmd.actor, now)

    def summary(self, template_id: str | None, typed: str | None) -> str:
        """A resolution's text: the template's (常用答复), followed by what the staff member typed, if anything."""
        if template_id is None:
            return typed
        chosen = template_text(self._templates(), template_id)
        return f"{chosen}{typed}" if typed else chosen

    # --- response templates (常用答复) ----------------------------------------------------------------
    def _templates(self) -> ResponseTemplates | None:
        return self._find(templates_id(NAMESPACE))

    def list_templates(self, category: str | None = None) -> list[dict[str, Any]]:
        return [{"template_id": tid, **t} for tid, t in sorted(templates_for(self._templates()).items())
                if category is None or t["category"] == category]

    def save_template(self, template_id: str, payload: Any) -> dict[str, Any]:
        actor, template = checked(payload, "templates", ResponseTemplate)
        tid = parse_template_id(template_id)
        saved = self._templates() or ResponseTemplates(id=templates_id(NAMESPACE))
        saved.save_template(tid, template.category, template.kind, template.text, actor, self.clock())
        self._save_templates(saved)
        return {"template_id": tid, **templates_for(saved)[tid]}

    def retire_template(self, template_id: str, payload: Any) -> None:
        actor = actor_for(payload, "templates")
        saved = self._templates() or ResponseTemplates(id=templates_id(NAMESPACE))
        if template_id not in templates_for(saved):
            raise NotFound(f"no response template {template_id}", "template_id", "未找到该答复模板")
        saved.retire(template_id, actor, self.clock())
        self._save_templates(saved)

    def _save_templates(self, saved: ResponseTemplates) -> None:
        try:
            self.save(saved)
        except IntegrityError:
            raise Conflict("the templates were changed at the same moment; save again", "template_id",
                           "答复模板正被同时修改,请重新保存") from None

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
        self._record_round(period, items, results, actor)
        return results

    def _record_round(self, period: str, items: list[dict[str, Any]], results: list[dict[str, Any]],
                      actor: dict) -> None:
        """The round as a whole, for the board (测评公开): counts over this submission's items."""
        round_id = survey_round_id(NAMESPACE, period)
        for attempt in range(RETRIES):
            survey = self._find(round_id) or SurveyRound(id=round_id, period=period)
            survey.record(period, len(items), sum(i["satisfied"] for i in items), sum(i["total"] for i in items),
                          sum(1 for r in results if r["satisfaction_rate"] < SATISFACTION_FLOOR), sum(r["reopened"] for r in results),
                          actor, self.clock())
            try:
                self.save(survey)
                return
            except IntegrityError:
                if attempt == RETRIES - 1:
                    raise

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
                missed = case.check_acknowledge(now)  # the party's own clock (签收), counted against it
                if not alerts and not missed:
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

    # --- the working-day calendar (节假日安排) ------------------------------------------------------
    def set_calendar_year(self, year: Any, payload: Any) -> dict[str, Any]:
        """Staff enter the State Council's notice for a year; an unchanged entry records nothing.
        Open cases are re-timed by `retime` (the caller, and every worker's calendar watch)."""
        actor, entry = checked(payload, "calendar", CalendarNotice)
        notice = parse_notice(parse_year(year), entry.model_dump())
        document = entry.document
        entered = self._find(CALENDAR_ID) or OfficialCalendar(id=CALENDAR_ID)
        recorded = entered.set_year(notice, document, actor, self.clock())
        if recorded:
            try:
                self.save(entered)
            except IntegrityError:
                raise Conflict("the calendar was changed at the same moment; enter the notice again", "year",
                               "日历正被同时修改,请重新录入") from None
        return {"recorded": recorded, **self.calendar_view(notice.year)}

    def calendar_view(self, year: int | None = None) -> dict[str, Any]:
        entered = self._find(CALENDAR_ID)
        this_year = self.clock().astimezone(SHANGHAI).year
        return calendar_view(self.calendar, entered.years if entered else {}, this_year, year)

    def calendar_version(self) -> int:
        entered = self._find(CALENDAR_ID)
        return entered.version if entered else 0

    def retime(self, case_ids: list[str]) -> list[tuple[str, str]]:
        """Count these cases' open working-day deadlines again on the calendar as entered now: (case, deadline)
        moved. Every instance may run it at once: a losing save reloads and finds nothing left to move."""
        calendar, now = self.calendar, self.clock()
        moved = []
        for case_id in case_ids:
            for attempt in range(RETRIES):
                case = self._find(UUID(case_id))
                names = case.retime(calendar, now) if case is not None else []
                if not names:
                    break
                try:
                    self.save(case)
                except IntegrityError:
                    continue
                moved += [(case_id, name) for name in names]
                break
        return moved

    # --- triage rules ---------------------------------------------------------------------------
    def rules(self) -> tuple[Rule, ...]:
        staff = self._rules_aggregate()
        return BUILT_IN_RULES + (staff.as_rules() if staff else ())

    def add_rule(self, payload: Any) -> Rule:
        actor, entry = checked(payload, "rules", TriageRule)
        rule = parse_rule(entry.model_dump())
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
