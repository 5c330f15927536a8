"""12345-style rates over the cases opened in a period (承办考核): response, on-time, resolution, satisfaction."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.casework.domain import Case
from services.casework.triage import TIERS


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def responded(case: Case) -> bool:
    """Someone acted on it: verified on site, proposed a plan, or resolved it (auto-assignment is not a response)."""
    return bool(case.verified_at or case.plan or case.status != "open")


def on_time_counts(case: Case, now: datetime) -> list[tuple[int, int]]:
    """(met on time, 1) for every deadline that is settled: met, or already past due."""
    out = []
    for d in case.deadlines.values():
        if d["met_at"] is not None:
            out.append((int(d["met_at"] <= d["due"]), 1))
        elif now >= d["due"]:
            out.append((0, 1))
    return out


def rates(cases: list[Case], now: datetime) -> dict[str, Any]:
    """Per tier and overall. Satisfaction counts satisfied responses (4 or 5 of 5) over all responses."""

    def summarise(group: list[Case]) -> dict[str, Any]:
        settled = [pair for c in group for pair in on_time_counts(c, now)]
        satisfied = sum(s for c in group for s, _ in c.responses)
        answers = sum(t for c in group for _, t in c.responses)
        resolved = sum(1 for c in group if c.status in ("resolved", "closed"))
        return {
            "cases": len(group),
            "response_rate": _rate(sum(1 for c in group if responded(c)), len(group)),
            "on_time_rate": _rate(sum(m for m, _ in settled), len(settled)),
            "resolution_rate": _rate(resolved, len(group)),
            "closed": sum(1 for c in group if c.status == "closed"),
            "satisfaction_rate": _rate(satisfied, answers),
            "satisfaction_responses": answers,
        }

    cases = [c for c in cases if c.status != "merged"]  # a repeated report is counted in the case it joined
    return {"overall": summarise(cases), "by_tier": {t: summarise([c for c in cases if c.tier == t]) for t in TIERS}}
