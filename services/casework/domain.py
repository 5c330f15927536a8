"""Casework domain: a case (案件) in the ledger (问题台账), from triage to the resident's confirmation. Pure rules.

The work plan's promise is "事事有回应、件件能落实": every case runs against the clocks of its tier,
is watched for yellow and red alerts, and closes only when the resident who raised it confirms.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.audit import Audited

from services.casework.calendar import SHANGHAI, WorkingCalendar, YearNotice, notice_from_data, notice_to_data
from services.casework.dispatch import acknowledge_by, new_dispatch
from services.casework.clocks import (CLOCKS, RECTIFY, RESOLUTION_WARN_BEFORE, deadline, deadlines_for, recount,
                                      rectification_deadline, with_counts)
from services.casework.triage import TIERS, Rule, Triage, party_for
from shared.errors import Conflict, DomainError, InvalidInput

NAMESPACE = UUID("0b7a7d64-3f7e-4b8e-8f6a-7d1f1b1c2a55")
RULES_ID = uuid5(NAMESPACE, "triage-rules")
CALENDAR_ID = uuid5(NAMESPACE, "working-calendar")
ALERT_LEVELS = (None, "yellow", "red")
SATISFIED_SCORE = 4  # of 5: 满意 or 非常满意
SATISFACTION_FLOOR = 0.8  # 满意度低于 80% 的事项重新整改
ESCALATION_TARGETS = ("secretary", "task_force", "council", "assembly")
OPEN_STATUSES = ("open", "reopened")
PARTY_ROLES = ("property", "sanitation", "department", "task_force")  # the roles of responsible parties' staff
COUNCIL_TEAMS = ("emergency_team", "council_member")  # who answers for a case sent to the council's own teams

Actor = dict[str, str]  # {"role": ..., "name": ...}
SYSTEM: Actor = {"role": "system", "name": "yishi"}


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    title_zh = "无权操作"


def case_id_for(issue_id: str) -> UUID:
    """One case per issue, whoever opens it and however often the issue is redelivered."""
    return uuid5(NAMESPACE, f"case:{issue_id}")


class Case(Audited):
    """A case; `deadlines` maps verify|plan|resolve to {due, warn_at, met_at, alert, workdays?}."""

    # `proof` (a digest of the tracking code) is in Opened and Joined events recorded before residents
    # answered through intake; it is read and ignored so that those logs still replay.
    @event("Opened")
    def __init__(self, id: UUID, issue_id: str, category: str, title: str, community: str, building: str | None,
                 tier: str, triage_reason: str, rule_ids: list[str], deadlines: dict[str, dict[str, Any]],
                 reported_at: datetime, opened_at: datetime, proof: str | None = None,
                 reporter_ref: str | None = None, duplicate_of: str | None = None,
                 dispatch: dict[str, Any] | None = None):
        """`dispatch`: the first sending to a party (派单: party, party_kind, reason, acknowledge_by), in this
        event since cases are opened and dispatched in one step: one event and one message fewer per report, and a
        delivery fewer to each of intake, liaison and notifications. Older logs open without it, an `Assigned` next."""
        self.issue_id = issue_id
        self.duplicate_of = duplicate_of  # merged as reported: opened only to join that issue's case
        self.reporter_ref = reporter_ref  # the resident's pseudonym: notifications tells them without asking intake
        self.category = category
        self.title = title
        self.community = community
        self.building = building
        self.tier = tier
        self.triage_reason = triage_reason
        # state is mutated later; the event must stay as recorded
        self.deadlines = with_counts(copy.deepcopy(deadlines), CLOCKS[tier], reported_at)
        self.reported_at = reported_at
        self.opened_at = opened_at
        self.status = "open"
        self.party: str | None = None
        self.party_kind: str | None = None
        self.plan: str | None = None
        self.escalations: list[str] = []
        self.resolutions: list[str] = []
        self.responses: list[tuple[int, int]] = []  # (satisfied, total) per confirmation or survey
        self.round_from = 0  # responses before the last reopening judged the work that was redone
        self.verified_at: datetime | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.commands: dict[str, str] = {}  # Idempotency-Key -> fingerprint of the command it carried
        self.co_reporters: list[str] = []  # issue ids of repeated reports merged in: their residents answer too
        self.merged_into: str | None = None
        self.dispatches: list[dict[str, Any]] = []  # each sending to a party (派单), its 签收 and 退单
        self.extensions: list[dict[str, Any]] = []  # the parties' requests for more time (延期申请)
        self.agreed_due: datetime | None = None  # the date an approved extension lets the party promise
        self.notes: list[dict[str, Any]] = []  # internal notes, each shown to the roles it names
        if dispatch is not None:
            self.party, self.party_kind = dispatch["party"], dispatch["party_kind"]
            self.dispatches.append(new_dispatch(dispatch["party"], dispatch["party_kind"], opened_at,
                                                dispatch["acknowledge_by"], "assignment"))

    @classmethod
    def open_for(cls, issue: dict[str, Any], triaged: Triage, calendar: WorkingCalendar,
                 opened_at: datetime) -> "Case":
        """The clocks start when the resident reported, not when casework heard of it. A report intake merged
        as it came in (`duplicate_of`) is opened only to join that case: nobody is assigned or escalated to."""
        reported_at = datetime.fromisoformat(issue["reported_at"].replace("Z", "+00:00"))
        duplicate_of = issue.get("duplicate_of")
        party, kind = party_for(triaged.tier, issue["category"])
        dispatch = None if duplicate_of else {
            "party": party, "party_kind": kind, "reason": "按问题分类自动指派",
            "acknowledge_by": acknowledge_by(triaged.tier, opened_at, calendar)}
        case = cls(id=case_id_for(issue["issue_id"]), issue_id=issue["issue_id"], category=issue["category"],
                   title=issue["title"], community=issue["location"]["community"],
                   building=issue["location"].get("building"), tier=triaged.tier, triage_reason=triaged.reason,
                   rule_ids=list(triaged.rule_ids), deadlines=deadlines_for(triaged.tier, reported_at, calendar),
                   reported_at=reported_at, opened_at=opened_at, reporter_ref=issue.get("reporter_ref"),
                   duplicate_of=duplicate_of, dispatch=dispatch)
        if case.duplicate_of:
            return case
        if triaged.tier == "complex":
            case._to_task_force(SYSTEM, opened_at, calendar)
        return case

    def _to_task_force(self, actor: Actor, at: datetime, calendar: WorkingCalendar) -> None:
        """一事一专班: a complex case's task force owes a feasible plan for the assembly (居民代表大会) to vote on."""
        if self.party_kind != "task_force":
            party, kind = party_for("complex", self.category)
            self.dispatch(party, kind, "复杂类问题由专班牵头办理", actor, at, calendar)
        if "task_force" not in self.escalations:
            self.escalate("task_force", "复杂类问题成立一事一专班", actor, at)
        if "assembly" not in self.escalations:
            plan_due = self.deadlines["plan"]["due"].astimezone(SHANGHAI).date()  # the resident's calendar day
            self.escalate("assembly", f"专班于{plan_due.year}年{plan_due.month}月{plan_due.day}日前形成可行性方案,"
                                      "提交居民代表大会审议", actor, at)

    # --- staff commands -----------------------------------------------------------------------
    def retriage(self, tier: str, reason: str, actor: Actor, at: datetime, calendar: WorkingCalendar) -> None:
        self._require_not_closed()
        if tier == self.tier:
            raise Conflict(f"the case is already {tier}", "tier", "案件已是该分级")
        self._retriaged(tier=tier, reason=reason, actor=actor, at=at,
                        deadlines=deadlines_for(tier, self.reported_at, calendar))
        if tier == "complex":
            self._to_task_force(actor, at, calendar)

    @event("Retriaged")
    def _retriaged(self, tier: str, reason: str, actor: Actor, at: datetime,
                   deadlines: dict[str, dict[str, Any]]) -> None:
        met = {name: d["met_at"] for name, d in self.deadlines.items() if d["met_at"]}
        self.tier = tier
        self.triage_reason = reason
        self.deadlines = {name: dict(d, met_at=met.get(name))
                          for name, d in with_counts(copy.deepcopy(deadlines), CLOCKS[tier], self.reported_at).items()}

    def dispatch(self, party: str, party_kind: str, reason: str, actor: Actor, at: datetime,
                 calendar: WorkingCalendar) -> None:
        """Send the case to a party (派单): its 签收 clock starts now; the resident's deadlines do not move."""
        self.assign(party, party_kind, reason, actor, at, acknowledge_by(self.tier, at, calendar))

    @event("Assigned")
    def assign(self, party: str, party_kind: str, reason: str, actor: Actor, at: datetime,
               acknowledge_by: datetime | None = None) -> None:
        """`acknowledge_by`: absent from assignments recorded before parties acknowledged (no clock for them)."""
        current = self._dispatch()
        if current is not None and current["return_state"] in ("pending", "disputed"):
            current["return_state"] = "accepted"  # staff took the return by sending the case elsewhere
        self.party = party
        self.party_kind = party_kind
        self.dispatches.append(new_dispatch(party, party_kind, at, acknowledge_by, "assignment"))

    # --- the responsible party (签收、退单、延期申请) ---------------------------------------------------
    def acknowledge(self, actor: Actor, at: datetime) -> None:
        current = self._current_dispatch(actor)
        if current["acknowledged_at"] is not None:
            raise Conflict("the case was already acknowledged", "case_id", "该案件已签收")
        due = current["acknowledge_by"]
        self._acknowledged(party=current["party"], on_time=None if due is None else at <= due, actor=actor, at=at)

    @event("Acknowledged")
    def _acknowledged(self, party: str, on_time: bool | None, actor: Actor, at: datetime) -> None:
        self.dispatches[-1]["acknowledged_at"] = at

    def return_to_staff(self, reason: str, actor: Actor, at: datetime) -> None:
        """退单: the party says the case is not its own; staff send it elsewhere or the secretary rules."""
        current = self._current_dispatch(actor)
        self._returned(party=current["party"], reason=reason, actor=actor, at=at)

    @event("Returned")
    def _returned(self, party: str, reason: str, actor: Actor, at: datetime) -> None:
        self.dispatches[-1].update(returned_at=at, return_reason=reason, return_state="pending")

    def dispute_return(self, reason: str, actor: Actor, at: datetime) -> None:
        """Staff think the return is wrong: the secretary is asked to rule (退单争议)."""
        current = self._returned_dispatch(("pending",))
        self._return_disputed(party=current["party"], reason=reason, actor=actor, at=at)

    @event("ReturnDisputed")
    def _return_disputed(self, party: str, reason: str, actor: Actor, at: datetime) -> None:
        self.dispatches[-1]["return_state"] = "disputed"

    def rule_return(self, upheld: bool, reason: str, actor: Actor, at: datetime, calendar: WorkingCalendar) -> None:
        """The secretary rules on a return: upheld, staff send the case elsewhere; overruled, it goes back to
        the party that returned it, whose 签收 clock starts again."""
        current = self._returned_dispatch(("pending", "disputed"))
        due = None if upheld else acknowledge_by(self.tier, at, calendar)
        self._return_ruled(party=current["party"], upheld=upheld, reason=reason, acknowledge_by=due, actor=actor, at=at)

    @event("ReturnRuled")
    def _return_ruled(self, party: str, upheld: bool, reason: str, acknowledge_by: datetime | None, actor: Actor,
                      at: datetime) -> None:
        current = self.dispatches[-1]
        current["return_state"] = "upheld" if upheld else "overruled"
        if not upheld:
            self.dispatches.append(new_dispatch(current["party"], current["party_kind"], at, acknowledge_by, "ruling"))

    def request_extension(self, due: datetime, reason: str, actor: Actor, at: datetime) -> None:
        current = self._current_dispatch(actor)
        if any(e["decision"] is None for e in self.extensions):
            raise Conflict("an extension request is already waiting for the secretary", "due", "已有延期申请待审批")
        owed = [d["due"] for d in self.deadlines.values() if d["met_at"] is None]
        if owed and due <= min(owed):
            raise InvalidInput("due must be later than the case's current deadline", "due", "申请的办结时限须晚于当前时限")
        if due <= at:
            raise InvalidInput("due must be in the future", "due", "申请的办结时限须晚于现在")
        self._extension_requested(party=current["party"], requested_due=due, reason=reason, actor=actor, at=at)

    @event("ExtensionRequested")
    def _extension_requested(self, party: str, requested_due: datetime, reason: str, actor: Actor,
                             at: datetime) -> None:
        self.extensions.append({"party": party, "requested_due": requested_due, "reason": reason, "requested_at": at,
                                "decision": None, "decided_at": None, "decision_reason": None})

    def decide_extension(self, approved: bool, reason: str, actor: Actor, at: datetime) -> None:
        """The secretary approves or refuses. Approved, the party may promise the new date; the resident's own
        deadlines and alerts are unchanged, and a case resolved after them is still late."""
        self._require_open()
        pending = next((e for e in self.extensions if e["decision"] is None), None)
        if pending is None:
            raise Conflict("no extension request is waiting", "approved", "没有待审批的延期申请")
        self._extension_decided(party=pending["party"], approved=approved, requested_due=pending["requested_due"],
                                reason=reason, actor=actor, at=at)

    @event("ExtensionDecided")
    def _extension_decided(self, party: str, approved: bool, requested_due: datetime, reason: str, actor: Actor,
                           at: datetime) -> None:
        pending = next(e for e in self.extensions if e["decision"] is None)
        pending.update(decision="approved" if approved else "refused", decided_at=at, decision_reason=reason)
        if approved:
            self.agreed_due = requested_due

    def reply(self, text: str, actor: Actor, at: datetime) -> None:
        """A message to the resident (回复居民), shown on their timeline: "填完表就没了下文" is what it prevents.
        Signed by the organisation when the party writes, by the community otherwise; never by a person's name."""
        self._replied(text=text, party=self.party if actor["role"] in PARTY_ROLES else None, actor=actor, at=at)

    @event("Replied")
    def _replied(self, text: str, party: str | None, actor: Actor, at: datetime) -> None:
        pass

    # --- internal notes (内部备注) -----------------------------------------------------------------
    @event("Noted")
    def add_note(self, note_id: str, text: str, visible_to: list[str], actor: Actor, at: datetime) -> None:
        """Never published: shown only to the roles it names (the author's always among them)."""
        self.notes.append({"note_id": note_id, "text": text, "visible_to": list(visible_to), "by": dict(actor),
                           "at": at})

    def notes_for(self, role: str) -> list[dict[str, Any]]:
        return [n for n in self.notes if role in n["visible_to"]]

    def verify(self, note: str | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        if self.verified_at is not None:
            raise Conflict("the site was already verified", "case_id", "已完成现场核实")
        self._verified(note=note, actor=actor, at=at)

    @event("Verified")
    def _verified(self, note: str | None, actor: Actor, at: datetime) -> None:
        self.verified_at = at
        self._meet("verify", at)

    def propose_plan(self, plan: str, due: datetime | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        self._plan_proposed(plan=plan, due=due, actor=actor, at=at)

    @event("PlanProposed")
    def _plan_proposed(self, plan: str, due: datetime | None, actor: Actor, at: datetime) -> None:
        self.plan = plan
        self._meet("plan", at)
        if due is not None and self.tier != "routine":  # a routine case keeps its 7-working-day clock
            self.deadlines["resolve"] = deadline(due, RESOLUTION_WARN_BEFORE, at)

    def escalate(self, to: str, reason: str, actor: Actor, at: datetime) -> None:
        self._require_not_closed()
        if to not in ESCALATION_TARGETS:
            raise InvalidInput(f"to must be one of {', '.join(ESCALATION_TARGETS)}", "to",
                               f"to 必须是 {'、'.join(ESCALATION_TARGETS)} 之一")
        self._escalated(to=to, reason=reason, tier=self.tier, actor=actor, at=at)

    @event("Escalated")
    def _escalated(self, to: str, reason: str, tier: str, actor: Actor, at: datetime) -> None:
        self.escalations.append(to)

    def resolve(self, summary: str, actor: Actor, at: datetime) -> None:
        self._require_open()
        self._resolved(summary=summary, actor=actor, at=at)

    @event("Resolved")
    def _resolved(self, summary: str, actor: Actor, at: datetime) -> None:
        self.status = "resolved"
        self.resolved_at = at
        for name in self.deadlines:  # nothing left to be late for
            self._meet(name, at)

    # --- the resident ---------------------------------------------------------------------------
    def confirm(self, issue_id: str, confirmed: bool, satisfaction: int | None, comment: str | None,
                at: datetime, calendar: WorkingCalendar) -> None:
        """A resident answers the resolved (or closed) case: intake checked their tracking code and says whose
        issue answered (`ResidentAnswered`); the code itself never reaches casework.

        The resident who raised the case's own issue closes it, or reopens it by saying it is not solved.
        The residents of reports merged into it (co-reporters) are heard like a survey: their answers count
        toward satisfaction, and the case reopens when it falls under 80 %; they neither close it nor
        take the original reporter's answer away.
        """
        if issue_id not in (self.issue_id, *self.co_reporters):
            raise Forbidden(f"issue {issue_id} is not this case's", "issue_id", "该诉求不属于本案件,不能确认")
        if self.status not in ("resolved", "closed"):
            raise Conflict(f"only a resolved case can be confirmed; this one is {self.status}", "case_id",
                           "案件尚未办结,暂不能确认")
        original = issue_id == self.issue_id
        self._confirmed(confirmed=confirmed, satisfaction=satisfaction, comment=comment, at=at, issue_id=issue_id)
        if original and not confirmed:
            self.reopen("居民确认问题尚未解决", at, calendar)
        elif self.satisfaction_rate() < SATISFACTION_FLOOR:
            self.reopen(self._low_satisfaction_reason(), at, calendar)
        elif original and self.status == "resolved":
            self._closed(at=at)

    @event("Confirmed")
    def _confirmed(self, confirmed: bool, satisfaction: int | None, comment: str | None, at: datetime,
                   issue_id: str | None = None) -> None:
        """`issue_id`: whose issue answered (absent from answers recorded before co-reporters were told apart).
        A co-reporter's "not solved" is an unsatisfied response whatever the rating: counting is all it does
        (the original reporter's reopens the case, and counts only when rated, as it always did)."""
        co_reporter_unsolved = not confirmed and issue_id is not None and issue_id != self.issue_id
        if co_reporter_unsolved:
            self.responses.append((0, 1))
        elif satisfaction is not None:
            self.responses.append((int(satisfaction >= SATISFIED_SCORE), 1))

    def record_survey(self, period: str, satisfied: int, total: int, actor: Actor, at: datetime,
                      calendar: WorkingCalendar) -> tuple[bool, float]:
        """A quarterly survey's result for this item: (reopened, the satisfaction rate that decided it)."""
        self._surveyed(period=period, satisfied=satisfied, total=total, actor=actor, at=at)
        rate = self.satisfaction_rate()
        if self.status in ("resolved", "closed") and rate < SATISFACTION_FLOOR:
            self.reopen(self._low_satisfaction_reason(), at, calendar)
            return True, rate
        return False, rate

    @event("Surveyed")
    def _surveyed(self, period: str, satisfied: int, total: int, actor: Actor, at: datetime) -> None:
        self.responses.append((satisfied, total))

    def satisfaction_rate(self) -> float:
        """Satisfied responses over all responses since the last reopening, confirmations and surveys
        together (1.0 when none): rectified work is judged afresh, not weighed down by what it put right."""
        current = self.responses[self.round_from:]
        total = sum(t for _, t in current)
        return sum(s for s, _ in current) / total if total else 1.0

    def _low_satisfaction_reason(self) -> str:
        return f"满意度{self.satisfaction_rate():.0%},低于80%,重新整改"

    def reopen(self, reason: str, at: datetime, calendar: WorkingCalendar) -> None:
        self._reopened(reason=reason, at=at, deadline=rectification_deadline(self.tier, at, calendar))

    @event("Reopened")
    def _reopened(self, reason: str, at: datetime, deadline: dict[str, Any]) -> None:
        self.round_from = len(self.responses)
        self.status = "reopened"
        self.resolved_at = None
        self.closed_at = None
        reopened = with_counts({"resolve": copy.deepcopy(deadline)}, (RECTIFY[self.tier],), at)
        self.deadlines["resolve"] = reopened["resolve"]

    @event("Closed")
    def _closed(self, at: datetime) -> None:
        self.status = "closed"
        self.closed_at = at

    # --- repeated reports (重复诉求合并) -----------------------------------------------------------
    def merge_into(self, into: "Case", at: datetime) -> bool:
        """This case's issue repeats `into`'s: it stops here, and its reporter follows (and may confirm) `into`."""
        if self.status != "open" or self.id == into.id or into.status == "merged":
            return False
        self._merged(into_case_id=str(into.id), into_issue_id=into.issue_id, at=at)
        into._joined(issue_id=self.issue_id, at=at)
        return True

    @event("Merged")
    def _merged(self, into_case_id: str, into_issue_id: str, at: datetime) -> None:
        self.status = "merged"
        self.merged_into = into_case_id
        for name in self.deadlines:  # the clocks run on the case it joined
            self._meet(name, at)

    @event("Joined")
    def _joined(self, issue_id: str, at: datetime, proof: str | None = None) -> None:
        self.co_reporters.append(issue_id)

    # --- the council's decisions ---------------------------------------------------------------
    def adopt_resolution(self, meeting_id: str, resolution_id: str, text: str, owner: str, due: datetime,
                         at: datetime) -> bool:
        """A meeting's resolution naming this case sets its plan, owner and due date (once per resolution)."""
        if resolution_id in self.resolutions or self.status == "closed":
            return False
        self._resolution_adopted(meeting_id=meeting_id, resolution_id=resolution_id, text=text, owner=owner,
                                 due=due, at=at)
        return True

    @event("ResolutionAdopted")
    def _resolution_adopted(self, meeting_id: str, resolution_id: str, text: str, owner: str, due: datetime,
                            at: datetime) -> None:
        self.resolutions.append(resolution_id)
        self.plan = text
        self.party = owner
        self.party_kind = "task_force" if self.tier == "complex" else "council"
        self._meet("plan", at)
        self.deadlines["resolve"] = deadline(due, RESOLUTION_WARN_BEFORE, at)

    # --- the clock ------------------------------------------------------------------------------
    def check_deadlines(self, now: datetime) -> list[tuple[str, str]]:
        """Raise each alert a deadline is owed, once: red when overdue, else yellow once past `warn_at`.

        A yellow warning whose window was missed (the watcher was down) is skipped: red says more.
        An overdue routine case is escalated to the community secretary (红色预警,由社区书记牵头协调).
        """
        raised = []
        if self.status not in OPEN_STATUSES:
            return raised
        for name, d in sorted(self.deadlines.items(), key=lambda item: item[1]["due"]):
            if d["met_at"] is not None or d["alert"] == "red":
                continue
            level = "red" if now >= d["due"] else "yellow" if now >= d["warn_at"] and d["alert"] is None else None
            if level is None:
                continue
            self._warned(deadline=name, level=level, due=d["due"], tier=self.tier, party=self.party, at=now)
            raised.append((name, level))
            if level == "red" and self.tier == "routine" and name == "resolve":
                self.escalate("secretary", "常规类问题逾期未办结,启动红色预警,由社区书记牵头协调", SYSTEM, now)
        return raised

    def check_acknowledge(self, now: datetime) -> bool:
        """Record, once, that the party let its 签收 clock run out; True when it did now."""
        if self.status not in OPEN_STATUSES or not self.acknowledge_owed(now):
            return False
        current = self.dispatches[-1]
        self._acknowledge_missed(party=current["party"], acknowledge_by=current["acknowledge_by"], at=now)
        return True

    def acknowledge_owed(self, now: datetime) -> bool:
        """The current dispatch's 签收 clock ran out, nobody acknowledged or returned it, and it is not yet recorded."""
        current = self._dispatch()
        return (current is not None and current["party"] == self.party  # not taken over by a meeting's resolution
                and current["acknowledge_by"] is not None and now >= current["acknowledge_by"]
                and current["acknowledged_at"] is None and current["returned_at"] is None
                and not current.get("missed_at"))

    @event("AcknowledgeMissed")
    def _acknowledge_missed(self, party: str, acknowledge_by: datetime, at: datetime) -> None:
        """Counted against the party (its light), once per dispatch; the resident's clock is unaffected."""
        self.dispatches[-1]["missed_at"] = at

    def retime(self, calendar: WorkingCalendar, at: datetime) -> list[str]:
        """Count each open working-day deadline again on `calendar` (a year's notice was entered): the
        deadlines whose due time moved, each recorded as `Retimed`. Met deadlines keep the due they were met by."""
        if self.status not in OPEN_STATUSES:
            return []
        moved = []
        for name, d in sorted(self.deadlines.items()):
            if d["met_at"] is not None or "workdays" not in d:
                continue
            due, warn_at = recount(d, calendar)
            if due != d["due"]:
                years = calendar.entered_between(d["workdays"]["from"], max(due, d["due"]))
                self._retimed(deadline=name, old_due=d["due"], due=due, warn_at=warn_at, calendar_years=years,
                              reason=_retimed_reason(years), at=at)
                moved.append(name)
        return moved

    @event("Retimed")
    def _retimed(self, deadline: str, old_due: datetime, due: datetime, warn_at: datetime, calendar_years: list[int],
                 reason: str, at: datetime) -> None:
        d = self.deadlines[deadline]
        owed = "red" if at >= due else "yellow" if at >= warn_at else None  # an alert raised stays only if still owed
        alert = min(d["alert"], owed, key=ALERT_LEVELS.index)
        d.update(due=due, warn_at=warn_at, alert=alert)

    @event("DeadlineWarned")
    def _warned(self, deadline: str, level: str, due: datetime, tier: str, party: str | None, at: datetime) -> None:
        self.deadlines[deadline]["alert"] = level

    @event("CommandRemembered")
    def remember_command(self, key: str, fingerprint: str) -> None:
        """Saved with the command's own events, so a retried key can never apply twice."""
        self.commands[key] = fingerprint

    # --- helpers ------------------------------------------------------------------------------------
    def alert_level(self) -> str | None:
        levels = {d["alert"] for d in self.deadlines.values() if d["met_at"] is None}
        return "red" if "red" in levels else "yellow" if "yellow" in levels else None

    def _meet(self, name: str, at: datetime) -> None:
        if name in self.deadlines and self.deadlines[name]["met_at"] is None:
            self.deadlines[name]["met_at"] = at

    def _require_open(self) -> None:
        if self.status not in OPEN_STATUSES:
            raise Conflict(f"the case is {self.status}", "case_id", f"案件当前状态为 {self.status},不能执行该操作")

    def _dispatch(self) -> dict[str, Any] | None:
        return self.dispatches[-1] if self.dispatches else None

    def _current_dispatch(self, actor: Actor) -> dict[str, Any]:
        """The dispatch the party acts on: the case is open and with it, not returned. The council's own teams
        act only on cases sent to the council (社区应急小组, 议事会调解小组), not on a company's or department's."""
        self._require_open()
        if actor["role"] in COUNCIL_TEAMS and self.party_kind != "council":
            raise Forbidden(f"the case is with {self.party_kind}, not the council's teams", "case_id",
                            "该案件未派给议事会或社区应急小组")
        current = self._dispatch()
        if current is None:
            raise Conflict("the case is not assigned to a party", "case_id", "案件尚未派单")
        if current["returned_at"] is not None:
            raise Conflict("the case was returned; it waits to be sent again", "case_id", "案件已退单,待重新派单")
        return current

    def _returned_dispatch(self, states: tuple[str, ...]) -> dict[str, Any]:
        self._require_open()
        current = self._dispatch()
        if current is None or current["return_state"] not in states:
            raise Conflict("the case has no return waiting for this", "case_id", "该案件没有待处理的退单")
        return current

    def _require_not_closed(self) -> None:
        if self.status == "closed":
            raise Conflict("the case is closed", "case_id", "案件已结案")


def _retimed_reason(years: list[int]) -> str:
    if not years:
        return "工作日历已更新,按新日历重新计算时限"
    return f"已录入{'、'.join(str(y) for y in years)}年节假日安排(国务院通知),按新日历重新计算时限"


class TriageRules(Aggregate):
    """The staff's own additions to the built-in triage rules (one per community system)."""

    @event("Started")
    def __init__(self, id: UUID):
        self.rules: dict[str, dict[str, Any]] = {}

    @event("RuleAdded")
    def add(self, rule: dict[str, Any], actor: Actor, at: datetime) -> None:
        self.rules[rule["rule_id"]] = rule

    @event("RuleRetired")
    def retire(self, rule_id: str, actor: Actor, at: datetime) -> None:
        self.rules.pop(rule_id, None)

    def as_rules(self) -> tuple[Rule, ...]:
        return tuple(Rule(r["rule_id"], r["tier"], tuple(r["keywords"]), tuple(r["categories"]), r.get("note", ""))
                     for r in self.rules.values())


class OfficialCalendar(Audited):
    """The State Council's holiday notices (国务院办公厅关于部分节假日安排的通知) as staff entered them.

    A year entered again replaces its earlier entry (a corrected notice); both stay in the log, so every
    deadline can be explained by the calendar it was counted on.
    """

    @event("Started")
    def __init__(self, id: UUID):
        self.years: dict[int, dict[str, Any]] = {}

    def set_year(self, notice: YearNotice, document: str | None, actor: Actor, at: datetime) -> bool:
        """Record the year's notice; False (nothing recorded) when it is already entered as given."""
        entered = self.years.get(notice.year)
        data = notice_to_data(notice)
        if entered and {k: entered[k] for k in data} == data and entered["document"] == document:
            return False
        self._year_set(**data, document=document, actor=actor, at=at)
        return True

    @event("YearSet")
    def _year_set(self, year: int, holidays: list[str], workdays: list[str], document: str | None, actor: Actor,
                  at: datetime) -> None:
        self.years[year] = {"year": year, "holidays": list(holidays), "workdays": list(workdays),
                            "document": document, "entered_by": dict(actor), "entered_at": at}

    def notices(self) -> dict[int, YearNotice]:
        return {year: notice_from_data(entry) for year, entry in self.years.items()}


__all__ = ["Case", "TriageRules", "TIERS", "case_id_for", "Forbidden", "RULES_ID"]
