"""The responsible party's side of a case (派单), as a 12345 hotline runs it: acknowledge (签收) within a clock
of its own, return with a reason (退单), request an extension (延期申请). Pure rules.

None of it moves the resident's clock: a case's deadlines run from the report whatever the party does
(hotlines are known for 退单拉锯, a case bounced between departments to stall it). What a party does is
counted against it instead (`party_stats.py`), for the unit lights.
"""
from __future__ import annotations

from datetime import datetime, timedelta
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
