"""A case's trace through the council (议事全程留痕): the agenda topics that named it, the votes on those topics,
the minutes' resolutions for it, the monthly results releases that listed it — a projection of meetings' own log,
read by the portal's progress page (`GET /cases/{id}/trace`, public and masked)."""
from __future__ import annotations

import json
from typing import Any

from services.meetings.domain import Meeting, ResultsRelease
from shared.contracts.envelope import rfc3339
from shared.masking import public_data
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection

RELEASE_LISTS = ("resolved", "unresolved")  # the release's two lists, as results.build names them


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, default=str)


class CaseTrace(Projection):
    """Rows `case_trace` (one per step of a case, in the log's order) and `case_topics` (which case each agenda
    topic names: a vote names its topic only)."""

    name = "case_trace"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_trace (case_id TEXT NOT NULL, step TEXT NOT NULL, "
               "seq INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (case_id, step))")
        tx.run("CREATE TABLE IF NOT EXISTS case_topics (meeting_id TEXT NOT NULL, topic_id TEXT NOT NULL, "
               "case_id TEXT NOT NULL, meeting_at TEXT NOT NULL, PRIMARY KEY (meeting_id, topic_id))")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_trace")
        tx.run("DROP TABLE IF EXISTS case_topics")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Meeting.AgendaPublished):
            self._agenda(tx, event)
        elif isinstance(event, Meeting.Cancelled):
            for case_id, topic_id in tx.all("SELECT case_id, topic_id FROM case_topics WHERE meeting_id = ?",
                                            (str(event.originator_id),)):
                _change(tx, case_id, f"topic:{event.originator_id}:{topic_id}", {"cancelled": True})
        elif isinstance(event, Meeting.VoteTallied) and event.topic_id:
            self._vote(tx, event)
        elif isinstance(event, Meeting.Minuted):
            meeting_id = str(event.originator_id)
            for i, r in enumerate(event.resolutions):
                if r.get("case_id"):
                    rid = r.get("resolution_id") or f"{meeting_id}-r{i + 1}"
                    _put(tx, r["case_id"], f"resolution:{rid}", {
                        "kind": "resolution", "meeting_id": meeting_id, "resolution_id": rid, "text": r["text"],
                        "owner": r["owner"], "due": rfc3339(r["due"]), "minuted_at": rfc3339(event.minuted_at)})
        elif isinstance(event, ResultsRelease.Released):
            for listed in RELEASE_LISTS:
                for row in event.report.get(listed) or []:
                    if row.get("case_id"):
                        _put(tx, row["case_id"], f"release:{event.month}", {
                            "kind": "release", "month": event.month, "list": listed,
                            "released_at": rfc3339(event.released_at)})

    @staticmethod
    def _agenda(tx: Transaction, event: Any) -> None:
        """Every topic naming a case, again when the agenda is announced again (a new time, more topics)."""
        meeting_id, meeting_at = str(event.originator_id), rfc3339(event.meeting_at)
        for topic in event.agenda:
            if not topic.get("case_id"):
                continue
            tx.run("INSERT INTO case_topics (meeting_id, topic_id, case_id, meeting_at) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (meeting_id, topic_id) DO UPDATE SET meeting_at = excluded.meeting_at",
                   (meeting_id, topic["topic_id"], topic["case_id"], meeting_at))
            step = f"topic:{meeting_id}:{topic['topic_id']}"
            known = tx.one("SELECT doc FROM case_trace WHERE case_id = ? AND step = ?", (topic["case_id"], step))
            published = json.loads(known[0])["published_at"] if known else rfc3339(event.published_at)
            _put(tx, topic["case_id"], step, {
                "kind": "topic", "meeting_id": meeting_id, "topic_id": topic["topic_id"], "title": topic.get("title"),
                "meeting_kind": getattr(event, "kind", None), "meeting_at": meeting_at, "published_at": published})

    @staticmethod
    def _vote(tx: Transaction, event: Any) -> None:
        meeting_id = str(event.originator_id)
        row = tx.one("SELECT case_id, meeting_at FROM case_topics WHERE meeting_id = ? AND topic_id = ?",
                     (meeting_id, event.topic_id))
        if row is None:  # a topic that names no case
            return
        _put(tx, row[0], f"vote:{meeting_id}:{event.motion_id}", {
            "kind": "vote", "meeting_id": meeting_id, "motion_id": event.motion_id, "topic_id": event.topic_id,
            "text": getattr(event, "text", None), "mode": event.mode, "for": event.yes, "against": event.no,
            "abstain": event.abstain, "carried": event.carried, "meeting_at": row[1]})


def _put(tx: Transaction, case_id: str, step: str, doc: dict[str, Any]) -> None:
    """A step as it stands now; a step seen again keeps its place in the case's order."""
    tx.run("INSERT INTO case_trace (case_id, step, seq, doc) VALUES (?, ?, "
           "(SELECT COALESCE(MAX(seq), 0) + 1 FROM case_trace WHERE case_id = ?), ?) "
           "ON CONFLICT (case_id, step) DO UPDATE SET doc = excluded.doc", (case_id, step, case_id, _dumps(doc)))


def _change(tx: Transaction, case_id: str, step: str, changes: dict[str, Any]) -> None:
    row = tx.one("SELECT doc FROM case_trace WHERE case_id = ? AND step = ?", (case_id, step))
    if row is not None:
        _put(tx, case_id, step, json.loads(row[0]) | changes)


def case_trace(db: Database, case_id: str) -> dict[str, Any]:
    """The case's steps in the council, in the order they happened, as the public may read them."""
    rows = db.query("SELECT doc FROM case_trace WHERE case_id = ? ORDER BY seq", (case_id,))
    return {"case_id": case_id, "steps": public_data([json.loads(r[0]) for r in rows])}
