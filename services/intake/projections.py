"""intake read models: the issue index (by tracking code, month, category), for residents and staff, a
projection of intake's log; and each issue's case as casework tells it (its status and timeline), a view
of casework's events (nothing of casework's is copied into intake's log)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.intake.domain import SHANGHAI, Draft, Issue, public_text
from services.intake.duplicates import OPEN, WINDOW, Candidate
from services.intake.progress import CASE_STEPS, SUPERVISION_STEPS, CaseSoFar
from shared.contracts import IntegrationEvent
from shared.contracts.envelope import rfc3339
from shared.masking import public_point
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection, UpstreamView

# an issue's status in lists: a merged duplicate stays merged; else its case's, once casework opened one
STATUS = "(CASE WHEN i.status = 'merged' THEN 'merged' ELSE COALESCE(c.status, i.status) END)"
JOINED = "issue_index i LEFT JOIN case_progress c ON c.issue_id = i.issue_id"


class IssueIndex(Projection):
    """One row per issue; `month` is the Asia/Shanghai month it was reported in (for monthly lists)."""

    name = "issue_index"
    version = 5  # 5: the point rounded to the building (public_point); 4: the case's progress is the case_progress
    # view's; 3: titles masked by shared/masking.py

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS issue_index (issue_id TEXT PRIMARY KEY, tracking_code TEXT NOT NULL "
               "UNIQUE, month TEXT NOT NULL, category TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, "
               "reported_at TEXT NOT NULL, community TEXT NOT NULL, building TEXT, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS issue_index_month ON issue_index (month, category, reported_at)")
        tx.run("CREATE INDEX IF NOT EXISTS issue_index_place ON issue_index (community, category, reported_at)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS issue_index")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Issue.Reported):
            report = event.report
            doc = {"issue_id": str(event.originator_id), "channel": report["channel"], "category": event.category, "tags": list(event.tags),
                   "title": public_text(report["title"], report), "location": public_point(report["location"]),
                   "reported_at": rfc3339(event.reported_at), "status": "received",
                   "updated_at": rfc3339(event.reported_at)}
            tx.run("INSERT INTO issue_index (issue_id, tracking_code, month, category, channel, status, "
                   "reported_at, community, building, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (issue_id) DO NOTHING",
                   (doc["issue_id"], event.tracking_code, event.reported_at.astimezone(SHANGHAI).strftime("%Y-%m"),
                    event.category, report["channel"], "received", doc["reported_at"],
                    report["location"]["community"], report["location"].get("building"),
                    json.dumps(doc, ensure_ascii=False)))
        elif isinstance(event, Issue.Merged):
            row = tx.one("SELECT doc FROM issue_index WHERE issue_id = ?", (str(event.originator_id),))
            if row is not None:
                doc = json.loads(row[0]) | {"status": "merged", "merged_into": event.into_issue_id,
                                            "updated_at": rfc3339(event.at)}
                tx.run("UPDATE issue_index SET status = ?, doc = ? WHERE issue_id = ?",
                       ("merged", json.dumps(doc, ensure_ascii=False), str(event.originator_id)))


class CaseProgress(UpstreamView):
    """Each issue's case as casework tells it (进度查询): status, facts and timeline."""

    name = "case_progress"
    version = 1
    upstream = "casework"

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_progress (issue_id TEXT PRIMARY KEY, status TEXT NOT NULL, "
               "doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_progress")

    def apply(self, tx: Transaction, event: IntegrationEvent) -> None:
        if event.name not in CASE_STEPS or "issue_id" not in event.data:
            return
        issue_id = str(event.data["issue_id"])
        row = tx.one("SELECT doc FROM case_progress WHERE issue_id = ?", (issue_id,))
        case = _case(row[0] if row else None)
        case.step(event.name, event.data, event.time)
        tx.run("INSERT INTO case_progress (issue_id, status, doc) VALUES (?, ?, ?) ON CONFLICT (issue_id) "
               "DO UPDATE SET status = excluded.status, doc = excluded.doc",
               (issue_id, case.status, json.dumps({"case": case.case, "timeline": case.timeline}, ensure_ascii=False)))


class CaseSupervision(UpstreamView):
    """A people's congress representative's supervision of each issue's case (代表督办), as liaison tells it."""

    name = "case_supervision"
    version = 1
    upstream = "liaison"

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS case_supervision (issue_id TEXT PRIMARY KEY, doc TEXT NOT NULL)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS case_supervision")

    def apply(self, tx: Transaction, event: IntegrationEvent) -> None:
        if event.name not in SUPERVISION_STEPS or "issue_id" not in event.data:
            return
        issue_id, (step_zh, facts) = str(event.data["issue_id"]), SUPERVISION_STEPS[event.name]
        row = tx.one("SELECT doc FROM case_supervision WHERE issue_id = ?", (issue_id,))
        entries = json.loads(row[0]) if row else []
        entries.append({"at": rfc3339(event.time), "step": event.name, "step_zh": step_zh,
                        **{k: event.data[k] for k in facts if k in event.data}})
        tx.run("INSERT INTO case_supervision (issue_id, doc) VALUES (?, ?) ON CONFLICT (issue_id) "
               "DO UPDATE SET doc = excluded.doc", (issue_id, json.dumps(entries, ensure_ascii=False)))


def _case(doc: str | None, supervision: str | None = None) -> CaseSoFar:
    stored = json.loads(doc) if doc else {}
    return CaseSoFar(stored.get("case"), stored.get("timeline"), json.loads(supervision) if supervision else None)


def case_so_far(db: Database, issue_id: str) -> CaseSoFar:
    rows = db.query("SELECT doc FROM case_progress WHERE issue_id = ?", (issue_id,))
    supervision = db.query("SELECT doc FROM case_supervision WHERE issue_id = ?", (issue_id,))
    return _case(rows[0][0] if rows else None, supervision[0][0] if supervision else None)


def issue_doc(doc: str, case_doc: str | None) -> dict[str, Any]:
    """An issue as lists show it: its index entry, and its case's summary unless it stays merged."""
    entry = json.loads(doc)
    if entry.get("status") == "merged" or case_doc is None:
        return entry
    return entry | {k: v for k, v in _case(case_doc).summary().items() if v is not None}


def issue_id_by_tracking_code(db: Database, code: str) -> str | None:
    rows = db.query("SELECT issue_id FROM issue_index WHERE tracking_code = ?", (code,))
    return rows[0][0] if rows else None


def list_issues(db: Database, filters: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
    where = [f"{STATUS if column == 'status' else 'i.' + column} = ?" for column in filters]
    sql = f"SELECT i.doc, c.doc FROM {JOINED}" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY i.reported_at DESC, i.issue_id LIMIT ? OFFSET ?",
                    (*filters.values(), limit, offset))
    return [issue_doc(*r) for r in rows]


def find_issues(db: Database, ids: list[str], categories: tuple[str, ...], since: str | None, until: str | None,
                statuses: tuple[str, ...], limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """Issues by id, categories, statuses and reporting time (RFC 3339 bounds), newest first."""
    where, params = [], []
    for column, values in (("i.issue_id", ids), ("i.category", categories), (STATUS, statuses)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    for clause, value in (("i.reported_at >= ?", since), ("i.reported_at <= ?", until)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = f"SELECT i.doc, c.doc FROM {JOINED}" + (" WHERE " + " AND ".join(where) if where else "")
    return [issue_doc(*r) for r in db.query(sql + " ORDER BY i.reported_at DESC, i.issue_id LIMIT ? OFFSET ?",
                                            (*params, limit, offset))]


def similar_issues(db: Database, draft: Draft) -> list[Candidate]:
    """Open issues of the same category and place reported in the window before this one, newest first:
    duplicate candidates (a report without a building may repeat one with, and the other way round)."""
    since = rfc3339(draft.reported_at - WINDOW)
    location = draft.location
    building = location.get("building")
    rows = db.query(f"SELECT i.doc, c.doc FROM {JOINED} WHERE i.community = ? AND i.category = ? AND "
                    "i.reported_at >= ? AND " + ("(i.building = ? OR i.building IS NULL) AND " if building else "")
                    + f"{STATUS} IN ({', '.join('?' * len(OPEN))}) ORDER BY i.reported_at DESC LIMIT 200",
                    (location["community"], draft.category, since, *([building] if building else []), *OPEN))
    docs = [issue_doc(*r) for r in rows]
    return [Candidate(d["issue_id"], d["title"], d["category"], d["location"],
                      datetime.fromisoformat(d["reported_at"].replace("Z", "+00:00")), d["status"]) for d in docs]
