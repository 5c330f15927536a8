"""Meetings use cases: the five-step procedure, topics escalated by casework, the monthly results release."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from services.meetings.projections import CaseSteps, MeetingIndex, ProposalIndex, SuggestionIndex
from services.meetings.trace import CaseTrace
from services.meetings import commands
from services.meetings.domain import (
    Meeting, ResultsRelease, TopicProposal, kinds_for_escalation, meeting_id_for, proposal_id_for, release_id_for,
)
from services.meetings.participation import (Consultation, TopicSuggestion, consultation_id_for, opinion_digest,
                                             resident_digest, suggestion_id_for)
from services.meetings.projections import CASE_FACTS, CaseDigest
from shared.deadlines import local_month, month_bounds
from services.meetings.rules import OPENING, RESULTS_DAY, SHANGHAI, RuleBroken, Window
from shared.store.application import ServiceApplication
from shared.clock import Clock, utcnow
from shared.contracts import IntegrationEvent
from shared.errors import NotFound
from shared.masking import mask_text

A = TypeVar("A", bound=Aggregate)
# many residents co-sign one suggestion, or give opinions on one meeting, at once: each lost save means another's
# was saved, so N at once need at most N attempts
CONTENDED_ATTEMPTS = 50

class MeetingsApplication(ServiceApplication):
    name = "meetings"
    reacts_to = {"casework": tuple(CASE_FACTS), "intake": ("RecurringIssueFound",)}
    views = (CaseDigest(),)  # casework's facts, kept as a view, not as meetings' own events
    projections = (MeetingIndex(), ProposalIndex(), CaseSteps(), SuggestionIndex(), CaseTrace())

    def __init__(self, *args: Any, clock: Clock = utcnow, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.opening = opening_window(self.env)

    # meetings ---------------------------------------------------------------------------------
    def schedule(self, payload: Any, key: str | None = None) -> tuple[Meeting, bool]:
        """Schedule a meeting. Returns (meeting, created); a retried Idempotency-Key returns the first."""
        now = self.clock()
        fields = commands.schedule(payload, now)
        digest = commands.digest(payload)
        meeting_id = meeting_id_for(key)
        existing = self._find(meeting_id) if key else None
        if existing is not None:
            existing.earlier(key, digest)
            return existing, False
        meeting = Meeting(id=meeting_id, scheduled_at=now, key=key, digest=digest, **fields)
        try:
            self.save(meeting)
        except IntegrityError:  # a concurrent retry with the same key won
            existing = self.get_meeting(str(meeting_id))
            existing.earlier(key, digest)
            return existing, False
        return meeting, True

    def get_meeting(self, meeting_id: str) -> Meeting:
        found = self._find(_uuid(meeting_id, "meeting_id"))
        if not isinstance(found, Meeting):
            raise NotFound(f"no meeting {meeting_id}", "meeting_id", "未找到该会议")
        return found

    def publish_agenda(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        """Publish topics (会前3日公示); a topic with `proposal_id` confirms a topic casework escalated."""
        items = commands.topics(payload)

        def act(meeting: Meeting, digest: str) -> tuple[Any, list[Aggregate]]:
            now = self.clock()
            proposals: list[tuple[int, TopicProposal]] = []
            for i, topic in enumerate(items):
                if topic["proposal_id"]:
                    proposal = self._find(UUID(topic["proposal_id"]))
                    if not isinstance(proposal, TopicProposal):
                        raise NotFound(f"no proposal {topic['proposal_id']}", f"topics[{i}].proposal_id",
                                       "未找到该提议议题")
                    proposal.check_confirmable(meeting, f"topics[{i}].proposal_id")
                    topic.update(case_id=topic["case_id"] or proposal.case_id,
                                 title=topic["title"] or proposal.title,
                                 background=topic["background"] or proposal.reason)
                    proposals.append((i, proposal))
            topic_ids = meeting.publish_agenda(items, now, key, digest)
            for i, proposal in proposals:
                proposal.confirm(meeting_id=str(meeting.id), topic_id=topic_ids[i], confirmed_at=now)
            return topic_ids, [p for _, p in proposals]

        return self._command(meeting_id, key, payload, act)

    def confirm_proposal(self, proposal_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        """Put a topic escalated by casework on a meeting's agenda: {meeting_id, draft_plan, background?}."""
        meeting_id = commands.Proposal.parse(payload).meeting_id
        _uuid(proposal_id, "proposal_id")
        topic = {k: v for k, v in payload.items() if k != "meeting_id"} | {"proposal_id": proposal_id}
        return self.publish_agenda(meeting_id, {"topics": [topic]}, key)

    def invite(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        people = commands.participants(payload)
        return self._command(meeting_id, key, payload, lambda m, d: (m.invite(people, key, d), []))

    def open_meeting(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        roll = commands.opening(payload)
        return self._command(meeting_id, key, payload,
                             lambda m, d: (m.open(roll["present"], roll["chair"], roll["recorder"], self.clock(),
                                                  self.opening, key, d), []))

    def cancel_meeting(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        """Cancel a meeting not yet opened: {reason}. Topics casework proposed wait for another meeting."""
        reason = commands.cancellation(payload)

        def act(m: Meeting, d: str) -> tuple[Any, list[Aggregate]]:
            now = self.clock()
            proposals = [p for p in (self._find(UUID(pid)) for pid in m.cancel(reason, now, key, d))
                         if isinstance(p, TopicProposal) and p.meeting_id == str(m.id)]
            for p in proposals:
                p.release(now)
            return "cancelled", proposals

        return self._command(meeting_id, key, payload, act)

    def reschedule_meeting(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        """Move a meeting not yet opened: {meeting_at, place?, reason?}; its agenda is announced again."""
        x = commands.reschedule(payload, self.clock())
        return self._command(meeting_id, key, payload, lambda m, d: (
            m.reschedule(x["meeting_at"], x["place"], x["reason"], self.clock(), key, d), []))

    def record_statement(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        s = commands.statement(payload)

        def act(m: Meeting, d: str) -> tuple[Any, list]:
            return m.record_statement(s["participant_id"], s["topic_id"], s["seconds"], s["summary"], self.clock(),
                                      key, d)["statement_id"], []

        return self._command(meeting_id, key, payload, act)

    def record_disagreement(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.disagreement(payload)
        return self._command(meeting_id, key, payload, lambda m, d: (
            m.record_disagreement(x["topic_id"], x["point"], x["positions"], self.clock(), key, d), []))

    def table_motion(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[dict[str, Any], bool]:
        """Table a motion. A secret ballot's codes come back once, in this result only."""
        x = commands.motion(payload)
        codes: list[str] = []

        def act(m: Meeting, d: str) -> tuple[Any, list]:
            motion_id, issued = m.table_motion(x["text"], x["topic_id"], x["mode"], x["major"], x["majority"],
                                               self.clock(), key, d)
            codes[:] = issued
            return motion_id, []

        motion_id, created = self._command(meeting_id, key, payload, act)
        return {"motion_id": motion_id, "ballots": codes}, created

    def reissue_ballots(self, meeting_id: str, motion_id: str) -> list[str]:
        codes: list[str] = []

        def act(m: Meeting, d: str) -> tuple[Any, list]:
            codes[:] = m.reissue_ballots(motion_id)
            return motion_id, []

        self._command(meeting_id, None, None, act)
        return codes

    def cast_vote(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[dict[str, Any], bool]:
        """A named vote or a secret ballot. The ballot's request is never remembered under any key."""
        v = commands.vote(payload)
        created = [True]

        def act(m: Meeting, d: str) -> tuple[Any, list]:
            if v["ballot"] is not None:
                m.cast_secret_ballot(v["motion_id"], v["ballot"], v["choice"])
            else:
                created[0] = m.cast_open_vote(v["motion_id"], v["participant_id"], v["choice"])
            return v["motion_id"], []

        self._command(meeting_id, None, None, act)  # votes are idempotent by voter or ballot, not by key
        motion = self.get_meeting(meeting_id).motion(v["motion_id"])
        return {"motion_id": v["motion_id"], "status": motion["status"], "result": motion["result"]}, created[0]

    def tally(self, meeting_id: str, motion_id: str) -> dict[str, Any]:
        self._command(meeting_id, None, None, lambda m, d: (m.tally(motion_id), []))
        return self.get_meeting(meeting_id).motion(motion_id)["result"]

    def close_meeting(self, meeting_id: str, payload: Any = None, key: str | None = None) -> tuple[Any, bool]:
        commands.closing(payload)
        return self._command(meeting_id, key, payload or {}, lambda m, d: (m.close(self.clock(), key, d), []))

    def record_minutes(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[Any, bool]:
        x = commands.minutes(payload)
        return self._command(meeting_id, key, payload, lambda m, d: (
            m.record_minutes(x["resolutions"], x["summary"], self.clock(), key, d), []))

    def get_proposal(self, proposal_id: str) -> TopicProposal:
        found = self._find(_uuid(proposal_id, "proposal_id"))
        if not isinstance(found, TopicProposal):
            raise NotFound(f"no proposal {proposal_id}", "proposal_id", "未找到该提议议题")
        return found

    # monthly results release (每月25日议事成果发布) --------------------------------------------
    def get_release(self, month: str) -> ResultsRelease | None:
        found = self._find(release_id_for(month))
        return found if isinstance(found, ResultsRelease) else None

    def carried_from(self, month: str) -> datetime | None:
        """When last month's results were released, if before this month began: what was settled after
        it (the 25th to the month's end) is released with this month's results, not left out of both."""
        start, _ = month_bounds(month)
        earlier = self.get_release(local_month(start - timedelta(days=1)))
        if earlier is None:
            return None
        as_of = datetime.fromisoformat(earlier.report["as_of"].replace("Z", "+00:00"))
        return as_of if as_of < start else None

    def release_results(self, month: str, report: dict[str, Any], by: str) -> ResultsRelease:
        """Release a month's results once, from its 25th (Asia/Shanghai); a second release is refused."""
        commands.month(month)
        now = self.clock()
        local = now.astimezone(SHANGHAI)
        if month > local_month(now) or (month == local_month(now) and local.day < RESULTS_DAY):
            raise RuleBroken("results_release", f"the results of {month} are released from its {RESULTS_DAY}th",
                             "month", f"{month} 的议事成果自当月{RESULTS_DAY}日起发布")
        earlier = self.get_release(month)
        if earlier is None:
            release = ResultsRelease(id=release_id_for(month), month=month, released_at=now, released_by=by,
                                     report=report)
            try:
                self.save(release)
                return release
            except IntegrityError:  # another instance released it a moment ago
                earlier = self.get_release(month)
        assert earlier is not None
        raise RuleBroken("results_release", f"the results of {month} were already released at "
                         f"{earlier.released_at.isoformat()}", "month",
                         f"{month} 的议事成果已于 {earlier.released_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 发布")

    def release_due_results(self, report_for: Callable[[str], dict[str, Any]]) -> ResultsRelease | None:
        """The timer's job: on or after the 25th, release this month's results unless already released."""
        now = self.clock()
        month = local_month(now)
        if now.astimezone(SHANGHAI).day < RESULTS_DAY or self.get_release(month) is not None:
            return None
        try:
            return self.release_results(month, report_for(month), by="timer")
        except RuleBroken:
            return None

    # casework's events, recorded as meetings' own facts -------------------------------------------
    def policy(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """A case escalated to the council or the assembly becomes a proposed topic (its facts: the view)."""
        data = event.data
        if (event.service, event.name) == ("intake", "RecurringIssueFound"):
            self._recurring(event, processing)
            return
        if (event.service, event.name) != ("casework", "CaseEscalated") or data.get("to") not in ("council",
                                                                                                 "assembly"):
            return
        pid = proposal_id_for(event.id)
        if self._find(pid) is None:
            processing.collect_events(TopicProposal(
                id=pid, case_id=str(data["case_id"]), to=data["to"], kinds=kinds_for_escalation(data["to"]),
                reason=data.get("reason") or "", title=data.get("title"), category=data.get("category"),
                proposed_at=event.time))

    def _recurring(self, event: IntegrationEvent, processing: ProcessingEvent) -> None:
        """The same issue keeps coming back at one place (intake's detector): a council topic is proposed."""
        data, pid = event.data, proposal_id_for(event.id)
        if self._find(pid) is None:
            processing.collect_events(TopicProposal(
                id=pid, case_id=None, to="council", kinds=kinds_for_escalation("council"),
                reason=f"近30日同一楼栋{data['issues']}次反映同类问题,需议事会协商长效解决办法", title=data["topic_title"],
                category=data["category"], proposed_at=event.time, source="recurring"))

    # residents in deliberation (议题征集、意见征集) -----------------------------------------------------
    def suggest(self, payload: Any, key: str | None = None) -> tuple[TopicSuggestion, bool]:
        """A resident suggests a topic; their own signature is its first. Text is masked before it is kept."""
        fields = commands.suggestion(payload)
        sid = suggestion_id_for(key)
        existing = self._find(sid) if key else None
        if isinstance(existing, TopicSuggestion):
            return existing, False
        suggestion = TopicSuggestion(id=sid, title=mask_text(fields["title"]), background=mask_text(fields["background"]),
                                     category=fields["category"], suggester=resident_digest(sid, fields["resident"]),
                                     suggested_at=self.clock())
        try:
            self.save(suggestion)
        except IntegrityError:  # a concurrent retry with the same key won
            return self.get_suggestion(str(sid)), False
        return suggestion, True

    def sign(self, suggestion_id: str, payload: Any) -> tuple[TopicSuggestion, bool]:
        """A resident co-signs (联名); at SIGNATURES_NEEDED it goes before the council, in the same save."""
        resident = commands.signature(payload)
        for attempt in range(CONTENDED_ATTEMPTS):
            suggestion = self.get_suggestion(suggestion_id)
            if not suggestion.sign(resident, self.clock()):
                return suggestion, False
            others: list[Aggregate] = []
            if suggestion.reached():
                others.append(self._before_council(suggestion))
            try:
                self.save(suggestion, *others)
                return suggestion, True
            except IntegrityError:
                if attempt == CONTENDED_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _before_council(self, suggestion: TopicSuggestion) -> TopicProposal:
        pid = proposal_id_for(f"suggestion:{suggestion.id}")
        now = self.clock()
        suggestion.put_before_council(str(pid), suggestion.signatures, now)
        return TopicProposal(id=pid, case_id=None, to="council", kinds=kinds_for_escalation("council"),
                             reason=f"{suggestion.signatures}位居民联名提议。{suggestion.background}",
                             title=suggestion.title, category=suggestion.category, proposed_at=now, source="suggestion")

    def get_suggestion(self, suggestion_id: str) -> TopicSuggestion:
        found = self._find(_uuid(suggestion_id, "suggestion_id"))
        if not isinstance(found, TopicSuggestion):
            raise NotFound(f"no suggestion {suggestion_id}", "suggestion_id", "未找到该议题建议")
        return found

    def give_opinion(self, meeting_id: str, payload: Any, key: str | None = None) -> tuple[str, bool]:
        """A resident's opinion on a published topic (意见征集), masked, until the meeting opens."""
        fields = commands.opinion(payload)
        meeting = self.get_meeting(meeting_id)
        for attempt in range(CONTENDED_ATTEMPTS):
            consultation = self._find(consultation_id_for(meeting.id)) or Consultation(
                id=consultation_id_for(meeting.id), meeting_id=str(meeting.id))
            opinion_id, given = consultation.give(meeting.topics, fields["topic_id"], mask_text(fields["text"]),
                                                  meeting.agenda_published_at, meeting.meeting_at, meeting.status,
                                                  self.clock(), key)
            if not given:
                return opinion_id, False
            try:
                self.save(consultation)
                return opinion_id, True
            except IntegrityError:  # another resident's opinion was saved first: add ours after it
                if attempt == CONTENDED_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def opinions(self, meeting: Meeting) -> list[dict[str, Any]]:
        """The digest for the recorder and the archive: per topic, the residents' opinions."""
        return opinion_digest(self._find(consultation_id_for(meeting.id)), meeting.topics)

    # plumbing -----------------------------------------------------------------------------------
    def _command(self, meeting_id: str, key: str | None, payload: Any,
                 act: Callable[[Meeting, str], tuple[Any, list[Aggregate]]]) -> tuple[Any, bool]:
        """Run a command on a meeting; retry on a concurrent writer; a repeated Idempotency-Key returns
        what the first made (201 then 200), a key reused for another body is a conflict."""
        digest = commands.digest(payload)
        for attempt in range(5):
            meeting = self.get_meeting(meeting_id)
            earlier = meeting.earlier(key, digest)
            if earlier is not None:
                return earlier, False
            result, others = act(meeting, digest)
            try:
                self.save(meeting, *others)
                return result, True
            except IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


def opening_window(env: Any) -> Window:
    """OPENING, widened or narrowed by the operator (YISHI_MEETING_OPENS_EARLY_MINUTES / _LATE_MINUTES)."""
    def minutes(name: str, default: timedelta) -> timedelta:
        value = env.get(name)
        return timedelta(minutes=float(value)) if value else default

    return Window(minutes("YISHI_MEETING_OPENS_EARLY_MINUTES", OPENING.before),
                  minutes("YISHI_MEETING_OPENS_LATE_MINUTES", OPENING.after))


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise NotFound(f"no {field.split('_')[0]} {value}", field, "未找到") from None
