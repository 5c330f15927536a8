"""meetings' HTTP adapter (port 8003): commands of the five-step procedure, the archive, the results release.

Every command accepts `Idempotency-Key` (201 first, 200 for a retry). A refusal under the council's
rules is a 409 problem whose `rule` names the rule (ids in services/meetings/rules.py).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from nameko.timer import timer
from werkzeug.wrappers import Request, Response

from services.meetings import commands, record, results
from services.meetings.bootstrap import SPEC
from services.meetings.domain import Meeting
from services.meetings.participation import SIGNATURES_NEEDED
from services.meetings.projections import (list_meetings, list_proposals, list_suggestions, next_meetings,
                                           results_report)
from services.meetings.rules import KINDS, NOTICE, SHANGHAI, RuleBroken
from services.meetings.trace import case_trace
from shared.audit import trail
from shared.contracts.envelope import rfc3339
from shared.edge.documents import DOCUMENT, document_response
from shared.errors import InvalidInput, NotFound
from shared.edge.access import STAFF, Policy, allow, authorize, caller, public
from shared.edge.http import (Operable, Reply, RuntimeProvider, answered, choice, idempotency_key, json_response,
                              page, problem, read_json, route)

log = logging.getLogger(__name__)
RESULTS_CHECK_SECONDS = float(os.environ.get("YISHI_RESULTS_CHECK_SECONDS", "300"))
DAY = re.compile(r"^\d{4}-\d\d-\d\d$")
ORGANISERS = ("secretary", "community_worker")  # who runs a meeting's record
RECORDER = "secretary"  # the meeting's recorder: the only one shown secret-ballot codes
VOTERS = Policy(roles=("council_member", "resident_representative", "secretary"))  # an open, named vote


def ruled(fn: Callable) -> Callable:
    """A refusal under the council's rules: the problem names the rule (`rule`) beside the field."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Request, **kwargs: Any) -> Response:
        try:
            return fn(self, request, **kwargs)
        except RuleBroken as exc:
            response = problem(request, exc.status, exc.title, exc.detail, exc.field, exc.title_zh, exc.detail_zh)
            body = json.loads(response.get_data()) | {"rule": exc.rule}
            response.set_data(json.dumps(body, ensure_ascii=False))
            return response

    return wrapper



def _meeting_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None



def _bound(value: str | None, name: str, end_of_day: bool) -> str | None:
    """?from= / ?to=: a date (Asia/Shanghai; `to` includes the whole day) or an RFC 3339 time."""
    if value is None:
        return None
    if DAY.match(value):
        try:
            day = datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), SHANGHAI)
        except ValueError:
            raise InvalidInput(f"{name} is not a date", name, f"{name} 不是有效日期") from None
        return rfc3339(day + timedelta(days=1) if end_of_day else day)
    return rfc3339(commands.moment(value, name))


APPLIED = {201: "applied", 200: "a retried Idempotency-Key: the first answer, nothing applied again"}
SIGNED = {201: "counted", 200: "this resident had signed already"}
RELEASED = {201: Reply("the month's results as released (a second release of a month is a 409)")}
BALLOTS = {201: Reply("new ballot codes, shown once to the recorder")}


class MeetingsService(Operable):
    name = "meetings"
    runtime = RuntimeProvider(SPEC)

    # schedule and archive ---------------------------------------------------------------------------
    @route("POST", "/meetings", allow(*ORGANISERS), body=commands.Schedule, responses=APPLIED)
    @ruled
    def schedule(self, request: Request) -> Response:
        """Schedule a meeting: {kind: regular|mobile|online|assembly|joint|hearing|consultation, place, meeting_at,
        title?}; a joint meeting, hearing or consultation opens only with its required roles present."""
        meeting, created = self.runtime.app.schedule(read_json(request), idempotency_key(request))
        return answered(record.view(meeting), created, f"/meetings/{meeting.id}")

    @route("GET", "/meetings", allow(*STAFF), query=("from", "to", "kind", "limit", "offset"))
    def list_meetings(self, request: Request) -> Response:
        """The archive index (议事档案库): ?from=&to= (dates or times) &kind= &limit= &offset=, by meeting time."""
        kind = choice(request, "kind", KINDS)
        start = _bound(request.args.get("from"), "from", end_of_day=False)
        end = _bound(request.args.get("to"), "to", end_of_day=True)
        limit, offset = page(request)
        return json_response({"meetings": list_meetings(self.runtime.db, start, end, kind, limit, offset),
                              "limit": limit, "offset": offset})

    @route("GET", "/meetings/<string:meeting_id>", allow(*STAFF), query=("format", "lang"), responses={200: DOCUMENT})
    def get_meeting(self, request: Request, meeting_id: str) -> Response:
        """The meeting's full record; ?format=markdown|html (&lang=en) exports it as one document."""
        meeting = self.runtime.app.get_meeting(meeting_id)
        opinions = self.runtime.app.opinions(meeting)
        body = record.view(meeting) | {"proposed_topics": self._waiting_for(meeting), "opinions": opinions}
        return document_response(request, body, lambda lang: record.document(meeting, lang, opinions),
                                 f"meeting-{meeting.meeting_at.astimezone(SHANGHAI):%Y%m%d}")

    @route("GET", "/meetings/<string:meeting_id>/public",
           public("the public record (公示): agenda, counted votes, minutes; no participant, statement or ballot"))
    def get_public_meeting(self, request: Request, meeting_id: str) -> Response:
        """What residents read of a meeting (议事公示): its time and place, agenda, vote counts and minutes, masked."""
        return json_response(record.public_view(self.runtime.app.get_meeting(meeting_id)))

    @route("GET", "/cases/<string:case_id>/trace",
           public("a case's steps in the council are public, masked, as the results release is"))
    def get_case_trace(self, request: Request, case_id: str) -> Response:
        """A case through the council (议事全程): agenda topics, votes, resolutions, monthly releases, in order."""
        return json_response(case_trace(self.runtime.db, commands.case_id(case_id)))

    @route("GET", "/meetings/<string:meeting_id>/history", allow(*STAFF))
    def history(self, request: Request, meeting_id: str) -> Response:
        """Every event of the meeting in order with its hash chain checked (`verified`): the archive's audit trail."""
        uid = _meeting_uuid(meeting_id)
        history = trail(self.runtime.app, uid, of=Meeting) if uid else None
        if history is None:  # read off the stored events: a meeting that no longer rebuilds still shows its break
            raise NotFound(f"no meeting {meeting_id}", "meeting_id", "未找到该会议")
        return json_response(history)

    # the five steps ------------------------------------------------------------------------------
    @route("POST", "/meetings/<string:meeting_id>/agenda", allow(*ORGANISERS), body=commands.Agenda, responses=APPLIED)
    @ruled
    def publish_agenda(self, request: Request, meeting_id: str) -> Response:
        """Publish topics ≥ 3 days ahead.

        {topics: [{title?, background, draft_plan, case_id?} | {proposal_id, draft_plan, background?}]}
        """
        ids, created = self.runtime.app.publish_agenda(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "topic_ids": ids}, created)

    @route("POST", "/meetings/<string:meeting_id>/cancel", allow(*ORGANISERS), body=commands.Cancel, responses=APPLIED)
    @ruled
    def cancel(self, request: Request, meeting_id: str) -> Response:
        """Cancel a meeting not yet opened: {reason}; announced on the board."""
        _, created = self.runtime.app.cancel_meeting(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "status": "cancelled"}, created)

    @route("POST", "/meetings/<string:meeting_id>/reschedule", allow(*ORGANISERS),
           body=commands.Reschedule, responses=APPLIED)
    @ruled
    def reschedule(self, request: Request, meeting_id: str) -> Response:
        """Move a meeting not yet opened: {meeting_at, place?, reason?}. With topics published, earlier only
        to 3 days from now (409 `notice`, field `meeting_at`), and the agenda is announced again."""
        _, created = self.runtime.app.reschedule_meeting(meeting_id, read_json(request), idempotency_key(request))
        return answered(record.view(self.runtime.app.get_meeting(meeting_id)), created)

    @route("POST", "/meetings/<string:meeting_id>/participants", allow(*ORGANISERS),
           body=commands.Invite, responses=APPLIED)
    @ruled
    def invite(self, request: Request, meeting_id: str) -> Response:
        """Invite participants (1+N): {participants: [{name, role, organisation?, topic_id?, present?}]}."""
        ids, created = self.runtime.app.invite(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "participant_ids": ids}, created)

    @route("POST", "/meetings/<string:meeting_id>/open", allow(*ORGANISERS), body=commands.Opening, responses=APPLIED)
    @ruled
    def open(self, request: Request, meeting_id: str) -> Response:
        """Open the meeting: {present: [participant_id], chair, recorder}."""
        _, created = self.runtime.app.open_meeting(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "status": "open"}, created)

    @route("POST", "/meetings/<string:meeting_id>/statements", allow(*ORGANISERS),
           body=commands.Statement, responses=APPLIED)
    @ruled
    def record_statement(self, request: Request, meeting_id: str) -> Response:
        """Record a statement: {participant_id, topic_id, seconds, summary}; over 5 minutes is flagged."""
        sid, created = self.runtime.app.record_statement(meeting_id, read_json(request), idempotency_key(request))
        statement = next(s for s in self.runtime.app.get_meeting(meeting_id).statements if s["statement_id"] == sid)
        return answered({"meeting_id": meeting_id, **{k: statement[k] for k in (
            "statement_id", "seconds", "over_limit", "overrun_seconds")}}, created)

    @route("POST", "/meetings/<string:meeting_id>/disagreements", allow(*ORGANISERS),
           body=commands.Disagreement, responses=APPLIED)
    @ruled
    def record_disagreement(self, request: Request, meeting_id: str) -> Response:
        """Record a point of disagreement (by the named recorder): {topic_id, point, positions?}."""
        did, created = self.runtime.app.record_disagreement(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "disagreement_id": did}, created)

    @route("POST", "/meetings/<string:meeting_id>/motions", allow(RECORDER), body=commands.Motion, responses=APPLIED)
    @ruled
    def table_motion(self, request: Request, meeting_id: str) -> Response:
        """Table a motion: {text, topic_id?, mode: open|secret, major?, majority: simple|two_thirds}.

        A secret ballot returns `ballots`, one code per eligible member present, shown this once only.
        """
        result, created = self.runtime.app.table_motion(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, **result}, created)

    @route("POST", "/meetings/<string:meeting_id>/motions/<string:motion_id>/ballots", allow(RECORDER),
           responses=BALLOTS)
    @ruled
    def reissue_ballots(self, request: Request, meeting_id: str, motion_id: str) -> Response:
        """New ballot codes for a secret ballot nobody has voted in yet (the old codes are void)."""
        codes = self.runtime.app.reissue_ballots(meeting_id, motion_id)
        return json_response({"meeting_id": meeting_id, "motion_id": motion_id, "ballots": codes}, status=201)

    @route("POST", "/meetings/<string:meeting_id>/votes",
           public("a secret ballot votes by its code; an open vote needs a voter's token (checked in the handler)"),
           body=commands.Vote, responses=APPLIED)
    @ruled
    def cast_vote(self, request: Request, meeting_id: str) -> Response:
        """A vote: {motion_id, choice: for|against|abstain} with ballot (secret) or participant_id (open)."""
        body = read_json(request)
        if not (isinstance(body, dict) and body.get("ballot") is not None):  # the ballot code is the credential
            authorize(self.name, "/meetings/{id}/votes", request, VOTERS, {})
        result, created = self.runtime.app.cast_vote(meeting_id, body, idempotency_key(request))
        return answered({"meeting_id": meeting_id, **result}, created)

    @route("POST", "/meetings/<string:meeting_id>/motions/<string:motion_id>/tally", allow(*ORGANISERS))
    @ruled
    def tally(self, request: Request, meeting_id: str, motion_id: str) -> Response:
        """Count the votes now (when not every eligible member has voted)."""
        result = self.runtime.app.tally(meeting_id, motion_id)
        return json_response({"meeting_id": meeting_id, "motion_id": motion_id, "result": result})

    @route("POST", "/meetings/<string:meeting_id>/close", allow(*ORGANISERS), body=commands.Closing, responses=APPLIED)
    @ruled
    def close(self, request: Request, meeting_id: str) -> Response:
        """Close the meeting; motions still being voted on are counted. Minutes are due within 24 h."""
        _, created = self.runtime.app.close_meeting(meeting_id, read_json(request) or {}, idempotency_key(request))
        meeting = self.runtime.app.get_meeting(meeting_id)
        return answered({"meeting_id": meeting_id, "status": meeting.status, "closed_at": rfc3339(meeting.closed_at)},
                        created)

    @route("POST", "/meetings/<string:meeting_id>/minutes", allow(*ORGANISERS),
           body=commands.Minutes, responses=APPLIED)
    @ruled
    def record_minutes(self, request: Request, meeting_id: str) -> Response:
        """Minutes: {summary?, resolutions: [{text, owner, due, case_id?, topic_id?, motion_id?}]}; late is flagged."""
        _, created = self.runtime.app.record_minutes(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, **record.view(self.runtime.app.get_meeting(meeting_id))["minutes"]},
                        created)

    # topics escalated by casework --------------------------------------------------------------------
    @route("GET", "/proposals", allow(*STAFF), query=("status",))
    def list_proposals(self, request: Request) -> Response:
        """Proposed topics (?status=proposed|confirmed), with their next meeting: cases casework escalated to the council
        or assembly, residents' suggestions with enough co-signatures, places where an issue keeps recurring (`source`)."""
        status = request.args.get("status")
        if status is not None and status not in ("proposed", "confirmed"):
            raise InvalidInput("status must be proposed or confirmed", "status", "status 必须是 proposed 或 confirmed")
        upcoming = self._upcoming()
        proposals = list_proposals(self.runtime.db, status)
        for p in proposals:
            if p["status"] == "proposed":
                p["next_meeting"] = next((m for m in upcoming if m["kind"] in p["kinds"]), None)
        return json_response({"proposals": proposals})

    @route("POST", "/proposals/<string:proposal_id>/confirm", allow(*ORGANISERS),
           body=commands.Proposal, responses=APPLIED)
    @ruled
    def confirm_proposal(self, request: Request, proposal_id: str) -> Response:
        """Confirm a proposed topic into a meeting's agenda: {meeting_id, draft_plan, background?, title?}."""
        body = read_json(request)
        ids, created = self.runtime.app.confirm_proposal(proposal_id, body, idempotency_key(request))
        return answered({"proposal_id": proposal_id, "meeting_id": body["meeting_id"], "topic_id": ids[0]}, created)

    # residents in deliberation (议题征集、意见征集) -----------------------------------------------------
    @route("POST", "/suggestions", public("residents suggest topics without an account"),
           body=commands.Suggestion, responses=APPLIED)
    def suggest(self, request: Request) -> Response:
        """A resident suggests a topic (议题征集): {title, background, category?, resident}. `resident` (a phone or
        WeChat id) is kept only as a digest, to count them once; with SIGNATURES_NEEDED co-signatures it goes
        before the council (GET /proposals)."""
        suggestion, created = self.runtime.app.suggest(read_json(request), idempotency_key(request))
        return answered(self._suggestion(suggestion), created)

    @route("POST", "/suggestions/<string:suggestion_id>/signatures",
           public("residents co-sign without an account; each is counted once"),
           body=commands.Signature, responses=SIGNED)
    def sign(self, request: Request, suggestion_id: str) -> Response:
        """A resident co-signs (联名): {resident}. 201 when counted, 200 when they had signed already."""
        suggestion, counted = self.runtime.app.sign(suggestion_id, read_json(request))
        return json_response(self._suggestion(suggestion) | {"counted": counted}, status=201 if counted else 200)

    @route("GET", "/suggestions", public("suggestions are public: masked text and counts, never who signed"),
           query=("status", "limit", "offset"))
    def list_suggestions(self, request: Request) -> Response:
        """Residents' topic suggestions, newest first: ?status=collecting|proposed&limit=&offset=."""
        limit, offset = page(request)
        status = choice(request, "status", ("collecting", "proposed"))
        return json_response({"suggestions": list_suggestions(self.runtime.db, status, limit, offset),
                              "needed": SIGNATURES_NEEDED, "limit": limit, "offset": offset})

    @route("POST", "/meetings/<string:meeting_id>/opinions",
           public("residents give opinions on a public agenda without an account; masked"),
           body=commands.Opinion, responses=APPLIED)
    @ruled
    def give_opinion(self, request: Request, meeting_id: str) -> Response:
        """A resident's opinion on a topic of the published agenda (意见征集): {topic_id, text}, until the meeting
        opens (rule `consultation`). The text is masked before it is kept; `Idempotency-Key` gives it once."""
        opinion_id, given = self.runtime.app.give_opinion(meeting_id, read_json(request), idempotency_key(request))
        return answered({"meeting_id": meeting_id, "opinion_id": opinion_id}, given)

    @route("GET", "/meetings/<string:meeting_id>/opinions", allow(*ORGANISERS))
    def opinions(self, request: Request, meeting_id: str) -> Response:
        """The digest of the residents' opinions per topic, for the recorder at the meeting (also in the record)."""
        meeting = self.runtime.app.get_meeting(meeting_id)
        return json_response({"meeting_id": meeting_id, "topics": self.runtime.app.opinions(meeting)})

    @staticmethod
    def _suggestion(suggestion: Any) -> dict[str, Any]:
        return {"suggestion_id": str(suggestion.id), "title": suggestion.title, "signatures": suggestion.signatures,
                "needed": SIGNATURES_NEEDED, "status": suggestion.status, "proposal_id": suggestion.proposal_id}

    # the monthly results release ---------------------------------------------------------------
    @route("GET", "/reports/results", public("the monthly results release is published"),
           query=("month", "format", "lang"), responses={200: DOCUMENT})
    def get_results(self, request: Request) -> Response:
        """?month=YYYY-MM: the release as published, or a preview; ?format=markdown|html (&lang=en) to print."""
        month = commands.month(request.args.get("month"))
        release = self.runtime.app.get_release(month)
        if release is not None:
            report = release.report | {"released": True, "released_at": rfc3339(release.released_at)}
        else:
            report = results_report(self.runtime.db, month, self.runtime.app.clock(), self.runtime.app.carried_from(month)) | {"released": False}
        return document_response(request, report, lambda lang: results.document(report, lang), f"results-{month}")

    @route("POST", "/reports/results", allow(RECORDER), body=commands.Release, responses=RELEASED)
    @ruled
    def release_results(self, request: Request) -> Response:
        """Release a month's results (from its 25th): {month}. A second release of a month is a 409."""
        body = read_json(request)
        month = commands.month(commands.release(body))
        report = results_report(self.runtime.db, month, self.runtime.app.clock(), self.runtime.app.carried_from(month))
        release = self.runtime.app.release_results(month, report, by=caller(request).name)
        return json_response(release.report | {"released": True, "released_at": rfc3339(release.released_at)},
                             status=201)

    @timer(interval=RESULTS_CHECK_SECONDS)
    def release_monthly_results(self) -> None:
        """On the 25th (Asia/Shanghai) release the month's results; every instance tries, one succeeds."""
        try:
            release = self.runtime.app.release_due_results(
                lambda month: results_report(self.runtime.db, month, self.runtime.app.clock(), self.runtime.app.carried_from(month)))
            if release is not None:
                log.info("results of %s released", release.month)
        except Exception:
            log.exception("monthly results release failed; the next tick retries")

    # helpers -----------------------------------------------------------------------------------
    def _upcoming(self) -> list[dict[str, Any]]:
        """Scheduled meetings whose agenda can still be published (at least 3 days ahead)."""
        return next_meetings(self.runtime.db, rfc3339(self.runtime.app.clock() + NOTICE))

    def _waiting_for(self, meeting: Meeting) -> list[dict[str, Any]]:
        """Proposed topics for which this meeting is the next one of the right kind."""
        if meeting.status != "scheduled":
            return []
        upcoming = self._upcoming()
        waiting = []
        for p in list_proposals(self.runtime.db, "proposed"):
            nxt = next((m for m in upcoming if m["kind"] in p["kinds"]), None)
            if nxt is not None and nxt["meeting_id"] == str(meeting.id):
                waiting.append(p)
        return waiting
