"""Meetings domain: the council's meeting (议事会议) from schedule to minutes, topics proposed by
casework, casework's facts as meetings records them, and the monthly results release. Pure rules.

A meeting goes scheduled -> open -> closed -> minuted, or is cancelled before it opens; until then it
may be rescheduled (the agenda announced again). Every state rule is in `rules.py` and every
refusal raises RuleBroken naming it.

Secret ballot (无记名投票): when a secret motion is tabled, one random ballot code is issued per
eligible member present and handed out like paper ballots; only a digest of each code is stored.
A ballot carries its code and a choice, never a person: the store can prove each code was used
at most once, and cannot say by whom.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.meetings.rules import (
    COUNCIL_KINDS, MAJORITIES, MINUTES_WITHIN, NOTICE, QUORUM, REQUIRED, ROLES, SHANGHAI, SPEAKING_TIME, VOTERS,
    RuleBroken, Window,
)
from shared.audit import Audited
from shared.errors import Conflict, InvalidInput, NotFound
from shared.idempotency import replayed

NAMESPACE = UUID("3c2b8f0e-5d1a-4f7b-9e6c-8a0d2b4f6e19")
CHOICES = ("for", "against", "abstain")  # 赞成 / 反对 / 弃权
STAGES = ("scheduled", "open", "closed", "minuted")
PAST = {"open": "会议已开始", "closed": "会议已闭会", "minuted": "会议纪要已形成", "cancelled": "会议已取消"}
NOT_YET = {"scheduled": "会议尚未开始", "open": "会议尚未闭会"}


def meeting_id_for(key: str | None) -> UUID:
    """A client's Idempotency-Key always names the same meeting."""
    return uuid5(NAMESPACE, f"meeting:{key}") if key else uuid4()


def proposal_id_for(escalation_event_id: str) -> UUID:
    return uuid5(NAMESPACE, f"proposal:{escalation_event_id}")


def release_id_for(month: str) -> UUID:
    """One results release per month, whichever instance or person releases it."""
    return uuid5(NAMESPACE, f"results:{month}")


def ballot_digest(meeting_id: UUID, motion_id: str, code: str) -> str:
    return hashlib.sha256(f"{meeting_id}:{motion_id}:{code}".encode()).hexdigest()


def kinds_for_escalation(to: str) -> list[str]:
    """A case escalated to the assembly waits for an assembly; to the council, for any council meeting."""
    return ["assembly"] if to == "assembly" else list(COUNCIL_KINDS)


class Meeting(Audited):
    """One meeting of the council or assembly and everything said and decided in it (议事档案)."""

    @event("Scheduled")
    def __init__(self, id: UUID, kind: str, title: str, place: str, meeting_at: datetime, scheduled_at: datetime,
                 key: str | None, digest: str | None):
        self.kind = kind
        self.title = title
        self.place = place
        self.meeting_at = meeting_at
        self.scheduled_at = scheduled_at
        self.status = "scheduled"
        self.topics: list[dict[str, Any]] = []
        self.agenda_published_at: datetime | None = None
        self.participants: list[dict[str, Any]] = []
        self.chair: str | None = None
        self.recorder: str | None = None
        self.opened_at: datetime | None = None
        self.statements: list[dict[str, Any]] = []
        self.disagreements: list[dict[str, Any]] = []
        self.motions: list[dict[str, Any]] = []
        self.closed_at: datetime | None = None
        self.minutes: dict[str, Any] | None = None
        self.cancelled: dict[str, Any] | None = None
        self.keys: dict[str, list[Any]] = {}  # Idempotency-Key -> [digest of the request, what it made]
        self._remember(key, digest, str(id))

    # idempotency ------------------------------------------------------------------------------
    def _remember(self, key: str | None, digest: str | None, ref: Any) -> None:
        if key:
            self.keys[key] = [digest, ref]

    def earlier(self, key: str | None, digest: str) -> Any:
        """What an earlier command with this key made (None if new); a different body is a conflict."""
        if not key or key not in self.keys:
            return None
        seen, ref = self.keys[key]
        replayed(seen, digest)
        return ref

    # lookups ------------------------------------------------------------------------------------
    def topic(self, topic_id: str, field: str = "topic_id") -> dict[str, Any]:
        for t in self.topics:
            if t["topic_id"] == topic_id:
                return t
        raise InvalidInput(f"no topic {topic_id} on this meeting's agenda", field, f"本次会议议程中没有议题 {topic_id}")

    def participant(self, participant_id: str, field: str = "participant_id") -> dict[str, Any]:
        for p in self.participants:
            if p["participant_id"] == participant_id:
                return p
        raise InvalidInput(f"{participant_id} is not a participant of this meeting", field,
                           f"{participant_id} 不是本次会议的参会人员")

    def motion(self, motion_id: str, field: str = "motion_id") -> dict[str, Any]:
        for m in self.motions:
            if m["motion_id"] == motion_id:
                return m
        raise NotFound(f"no motion {motion_id} in this meeting", field, f"本次会议没有动议 {motion_id}")

    def voters(self) -> list[dict[str, Any]]:
        """Members with a vote at this kind of meeting (invited or not yet arrived included)."""
        return [p for p in self.participants if p["role"] in VOTERS[self.kind]]

    def voters_present(self) -> list[dict[str, Any]]:
        return [p for p in self.voters() if p["present"]]

    def _require(self, *statuses: str, doing_en: str, doing_zh: str) -> None:
        if self.status in statuses:
            return
        past = self.status == "cancelled" or STAGES.index(self.status) > STAGES.index(statuses[-1])
        raise RuleBroken("procedure", f"cannot {doing_en} while the meeting is {self.status}", "status",
                         f"{PAST[self.status]},不能再{doing_zh}" if past else f"{NOT_YET[self.status]},还不能{doing_zh}")

    # step 1: topics published at least 3 days ahead (会前3日公示议题) -------------------------------
    def publish_agenda(self, topics: list[dict[str, Any]], now: datetime, key: str | None, digest: str) -> list[str]:
        self._require("scheduled", doing_en="publish topics", doing_zh="公示议题")
        if now > self.meeting_at - NOTICE:
            short = self.meeting_at - now
            hours = max(0, int(short.total_seconds() // 3600))
            raise RuleBroken("notice", f"topics must be published at least 72 hours before the meeting; "
                             f"only {hours} h {int(short.total_seconds() % 3600 // 60)} min remain", "topics",
                             f"议题须在会前3日(72小时)公示,距开会仅剩 {hours} 小时 {int(short.total_seconds() % 3600 // 60)} 分钟")
        known = {t.get("case_id") for t in self.topics if t.get("case_id")}
        for i, t in enumerate(topics):
            if t.get("case_id") and t["case_id"] in known:
                raise Conflict(f"case {t['case_id']} is already on this agenda", f"topics[{i}].case_id",
                               "该案件已在本次会议议程中")
        start = len(self.topics)
        numbered = [{**t, "topic_id": f"t{start + i + 1}"} for i, t in enumerate(topics)]
        self._publish_agenda(numbered, [*self.topics, *numbered], self.meeting_at, now, key, digest, self.kind,
                             self.place)
        return [t["topic_id"] for t in numbered]

    @event("AgendaPublished")
    def _publish_agenda(self, topics: list[dict[str, Any]], agenda: list[dict[str, Any]], meeting_at: datetime,
                        published_at: datetime, key: str | None, digest: str | None, kind: str | None = None,
                        place: str | None = None) -> None:
        """`topics` are the new ones; `agenda` is every topic so far, as published, with the meeting's kind and
        place announced with it (absent from agendas published before they were carried)."""
        self.topics = list(agenda)
        self.agenda_published_at = published_at
        self._remember(key, digest, [t["topic_id"] for t in topics])

    # 1+N participants (“1+N”参与) ---------------------------------------------------------------
    def invite(self, people: list[dict[str, Any]], key: str | None, digest: str) -> list[str]:
        self._require("scheduled", "open", doing_en="invite participants", doing_zh="邀请参会人员")
        for i, p in enumerate(people):
            if p.get("topic_id"):
                self.topic(p["topic_id"], f"participants[{i}].topic_id")
        start = len(self.participants)
        added = [{**p, "participant_id": f"p{start + i + 1}", "present": bool(p.get("present"))
                  and self.status == "open"} for i, p in enumerate(people)]
        self._invite(added, key, digest)
        return [p["participant_id"] for p in added]

    @event("ParticipantsInvited")
    def _invite(self, participants: list[dict[str, Any]], key: str | None, digest: str | None) -> None:
        self.participants.extend(participants)
        self._remember(key, digest, [p["participant_id"] for p in participants])

    # the meeting opens: roll call, chair and the named recorder ---------------------------------
    def open(self, present: list[str], chair: str, recorder: str, now: datetime, window: Window,
             key: str | None, digest: str) -> None:
        self._require("scheduled", doing_en="open the meeting", doing_zh="宣布开会")
        if not self.topics:
            raise RuleBroken("notice", "no topic was published for this meeting", "topics",
                             "本次会议没有经公示的议题,不能开会")
        self._check_opening(now, window)
        for i, pid in enumerate(present):
            self.participant(pid, f"present[{i}]")
        self.participant(chair, "chair")
        self.participant(recorder, "recorder")
        here = sorted(set(present) | {chair, recorder})
        self._check_required(here)
        came: dict[str, bool] = {}  # an organisation came when one of its people did
        for p in self.participants:
            if p.get("organisation"):
                came[p["organisation"]] = came.get(p["organisation"], False) or p["participant_id"] in here
        self._open(here, chair, recorder, now, key, digest, self.kind,
                   [{"organisation": o, "present": c} for o, c in sorted(came.items())])

    def _check_required(self, here: list[str]) -> None:
        """A joint meeting, a hearing or a consultation opens only with each of its required roles present."""
        roles = {p["role"] for p in self.participants if p["participant_id"] in here}
        missing = [r for r in REQUIRED.get(self.kind, ()) if r not in roles]
        if missing:
            raise RuleBroken("participants", f"a {self.kind} meeting opens with {', '.join(missing)} present",
                             "present", f"{'、'.join(ROLES[r][0] for r in missing)}未到会,不能召开本类会议")

    def _check_opening(self, now: datetime, window: Window) -> None:
        at = f"{self.meeting_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
        if window.too_early(self.meeting_at, now):
            raise RuleBroken("opening", f"the meeting is announced for {at} (UTC+8) and opens from "
                             f"{span(window.before, 'en')} before it", "meeting_at",
                             f"公示的会议时间为 {at},最早于会前{span(window.before, 'zh')}宣布开会")
        if window.too_late(self.meeting_at, now):
            raise RuleBroken("opening", f"the meeting announced for {at} (UTC+8) was not opened within "
                             f"{span(window.after, 'en')}; reschedule it", "meeting_at",
                             f"已超过公示的会议时间({at}){span(window.after, 'zh')}以上,请先改期再开会")

    @event("Opened")
    def _open(self, present: list[str], chair: str, recorder: str, opened_at: datetime, key: str | None,
              digest: str | None, kind: str | None = None, attendance: list[dict[str, Any]] | None = None) -> None:
        """`kind`, `attendance` (which organisations invited came: 联席会议出席率): absent in events stored before."""
        for p in self.participants:
            p["present"] = p["participant_id"] in present
        self.chair, self.recorder = chair, recorder
        self.opened_at = opened_at
        self.status = "open"
        self._remember(key, digest, "open")

    # cancelled or rescheduled, openly, before it opens ----------------------------------------------
    def cancel(self, reason: str, now: datetime, key: str | None, digest: str) -> list[str]:
        """Cancel the meeting; returns the proposals on its agenda, which go back to waiting for one."""
        self._require("scheduled", doing_en="cancel the meeting", doing_zh="取消会议")
        self._cancel(reason, now, self.meeting_at, self.kind, key, digest)
        return [t["proposal_id"] for t in self.topics if t.get("proposal_id")]

    @event("Cancelled")
    def _cancel(self, reason: str, cancelled_at: datetime, meeting_at: datetime, kind: str, key: str | None,
                digest: str | None) -> None:
        self.status = "cancelled"
        self.cancelled = {"reason": reason, "at": cancelled_at}
        self._remember(key, digest, "cancelled")

    def reschedule(self, meeting_at: datetime, place: str | None, reason: str | None, now: datetime,
                   key: str | None, digest: str) -> None:
        """Move the meeting. Earlier is allowed only with the 3-day notice of its topics kept; with topics
        published, the agenda is announced again with the new time."""
        self._require("scheduled", doing_en="reschedule the meeting", doing_zh="调整会议时间")
        if self.topics and meeting_at < self.meeting_at and meeting_at < now + NOTICE:
            raise RuleBroken("notice", "with its topics published, a meeting may be moved earlier only to at least "
                             "72 hours from now", "meeting_at",
                             "议题已公示,会议时间只能提前到距现在3日(72小时)以后,以保证会前3日公示")
        self._reschedule(meeting_at, self.meeting_at, place or self.place, reason, now, self.kind, key, digest)
        if self.topics:
            self._publish_agenda([], self.topics, meeting_at, now, None, None, self.kind, self.place)

    @event("Rescheduled")
    def _reschedule(self, meeting_at: datetime, previous_meeting_at: datetime, place: str, reason: str | None,
                    rescheduled_at: datetime, kind: str, key: str | None, digest: str | None) -> None:
        self.meeting_at = meeting_at
        self.place = place
        self._remember(key, digest, "rescheduled")

    # statements, limited to 5 minutes per person and topic (发言限时制) ---------------------------
    def record_statement(self, participant_id: str, topic_id: str, seconds: int, summary: str, now: datetime,
                         key: str | None, digest: str) -> dict[str, Any]:
        self._require("open", doing_en="record statements", doing_zh="记录发言")
        speaker = self.participant(participant_id)
        self.topic(topic_id)
        if not speaker["present"]:
            raise RuleBroken("participants", f"{participant_id} is not present", "participant_id",
                             f"{speaker['name']} 未到会,不能记录其发言")
        before = sum(s["seconds"] for s in self.statements
                     if s["participant_id"] == participant_id and s["topic_id"] == topic_id)
        limit = int(SPEAKING_TIME.total_seconds())
        overrun = min(seconds, max(0, before + seconds - limit))
        statement = {"statement_id": f"s{len(self.statements) + 1}", "participant_id": participant_id,
                     "topic_id": topic_id, "seconds": seconds, "summary": summary, "at": now,
                     "over_limit": overrun > 0, "overrun_seconds": overrun}
        self._record_statement(statement, key, digest)
        return statement

    @event("StatementRecorded")
    def _record_statement(self, statement: dict[str, Any], key: str | None, digest: str | None) -> None:
        self.statements.append(statement)
        self._remember(key, digest, statement["statement_id"])

    # disagreements, by the named recorder (观点记录制) ------------------------------------------
    def record_disagreement(self, topic_id: str, point: str, positions: list[str], now: datetime,
                            key: str | None, digest: str) -> str:
        self._require("open", doing_en="record disagreements", doing_zh="记录分歧点")
        self.topic(topic_id)
        if not self.recorder:
            raise RuleBroken("recorder", "no recorder was named when the meeting opened", "recorder",
                             "开会时未指定记录人")
        recorder = self.participant(self.recorder)["name"]
        item = {"disagreement_id": f"d{len(self.disagreements) + 1}", "topic_id": topic_id, "point": point,
                "positions": positions, "recorded_by": recorder, "at": now}
        self._record_disagreement(item, key, digest)
        return item["disagreement_id"]

    @event("DisagreementRecorded")
    def _record_disagreement(self, disagreement: dict[str, Any], key: str | None, digest: str | None) -> None:
        self.disagreements.append(disagreement)
        self._remember(key, digest, disagreement["disagreement_id"])

    # motions and votes (表决票决制) ------------------------------------------------------------
    def table_motion(self, text: str, topic_id: str | None, mode: str, major: bool, majority: str,
                     now: datetime, key: str | None, digest: str) -> tuple[str, list[str]]:
        """Table a motion; for a secret ballot, returns the ballot codes to hand out (shown once only)."""
        self._require("open", doing_en="table a motion", doing_zh="提出表决事项")
        if topic_id:
            self.topic(topic_id)
        if major and mode != "secret":
            raise RuleBroken("secret_ballot", "a major matter must be decided by secret ballot", "mode",
                             "重大事项须采用无记名投票")
        present, members = len(self.voters_present()), len(self.voters())
        if not QUORUM.met(present, members):
            raise RuleBroken("quorum", f"{present} of {members} voting members present", "present",
                             f"有表决权的成员 {members} 人,到会 {present} 人,未达法定人数")
        motion_id = f"m{len(self.motions) + 1}"
        codes = [secrets.token_urlsafe(12) for _ in range(present)] if mode == "secret" else []
        ballots = sorted(ballot_digest(self.id, motion_id, c) for c in codes)
        self._table_motion({"motion_id": motion_id, "text": text, "topic_id": topic_id, "mode": mode,
                            "major": major, "majority": majority, "eligible": present, "tabled_at": now},
                           ballots, key, digest)
        return motion_id, codes

    @event("MotionTabled")
    def _table_motion(self, motion: dict[str, Any], ballots: list[str], key: str | None,
                      digest: str | None) -> None:
        self.motions.append({**motion, "status": "voting", "votes": {}, "ballots": ballots, "used": [],
                             "counts": {c: 0 for c in CHOICES}, "result": None})
        self._remember(key, digest, motion["motion_id"])

    def reissue_ballots(self, motion_id: str) -> list[str]:
        """New ballot codes (the old ones void) when they were lost before anyone voted."""
        motion = self._voting(motion_id)
        if motion["mode"] != "secret":
            raise InvalidInput("only a secret ballot has ballot codes", "motion_id", "只有无记名投票才有选票")
        if motion["used"]:
            raise RuleBroken("one_vote", "ballots cannot be reissued once voting has begun", "motion_id",
                             "已有人投票,不能重新发放选票")
        codes = [secrets.token_urlsafe(12) for _ in range(motion["eligible"])]
        self._reissue(motion_id, sorted(ballot_digest(self.id, motion_id, c) for c in codes))
        return codes

    @event("BallotsReissued")
    def _reissue(self, motion_id: str, ballots: list[str]) -> None:
        self.motion(motion_id)["ballots"] = ballots

    def _voting(self, motion_id: str) -> dict[str, Any]:
        self._require("open", doing_en="vote", doing_zh="投票")
        motion = self.motion(motion_id)
        if motion["status"] != "voting":
            raise RuleBroken("procedure", f"voting on {motion_id} is over", "motion_id", "该事项已计票,投票已结束")
        return motion

    def cast_open_vote(self, motion_id: str, participant_id: str, choice: str) -> bool:
        """A named vote (记名表决). Returns False when the same vote was already recorded (a retry)."""
        motion = self._voting(motion_id)
        if motion["mode"] != "open":
            raise RuleBroken("secret_ballot", "a secret ballot is cast with a ballot code, not a name",
                             "participant_id", "无记名投票只凭选票投票,不记录投票人")
        voter = self.participant(participant_id)
        if voter["role"] not in VOTERS[self.kind] or not voter["present"]:
            raise RuleBroken("one_vote", f"{participant_id} has no vote at this meeting", "participant_id",
                             f"{voter['name']} 在本次会议没有表决权或未到会")
        earlier = motion["votes"].get(participant_id)
        if earlier is not None:
            if earlier == choice:
                return False
            raise RuleBroken("one_vote", f"{participant_id} has already voted on {motion_id}", "participant_id",
                             f"{voter['name']} 已就该事项投过票")
        self._cast_open(motion_id, participant_id, choice)
        self._tally_when_complete(motion)
        return True

    @event("VoteCast")
    def _cast_open(self, motion_id: str, participant_id: str, choice: str) -> None:
        motion = self.motion(motion_id)
        motion["votes"][participant_id] = choice
        motion["counts"][choice] += 1

    def cast_secret_ballot(self, motion_id: str, code: str, choice: str) -> None:
        """A ballot: its code and a choice, no person. A used or unknown code is refused."""
        motion = self._voting(motion_id)
        if motion["mode"] != "secret":
            raise InvalidInput("this motion is decided by named vote: give participant_id", "ballot",
                               "该事项为记名表决,请提供 participant_id")
        digest = ballot_digest(self.id, motion_id, code)
        if digest not in motion["ballots"]:
            raise RuleBroken("one_vote", "this ballot code was not issued for this motion", "ballot",
                             "该选票不是为本事项发放的")
        if digest in motion["used"]:
            raise RuleBroken("one_vote", "this ballot has already been cast", "ballot", "该选票已投过")
        self._cast_secret(motion_id, digest, choice)
        self._tally_when_complete(motion)

    @event("BallotCast")
    def _cast_secret(self, motion_id: str, ballot: str, choice: str) -> None:
        motion = self.motion(motion_id)
        motion["used"].append(ballot)
        motion["counts"][choice] += 1

    def _tally_when_complete(self, motion: dict[str, Any]) -> None:
        if sum(motion["counts"].values()) >= motion["eligible"]:
            self._tally(motion)

    def tally(self, motion_id: str) -> dict[str, Any]:
        motion = self._voting(motion_id)
        self._tally(motion)
        return motion["result"]

    def _tally(self, motion: dict[str, Any]) -> None:
        counts = motion["counts"]
        cast = sum(counts.values())
        rule = MAJORITIES[motion["majority"]]
        self._record_tally(motion["motion_id"], motion["mode"], motion["topic_id"], counts["for"],
                           counts["against"], counts["abstain"], rule.met(counts["for"], cast), motion["text"])

    @event("VoteTallied")
    def _record_tally(self, motion_id: str, mode: str, topic_id: str | None, yes: int, no: int, abstain: int,
                      carried: bool, text: str | None = None) -> None:
        """`text`: what was voted on, for the public notice of the result."""
        motion = self.motion(motion_id)
        motion["status"] = "counted"
        motion["result"] = {"for": yes, "against": no, "abstain": abstain, "carried": carried}

    # close, then minutes within 24 hours (会后24小时内形成会议纪要) -------------------------------
    def close(self, now: datetime, key: str | None, digest: str) -> None:
        self._require("open", doing_en="close the meeting", doing_zh="宣布闭会")
        for motion in self.motions:
            if motion["status"] == "voting":
                self._tally(motion)
        self._close(now, key, digest)

    @event("Closed")
    def _close(self, closed_at: datetime, key: str | None, digest: str | None) -> None:
        self.closed_at = closed_at
        self.status = "closed"
        self._remember(key, digest, "closed")

    def record_minutes(self, resolutions: list[dict[str, Any]], summary: str, now: datetime, key: str | None,
                       digest: str) -> list[dict[str, Any]]:
        self._require("closed", doing_en="record the minutes", doing_zh="提交会议纪要")
        assert self.closed_at is not None
        final = []
        for i, r in enumerate(resolutions):
            field = f"resolutions[{i}]"
            case_id = r.get("case_id")
            if r.get("topic_id"):
                case_id = case_id or self.topic(r["topic_id"], f"{field}.topic_id").get("case_id")
            if r.get("motion_id"):
                motion = self.motion(r["motion_id"], f"{field}.motion_id")
                if not (motion["result"] or {}).get("carried"):
                    raise RuleBroken("procedure", f"motion {r['motion_id']} was not carried", f"{field}.motion_id",
                                     "该事项未获表决通过,不能作为决议")
            if r["due"] <= self.closed_at:
                raise RuleBroken("minutes", "a resolution's deadline must come after the meeting", f"{field}.due",
                                 "决议的完成时限须晚于会议时间")
            final.append({**r, "case_id": case_id, "resolution_id": f"{self.id}-r{i + 1}"})
        late = now - self.closed_at > MINUTES_WITHIN
        titles = {t["topic_id"]: t.get("title") or t["topic_id"] for t in self.topics}
        disagreements = [f"{titles[d['topic_id']]}:{d['point']}" for d in self.disagreements]
        self._record_minutes(final, disagreements, summary, now, late, key, digest, self.kind)
        return final

    @event("Minuted")
    def _record_minutes(self, resolutions: list[dict[str, Any]], disagreements: list[str], summary: str,
                        minuted_at: datetime, late: bool, key: str | None, digest: str | None,
                        kind: str | None = None) -> None:
        self.minutes = {"resolutions": resolutions, "disagreements": disagreements, "summary": summary,
                        "minuted_at": minuted_at, "late": late}
        self.status = "minuted"
        self._remember(key, digest, "minuted")


class TopicProposal(Aggregate):
    """A topic waiting for staff to put it on an agenda: a case casework escalated to the council or the
    assembly (`source` escalation), residents' suggestion with enough co-signatures (suggestion, `case_id`
    None), or a place where the same issue keeps coming back (recurring, `case_id` None)."""

    @event("Proposed")
    def __init__(self, id: UUID, case_id: str | None, to: str, kinds: list[str], reason: str, title: str | None,
                 category: str | None, proposed_at: datetime, source: str = "escalation"):
        self.case_id = case_id
        self.source = source
        self.to = to
        self.kinds = kinds
        self.reason = reason
        self.title = title
        self.category = category
        self.proposed_at = proposed_at
        self.status = "proposed"
        self.meeting_id: str | None = None
        self.topic_id: str | None = None

    def check_confirmable(self, meeting: Meeting, field: str) -> None:
        if self.status != "proposed":
            if self.meeting_id == str(meeting.id):
                raise Conflict("this proposal is already on this meeting's agenda", field, "该议题已列入本次会议议程")
            raise Conflict(f"this proposal is already on the agenda of meeting {self.meeting_id}", field,
                           "该议题已列入另一次会议的议程")
        if meeting.kind not in self.kinds:
            raise RuleBroken("procedure", f"a case escalated to the {self.to} goes to a meeting of kind "
                             f"{' or '.join(self.kinds)}, not {meeting.kind}", field,
                             "该案件应提交" + ("居民代表大会" if self.to == "assembly" else "议事会") + "审议")

    def release(self, released_at: datetime) -> None:
        """Its meeting was cancelled: the topic waits for another one."""
        self._release(self.meeting_id, self.case_id, released_at)

    @event("Released")
    def _release(self, meeting_id: str | None, case_id: str, released_at: datetime) -> None:
        self.status = "proposed"
        self.meeting_id = self.topic_id = None

    def confirm(self, meeting_id: str, topic_id: str, confirmed_at: datetime) -> None:
        self._confirm(meeting_id, topic_id, self.case_id, confirmed_at)

    @event("Confirmed")
    def _confirm(self, meeting_id: str, topic_id: str, case_id: str, confirmed_at: datetime) -> None:
        self.status = "confirmed"
        self.meeting_id = meeting_id
        self.topic_id = topic_id


class FollowedCase(Aggregate):
    """Written no more: meetings once copied casework's facts into its log as these; the case digest is
    now a view of casework's events (projections.CaseDigest). Kept so that older logs still decode."""

    @event("Followed")
    def __init__(self, id: UUID, case_id: str):
        self.case_id = case_id
        self.facts: list[dict[str, Any]] = []

    @event("FactRecorded")
    def record(self, fact: str, at: datetime, data: dict[str, Any], source_id: str) -> None:
        self.facts.append({"fact": fact, "at": at, "data": data, "source_id": source_id})


class ResultsRelease(Aggregate):
    """The month's results release (议事成果发布): released once, with the report as it stood then."""

    @event("Released")
    def __init__(self, id: UUID, month: str, released_at: datetime, released_by: str, report: dict[str, Any]):
        self.month = month
        self.released_at = released_at
        self.released_by = released_by
        self.report = report


def span(delta: timedelta, lang: str) -> str:
    """A duration in words: 1小时30分钟 / 1 h 30 min; whole days as days."""
    minutes = int(delta.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    units = (("天", " d"), ("小时", " h"), ("分钟", " min"))
    parts = [f"{n}{u[0] if lang == 'zh' else u[1]}" for n, u in zip((days, hours, mins), units) if n]
    return ("" if lang == "zh" else " ").join(parts) or ("0分钟" if lang == "zh" else "0 min")
