"""Per responsible party (承办单位): how it takes up, returns and keeps the clocks of what it is sent, over the
cases opened in a period — `GET /stats/parties`, what the unit lights (单位亮灯) read."""
from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

from services.casework.stats import on_time_counts


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _party_row(dispatches: list[dict[str, Any]], extensions: list[dict[str, Any]], settled: list[tuple[int, int]],
               now: datetime) -> dict[str, Any]:
    received = [d for d in dispatches if d["via"] == "assignment"]
    clocked = [d for d in dispatches if d["acknowledge_by"] is not None]
    acknowledged = [d for d in clocked if d["acknowledged_at"] is not None]
    on_time = [d for d in acknowledged if d["acknowledged_at"] <= d["acknowledge_by"]]
    missed = [d for d in clocked if d["acknowledged_at"] is None and d["returned_at"] is None
              and now >= d["acknowledge_by"]]
    hours = [(d["acknowledged_at"] - d["assigned_at"]).total_seconds() / 3600 for d in acknowledged]
    returns = [d for d in dispatches if d["returned_at"] is not None]
    overruled = [d for d in returns if d["return_state"] == "overruled"]
    clocks = len(acknowledged) + len(missed)
    return {
        "party_kind": dispatches[-1]["party_kind"],
        "dispatches": len(received),
        "acknowledged": len(acknowledged),
        "acknowledged_on_time": len(on_time),
        "acknowledge_missed": len(missed),  # past its 签收 clock, neither acknowledged nor returned
        "acknowledge_on_time_rate": _rate(len(on_time), clocks),
        "acknowledge_hours_median": round(median(hours), 2) if hours else None,
        "returns": len(returns),
        "return_rate": _rate(len(returns), len(received)),
        "returns_overruled": len(overruled),  # 退单不成立: the secretary sent it back
        "extension_requests": len(extensions),
        "extensions_approved": sum(1 for e in extensions if e["decision"] == "approved"),
        # the resident's deadlines of the cases it holds now, met on time over settled (met, or past due)
        "deadlines_settled": len(settled),
        "on_time_rate": _rate(sum(m for m, _ in settled), len(settled)),
    }


def party_stats(cases: list[Any], now: datetime) -> dict[str, dict[str, Any]]:
    """Per party (by name): how it takes up and returns what it is sent, over the given cases."""
    dispatches: dict[str, list[dict[str, Any]]] = {}
    extensions: dict[str, list[dict[str, Any]]] = {}
    settled: dict[str, list[tuple[int, int]]] = {}
    for case in cases:
        for d in case.dispatches:
            dispatches.setdefault(d["party"], []).append(d)
        for e in case.extensions:
            extensions.setdefault(e["party"], []).append(e)
        if case.dispatches and case.party == case.dispatches[-1]["party"]:
            settled.setdefault(case.party, []).extend(on_time_counts(case, now))
    return {party: _party_row(ds, extensions.get(party, []), settled.get(party, []), now)
            for party, ds in sorted(dispatches.items())}
