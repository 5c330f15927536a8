"""intake read models: the issue index (by tracking code, month, category), for residents and staff."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.intake.domain import SHANGHAI, Draft, Issue, public_text
from services.intake.duplicates import OPEN, WINDOW, Candidate
from shared.contracts.envelope import rfc3339
from shared.store.persistence import Database, Transaction
from shared.store.projection import Projection


class IssueIndex(Projection):
    """One row per issue; `month` is the Asia/Shanghai month it was reported in (for monthly lists)."""

    name = "issue_index"
    version = 3  # 3: titles masked by the one public rule (shared/masking.py)

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
                   "title": public_text(report["title"], report), "location": report["location"],
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
        elif isinstance(event, Issue.CaseProgressed):
            row = tx.one("SELECT doc FROM issue_index WHERE issue_id = ?", (str(event.originator_id),))
            if row is not None and json.loads(row[0]).get("status") != "merged":  # a duplicate stays merged
                doc = json.loads(row[0])
                facts = {k: event.detail[k] for k in ("tier", "due", "party") if k in event.detail}
                doc |= {"status": event.status, "case_id": event.case_id, "updated_at": rfc3339(event.at),
                        "step_zh": event.detail.get("step_zh"), "case": doc.get("case", {}) | facts}
                tx.run("UPDATE issue_index SET status = ?, doc = ? WHERE issue_id = ?",
                       (event.status, json.dumps(doc, ensure_ascii=False), str(event.originator_id)))


def issue_id_by_tracking_code(db: Database, code: str) -> str | None:
    rows = db.query("SELECT issue_id FROM issue_index WHERE tracking_code = ?", (code,))
    return rows[0][0] if rows else None


def list_issues(db: Database, filters: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
    where = [f"{column} = ?" for column in filters]
    sql = "SELECT doc FROM issue_index" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY reported_at DESC, issue_id LIMIT ? OFFSET ?", (*filters.values(), limit, offset))
    return [json.loads(r[0]) for r in rows]


def find_issues(db: Database, ids: list[str], category: str | None, since: str | None, until: str | None,
                statuses: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """Issues by id, category, statuses and reporting time (RFC 3339 bounds), newest first."""
    where, params = [], []
    for column, values in (("issue_id", ids), ("status", statuses)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    for clause, value in (("category = ?", category), ("reported_at >= ?", since), ("reported_at <= ?", until)):
        if value is not None:
            where.append(clause)
            params.append(value)
    sql = "SELECT doc FROM issue_index" + (" WHERE " + " AND ".join(where) if where else "")
    return [json.loads(r[0]) for r in db.query(sql + " ORDER BY reported_at DESC, issue_id LIMIT ?", (*params, limit))]


def similar_issues(db: Database, draft: Draft) -> list[Candidate]:
    """Open issues of the same category and place reported in the window before this one, newest first:
    duplicate candidates (a report without a building may repeat one with, and the other way round)."""
    since = rfc3339(draft.reported_at - WINDOW)
    location = draft.location
    building = location.get("building")
    rows = db.query("SELECT doc FROM issue_index WHERE community = ? AND category = ? AND reported_at >= ? AND "
                    + ("(building = ? OR building IS NULL) AND " if building else "")
                    + f"status IN ({', '.join('?' * len(OPEN))}) ORDER BY reported_at DESC LIMIT 200",
                    (location["community"], draft.category, since, *([building] if building else []), *OPEN))
    docs = [json.loads(r[0]) for r in rows]
    return [Candidate(d["issue_id"], d["title"], d["category"], d["location"],
                      datetime.fromisoformat(d["reported_at"].replace("Z", "+00:00")), d["status"]) for d in docs]
