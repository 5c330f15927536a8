"""meetings read models: the meeting archive index (议事档案库) and the topics proposed by casework,
projections of meetings' own log; and the case digest the monthly results release reads: casework's facts
as a view of casework's events (nothing copied into meetings' log), beside the next steps meetings took."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.meetings import results
from services.meetings.domain import Meeting, TopicProposal, month_bounds
from services.meetings.participation import SIGNATURES_NEEDED, TopicSuggestion
from shared.contracts import IntegrationEvent
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection, UpstreamView

# casework's events the digest keeps, as (fact, the field that dates it); tolerant reader: other fields kept
CASE_FACTS = {"CaseOpened": ("opened", "opened_at"), "CaseEscalated": ("escalated", None),
              "CaseResolved": ("resolved", "resolved_at"), "CaseReopened": ("reopened", None),
              "CaseClosed": ("closed", "closed_at"), "CaseMerged": ("merged", None)}


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str)


class MeetingIndex(Projection):
    """One row per meeting: `GET /meetings?from=&to=&kind=`."""

    name = "meeting_index"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS meeting_index (meeting_id TEXT PRIMARY KEY, kind TEXT NOT NULL, "
               "meeting_at TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS meeting_index_at ON meeting_index (meeting_at, kind)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS meeting_index")

    def apply(self, tx: Transaction, event: Any) -> None:
        meeting_id = str(event.originator_id)
        if isinstance(event, Meeting.Scheduled):
            doc = {"meeting_id": meeting_id, "kind": event.kind, "title": event.title, "place": event.place,
                   "meeting_at": rfc3339(event.meeting_at), "status": "scheduled", "topics": []}
            tx.run("INSERT INTO meeting_index (meeting_id, kind, meeting_at, status, doc) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (meeting_id) DO NOTHING",
                   (meeting_id, event.kind, doc["meeting_at"], "scheduled", _dumps(doc)))
            return
        changes: dict[str, Any] = {}
        if isinstance(event, Meeting.AgendaPublished):
            changes["topics"] = [{"topic_id": t["topic_id"], "title": t.get("title"), "case_id": t.get("case_id")}
                                 for t in event.agenda]
            changes["agenda_published_at"] = rfc3339(event.published_at)
        elif isinstance(event, Meeting.Opened):
            changes["status"] = "open"
        elif isinstance(event, Meeting.Closed):
            changes |= {"status": "closed", "closed_at": rfc3339(event.closed_at)}
        elif isinstance(event, Meeting.Cancelled):
            changes |= {"status": "cancelled", "cancelled_at": rfc3339(event.cancelled_at), "reason": event.reason}
        elif isinstance(event, Meeting.Rescheduled):
            changes |= {"meeting_at": rfc3339(event.meeting_at), "place": event.place}
        elif isinstance(event, Meeting.Minuted):
            changes |= {"status": "minuted", "minuted_at": rfc3339(event.minuted_at), "minutes_late": event.late,
                        "resolutions": len(event.resolutions)}
        if changes:
            row = tx.one("SELECT doc FROM meeting_index WHERE meeting_id = ?", (meeting_id,))
            if row is not None:
                doc = json.loads(row[0]) | changes
                tx.run("UPDATE meeting_index SET status = ?, meeting_at = ?, doc = ? WHERE meeting_id = ?",
                       (doc["status"], doc["meeting_at"], _dumps(doc), meeting_id))


class ProposalIndex(Projection):
    """Proposed topics (escalated cases, residents' suggestions, recurring issues), proposed and confirmed."""

    name = "topic_proposals"
    version = 2  # 2: residents' suggestions and recurring issues, which name no case

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS topic_proposals (proposal_id TEXT PRIMARY KEY, case_id TEXT, "
               "status TEXT NOT NULL, proposed_at TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS topic_proposals")

    def apply(self, tx: Transaction, event: Any) -> None:
        pid = str(event.originator_id)
        if isinstance(event, TopicProposal.Proposed):
            doc = {"proposal_id": pid, "case_id": event.case_id, "to": event.to, "kinds": list(event.kinds),
                   "title": event.title, "category": event.category, "reason": event.reason,
                   "source": getattr(event, "source", "escalation"),
                   "proposed_at": rfc3339(event.proposed_at), "status": "proposed"}
            tx.run("INSERT INTO topic_proposals (proposal_id, case_id, status, proposed_at, doc) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (proposal_id) DO NOTHING",
                   (pid, event.case_id, "proposed", doc["proposed_at"], _dumps(doc)))
        elif isinstance(event, TopicProposal.Confirmed):
            row = tx.one("SELECT doc FROM topic_proposals WHERE proposal_id = ?", (pid,))
            if row is not None:
                doc = json.loads(row[0]) | {"status": "confirmed", "meeting_id": event.meeting_id,
                                            "topic_id": event.topic_id, "confirmed_at": rfc3339(event.confirmed_at)}
                tx.run("UPDATE topic_proposals SET status = ?, doc = ? WHERE proposal_id = ?",
                       ("confirmed", _dumps(doc), pid))
        elif isinstance(event, TopicProposal.Released):  # its meeting was cancelled
            row = tx.one("SELECT doc FROM topic_proposals WHERE proposal_id = ?", (pid,))
            if row is not None:
                doc = {k: v for k, v in json.loads(row[0]).items() if k not in ("meeting_id", "topic_id", "confirmed_at")}
                tx.run("UPDATE topic_proposals SET status = ?, doc = ? WHERE proposal_id = ?",
                       ("proposed", _dumps(doc | {"status": "proposed"}), pid))


class SuggestionIndex(Projection):
    """Residents' topic suggestions (议题征集) as the public reads them: masked text, signature counts, status."""

    name = "topic_suggestions"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS topic_suggestions (suggestion_id TEXT PRIMARY KEY, status TEXT NOT NULL, "
               "suggested_at TEXT NOT NULL, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS topic_suggestions")

    def apply(self, tx: Transaction, event: Any) -> None:
        sid = str(event.originator_id)
        if isinstance(event, TopicSuggestion.Suggested):
            doc = {"suggestion_id": sid, "title": event.title, "background": event.background,
                   "category": event.category, "suggested_at": rfc3339(event.suggested_at), "signatures": 1,
                   "needed": SIGNATURES_NEEDED, "status": "collecting", "proposal_id": None}
            tx.run("INSERT INTO topic_suggestions (suggestion_id, status, suggested_at, doc) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (suggestion_id) DO NOTHING", (sid, "collecting", doc["suggested_at"], _dumps(doc)))
        elif isinstance(event, (TopicSuggestion.Signed, TopicSuggestion.PutBeforeCouncil)):
            row = tx.one("SELECT doc FROM topic_suggestions WHERE suggestion_id = ?", (sid,))
            if row is None:
                return
            doc = json.loads(row[0]) | {"signatures": event.signatures}
            if isinstance(event, TopicSuggestion.PutBeforeCouncil):
                doc |= {"status": "proposed", "proposal_id": event.proposal_id}
            tx.run("UPDATE topic_suggestions SET status = ?, doc = ? WHERE suggestion_id = ?",
                   (doc["status"], _dumps(doc), sid))


def list_suggestions(db: Database, status: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    sql = "SELECT doc FROM topic_suggestions" + (" WHERE status = ?" if status else "")
    rows = db.query(sql + " ORDER BY suggested_at DESC, suggestion_id LIMIT ? OFFSET ?",
                    (*((status,) if status else ()), limit, offset))
    return [json.loads(r[0]) for r in rows]


class CaseDigest(UpstreamView):
    """Each case as meetings knows it: casework's facts in order. `settled_at` is set while the case stands
    resolved or closed, so a month's release reads only cases open at some time in that month."""

    name = "case_digest"
    version = 3  # 3: a view of casework's events (2: of meetings' FollowedCase copies)
    upstream = "casework"

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_digest (case_id TEXT PRIMARY KEY, first_at TEXT NOT NULL, "
               "settled_at TEXT, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_digest")

    def apply(self, tx: Transaction, event: IntegrationEvent) -> None:
        if event.name not in CASE_FACTS or "case_id" not in event.data:
            return
        fact, time_field = CASE_FACTS[event.name]
        data = dict(event.data)
        at = rfc3339(_time(data.get(time_field)) or event.time) if time_field else rfc3339(event.time)
        case_id = str(data["case_id"])
        row = tx.one("SELECT doc FROM case_digest WHERE case_id = ?", (case_id,))
        doc = json.loads(row[0]) if row else {"case_id": case_id, "facts": []}
        doc["facts"].append({"fact": fact, "at": at, "data": data})
        doc["facts"].sort(key=lambda f: f["at"])
        doc["first_at"] = doc["facts"][0]["at"]
        for key in ("issue_id", "tier", "category", "title", "reported_at"):
            if data.get(key):
                doc[key] = data[key]
        if isinstance(data.get("due"), dict):  # casework's deadlines {verify_by?, plan_by?, resolve_by?}
            doc["due"] = data["due"]
        elif isinstance(data.get("due"), str):  # a reopening carries its new resolve-by time only
            doc["due"] = {"resolve_by": data["due"]}
        settled = None  # since when the case stands settled: its first resolution after the last reopening
        for f in doc["facts"]:
            if f["fact"] in ("resolved", "closed", "merged"):  # a merged duplicate follows its original
                settled = settled or f["at"]
            elif f["fact"] == "reopened":
                settled = None
        tx.run("INSERT INTO case_digest (case_id, first_at, settled_at, doc) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (case_id) DO UPDATE SET first_at = excluded.first_at, "
               "settled_at = excluded.settled_at, doc = excluded.doc",
               (case_id, doc["first_at"], settled, _dumps(doc)))


class CaseSteps(Projection):
    """What meetings did about each case: proposed, on an agenda, a resolution with owner and deadline."""

    name = "case_steps"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_steps (case_id TEXT PRIMARY KEY, steps TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_steps")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, TopicProposal.Event) and getattr(event, "case_id", None) is None:
            return  # a residents' or a recurring topic: no case to follow
        if isinstance(event, Meeting.Minuted):
            for r in event.resolutions:
                if r.get("case_id"):
                    self._add_step(tx, r["case_id"], {"kind": "resolution", "meeting_id": str(event.originator_id),
                                                      "text": r["text"], "owner": r["owner"], "due": rfc3339(r["due"])})
        elif isinstance(event, TopicProposal.Proposed):
            self._add_step(tx, event.case_id, {"kind": "proposed", "proposal_id": str(event.originator_id),
                                               "to": event.to, "at": rfc3339(event.proposed_at)})
        elif isinstance(event, TopicProposal.Released):
            self._change_steps(tx, event.case_id, lambda steps: [
                s for s in steps if not (s["kind"] == "on_agenda" and s["proposal_id"] == str(event.originator_id))])
        elif isinstance(event, TopicProposal.Confirmed):
            self._add_step(tx, event.case_id, {"kind": "on_agenda", "proposal_id": str(event.originator_id),
                                               "meeting_id": event.meeting_id, "topic_id": event.topic_id})

    @classmethod
    def _add_step(cls, tx: Transaction, case_id: str, step: dict[str, Any]) -> None:
        cls._change_steps(tx, case_id, lambda steps: [*steps, step])

    @staticmethod
    def _change_steps(tx: Transaction, case_id: str, change: Any) -> None:
        row = tx.one("SELECT steps FROM case_steps WHERE case_id = ?", (case_id,))
        tx.run("INSERT INTO case_steps (case_id, steps) VALUES (?, ?) ON CONFLICT (case_id) DO UPDATE SET "
               "steps = excluded.steps", (case_id, _dumps(change(json.loads(row[0]) if row else []))))


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def list_meetings(db: Database, start: str | None, end: str | None, kind: str | None, limit: int,
                  offset: int) -> list[dict[str, Any]]:
    where, params = [], []
    for clause, value in (("meeting_at >= ?", start), ("meeting_at < ?", end), ("kind = ?", kind)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = "SELECT doc FROM meeting_index" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY meeting_at, meeting_id LIMIT ? OFFSET ?", (*params, limit, offset))
    return [json.loads(r[0]) for r in rows]


def meeting_times(db: Database, meeting_ids: set[str]) -> dict[str, dict[str, Any]]:
    if not meeting_ids:
        return {}
    ids = sorted(meeting_ids)
    rows = db.query(f"SELECT meeting_id, doc FROM meeting_index WHERE meeting_id IN ({', '.join('?' * len(ids))})",
                    tuple(ids))
    return {r[0]: json.loads(r[1]) for r in rows}


def list_proposals(db: Database, status: str | None) -> list[dict[str, Any]]:
    sql = "SELECT doc FROM topic_proposals" + (" WHERE status = ?" if status else "")
    rows = db.query(sql + " ORDER BY proposed_at, proposal_id", (status,) if status else ())
    return [json.loads(r[0]) for r in rows]


def next_meetings(db: Database, after: str) -> list[dict[str, Any]]:
    """Scheduled meetings from `after` on, soonest first (where a proposed topic can still go)."""
    rows = db.query("SELECT doc FROM meeting_index WHERE status = 'scheduled' AND meeting_at >= ? "
                    "ORDER BY meeting_at, meeting_id", (after,))
    return [json.loads(r[0]) for r in rows]


def cases_in_month(db: Database, start: str, end: str) -> list[dict[str, Any]]:
    """Cases first known before `end` and not settled before `start`."""
    rows = db.query("SELECT d.doc, s.steps FROM case_digest d LEFT JOIN case_steps s ON s.case_id = d.case_id "
                    "WHERE d.first_at < ? AND (d.settled_at IS NULL OR d.settled_at >= ?) "
                    "ORDER BY d.first_at, d.case_id", (end, start))
    return [json.loads(doc) | {"next_steps": json.loads(steps) if steps else []} for doc, steps in rows]


def results_report(db: Database, month: str, now: datetime, since: datetime | None = None) -> dict[str, Any]:
    """The month's results as the case digest stands (a preview until released); `since`: see results.build."""
    start, end = month_bounds(month)
    cases = cases_in_month(db, rfc3339(since or start), rfc3339(end))
    named = {s["meeting_id"] for c in cases for s in c["next_steps"] if s.get("meeting_id")}
    return results.build(month, cases, meeting_times(db, named), now, since)
