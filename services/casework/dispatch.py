"""The responsible party's side of a case (派单), as a 12345 hotline runs it: acknowledge (签收) within a clock
of its own, return with a reason (退单), request an extension (延期申请). Pure rules.

None of it moves the resident's clock: a case's deadlines run from the report whatever the party does
(hotlines are known for 退单拉锯, a case bounced between departments to stall it). What a party does is
counted against it instead (`party_stats`), for the unit lights.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from services.casework.calendar import WorkingCalendar
from services.casework.clocks import ClockRule

# 签收时限: an urgent case must be taken up within 2 hours (it owes an on-site check within 24 h), others by the
# end of the next working day.
ACKNOWLEDGE: dict[str, ClockRule] = {
    "urgent": ClockRule("acknowledge", "hours", 2, timedelta(minutes=30)),
    "routine": ClockRule("acknowledge", "workdays", 1, timedelta(hours=4)),
    "complex": ClockRule("acknowledge", "workdays", 1, timedelta(hours=4)),
}

# what became of a dispatch the party returned (退单)
RETURN_STATES = {"pending": "待重新派单", "disputed": "有异议,待社区书记裁定", "upheld": "退单成立",
                 "overruled": "退单不成立", "accepted": "已重新派单"}


def acknowledge_by(tier: str, assigned_at: datetime, calendar: WorkingCalendar) -> datetime:
    return ACKNOWLEDGE[tier].due(assigned_at, calendar)


def new_dispatch(party: str, party_kind: str, at: datetime, due: datetime | None, via: str) -> dict[str, Any]:
    """One sending of the case to a party. `via`: assignment (a person or the category rule) or ruling (the
    secretary sent a returned case back to the party that returned it: not a new case for its rates)."""
    return {"party": party, "party_kind": party_kind, "assigned_at": at, "acknowledge_by": due,
            "acknowledged_at": None, "returned_at": None, "return_reason": None, "return_state": None, "via": via,
            "missed_at": None}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _party_row(dispatches: list[dict[str, Any]], extensions: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    received = [d for d in dispatches if d["via"] == "assignment"]
    clocked = [d for d in dispatches if d["acknowledge_by"] is not None]
    acknowledged = [d for d in clocked if d["acknowledged_at"] is not None]
    on_time = [d for d in acknowledged if d["acknowledged_at"] <= d["acknowledge_by"]]
    missed = [d for d in clocked if d["acknowledged_at"] is None and d["returned_at"] is None
              and now >= d["acknowledge_by"]]
    hours = [(d["acknowledged_at"] - d["assigned_at"]).total_seconds() / 3600 for d in acknowledged]
    returns = [d for d in dispatches if d["returned_at"] is not None]
    overruled = [d for d in returns if d["return_state"] == "overruled"]
    settled = len(acknowledged) + len(missed)
    return {
        "party_kind": dispatches[-1]["party_kind"],
        "dispatches": len(received),
        "acknowledged": len(acknowledged),
        "acknowledged_on_time": len(on_time),
        "acknowledge_missed": len(missed),  # past its 签收 clock, neither acknowledged nor returned
        "acknowledge_on_time_rate": _rate(len(on_time), settled),
        "acknowledge_hours_median": round(median(hours), 2) if hours else None,
        "returns": len(returns),
        "return_rate": _rate(len(returns), len(received)),
        "returns_overruled": len(overruled),  # 退单不成立: the secretary sent it back
        "extension_requests": len(extensions),
        "extensions_approved": sum(1 for e in extensions if e["decision"] == "approved"),
    }


def party_stats(cases: list[Any], now: datetime) -> dict[str, dict[str, Any]]:
    """Per party (by name): how it takes up and returns what it is sent, over the given cases."""
    dispatches: dict[str, list[dict[str, Any]]] = {}
    extensions: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        for d in case.dispatches:
            dispatches.setdefault(d["party"], []).append(d)
        for e in case.extensions:
            extensions.setdefault(e["party"], []).append(e)
    return {party: _party_row(ds, extensions.get(party, []), now) for party, ds in sorted(dispatches.items())}
