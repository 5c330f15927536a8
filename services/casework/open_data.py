"""casework's open data (开放数据): the ledger and the three rates of a month, anonymised.

The ledger's rows keep what the public ledger (`GET /cases`) shows minus every typed text: no title, plan or
summary (people type them, and masking is a rule of thumb; the category says what a researcher needs). Places
stop at the building.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.casework.domain import Case
from services.casework.stats import on_time_counts, rates
from services.casework.triage import TIERS
from shared.contracts.envelope import rfc3339

LEDGER_COLUMNS = ("case_id", "category", "tier", "status", "community", "building", "party_kind", "party",
                  "reported_at", "opened_at", "resolved_at", "closed_at", "deadlines_settled", "deadlines_on_time",
                  "overdue", "satisfaction_responses", "satisfied_responses")
STATISTICS_COLUMNS = ("tier", "cases", "response_rate", "on_time_rate", "resolution_rate", "closed",
                      "satisfaction_rate", "satisfaction_responses")


def ledger_rows(cases: list[Case], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for case in sorted(cases, key=lambda c: (c.opened_at, str(c.id))):
        settled = on_time_counts(case, now)
        rows.append({
            "case_id": str(case.id), "category": case.category, "tier": case.tier, "status": case.status,
            "community": case.community, "building": case.building, "party_kind": case.party_kind, "party": case.party,
            "reported_at": rfc3339(case.reported_at), "opened_at": rfc3339(case.opened_at),
            "resolved_at": rfc3339(case.resolved_at) if case.resolved_at else None,
            "closed_at": rfc3339(case.closed_at) if case.closed_at else None,
            "deadlines_settled": len(settled), "deadlines_on_time": sum(m for m, _ in settled),
            "overdue": any(d["met_at"] is None and now >= d["due"] for d in case.deadlines.values())
            and case.status not in ("closed", "merged"),
            "satisfaction_responses": sum(t for _, t in case.responses),
            "satisfied_responses": sum(s for s, _ in case.responses),
        })
    return rows


def statistics_rows(cases: list[Case], now: datetime) -> list[dict[str, Any]]:
    """One row per tier and one for all (`tier` = all): the rates `GET /stats` gives."""
    body = rates(cases, now)
    return [{"tier": "all", **body["overall"]}, *({"tier": t, **body["by_tier"][t]} for t in TIERS)]
