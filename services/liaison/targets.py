"""The plan's headline targets as measured figures (“三个100%”: 代表联系社区覆盖率100%、群众诉求响应率100%、重点民生问题
解决率85%以上; 群众满意度90%以上; 平均响应时间), over a period:

- contact coverage: communities with a station where a reception day was held or a representative visited;
- response rate and average first response: the reception days' concerns whose case got a first response
  (assigned, verified on site or a plan proposed), and how long after the concern that came;
- resolution rate of key problems: supervised cases signed off solved;
- satisfaction: residents' answers (4–5 of 5) on supervised cases.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.store.persistence import Database

TARGETS = {"contact_coverage": 1.0, "response_rate": 1.0, "key_resolution_rate": 0.85, "satisfaction_rate": 0.90}
FIRST_RESPONSE = ("CaseAssigned", "SiteVerified", "PlanProposed")


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _coverage(db: Database, start: str, end: str) -> dict[str, Any]:
    communities = {r[0] for r in db.query("SELECT community FROM stations")}
    contacted = {r[0] for r in db.query(
        "SELECT DISTINCT r.community FROM activities a JOIN representatives r "
        "ON r.representative_id = a.representative_id WHERE a.kind IN ('reception', 'visit') AND a.at >= ? "
        "AND a.at < ?", (start, end))}
    return {"communities": len(communities), "contacted": len(communities & contacted),
            "contact_coverage": _rate(len(communities & contacted), len(communities))}


def _responses(db: Database, start: str, end: str) -> dict[str, Any]:
    concerns = [c for (doc,) in db.query("SELECT doc FROM receptions")
                for c in json.loads(doc)["concerns"] if start <= c.get("raised_at", start) < end]
    waits = []
    for c in concerns:
        rows = db.query("SELECT doc FROM case_facts WHERE issue_id = ?", (c["issue_id"],))
        steps = [h for h in (json.loads(rows[0][0])["history"] if rows else []) if h["step"] in FIRST_RESPONSE]
        if steps:
            waits.append((_at(steps[0]["at"]) - _at(c["raised_at"])).total_seconds() / 3600)
    return {"concerns": len(concerns), "responded": len(waits), "response_rate": _rate(len(waits), len(concerns)),
            "average_first_response_hours": round(sum(waits) / len(waits), 1) if waits else None}


def _supervised(db: Database, start: str, end: str) -> dict[str, Any]:
    docs = [json.loads(doc) for (doc,) in db.query("SELECT doc FROM supervisions WHERE status = 'signed_off'")]
    docs = [d for d in docs if start <= d["signed_off_at"] < end]
    solved = sum(bool(d.get("solved")) for d in docs)
    satisfied = answers = 0
    for d in docs:
        rows = db.query("SELECT satisfied, answers FROM case_facts WHERE case_id = ?", (d["case_id"],))
        if rows:
            satisfied, answers = satisfied + rows[0][0], answers + rows[0][1]
    return {"key_problems": len(docs), "solved": solved, "key_resolution_rate": _rate(solved, len(docs)),
            "answers": answers, "satisfaction_rate": _rate(satisfied, answers)}


def measured(db: Database, start: str, end: str) -> dict[str, Any]:
    figures = _coverage(db, start, end) | _responses(db, start, end) | _supervised(db, start, end)
    return {"figures": figures, "targets": TARGETS,
            "met": {k: figures[k] is not None and figures[k] >= v for k, v in TARGETS.items()}}
