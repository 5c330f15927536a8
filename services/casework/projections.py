"""casework read models: the ledger (问题台账) of cases."""
from __future__ import annotations

import json
from typing import Any

from services.casework.domain import Case
from shared.contracts.envelope import rfc3339
from shared.persistence import Transaction
from shared.projection import Projection


class Ledger(Projection):
    """One row per case: what `GET /cases` filters on, plus the case as JSON."""

    name = "ledger"
    version = 1

    def create(self, tx: Transaction) -> None:
        tx.run("CREATE TABLE IF NOT EXISTS ledger (case_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, status TEXT NOT NULL, "
               "tier TEXT NOT NULL, category TEXT NOT NULL, opened_at TEXT NOT NULL, doc TEXT NOT NULL)")
        tx.run("CREATE INDEX IF NOT EXISTS ledger_status_tier ON ledger (status, tier, opened_at)")

    def drop(self, tx: Transaction) -> None:
        tx.run("DROP TABLE IF EXISTS ledger")

    def apply(self, tx: Transaction, event: Any) -> None:
        if isinstance(event, Case.Opened):
            doc = {"case_id": str(event.originator_id), "issue_id": event.issue_id, "status": "open",
                   "tier": event.tier, "triage_reason": event.triage_reason, "category": event.category,
                   "title": event.title, "community": event.community,
                   "due": {k: rfc3339(v) for k, v in event.due.items()}, "opened_at": rfc3339(event.opened_at)}
            tx.run("INSERT INTO ledger (case_id, issue_id, status, tier, category, opened_at, doc) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
                   (doc["case_id"], doc["issue_id"], "open", event.tier, event.category, doc["opened_at"],
                    json.dumps(doc, ensure_ascii=False)))


def list_cases(db, status: str | None = None, tier: str | None = None, limit: int = 100,
               offset: int = 0) -> list[dict[str, Any]]:
    where, params = [], []
    for column, value in (("status", status), ("tier", tier)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT doc FROM ledger" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY opened_at DESC, case_id LIMIT ? OFFSET ?", (*params, limit, offset))
    return [json.loads(r[0]) for r in rows]


def get_case_row(db, case_id: str) -> dict[str, Any] | None:
    rows = db.query("SELECT doc FROM ledger WHERE case_id = ?", (case_id,))
    return json.loads(rows[0][0]) if rows else None
