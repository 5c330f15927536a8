"""The hard clocks of each tier (时限), as data.

urgent: on-site verification within 24 h and a plan within 48 h (即接即办, clock hours);
routine: resolved within 7 working days (限时办结); complex: a feasible plan within 30 days (专项攻坚).
A yellow warning comes `warn_before` the due time, a red alert at the due time.
A working-day deadline keeps what it counted (`workdays {from, count, warn_before_s}`), so it can be
recounted when a year's holiday notice is entered later (`Case.retime`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.casework.calendar import WorkingCalendar

DEADLINE_ZH = {"verify": "现场核实", "plan": "提出方案", "resolve": "办结", "acknowledge": "签收"}


@dataclass(frozen=True)
class ClockRule:
    deadline: str  # verify | plan | resolve
    unit: str  # hours | days | workdays
    amount: int
    warn_before: timedelta

    def due(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        if self.unit == "hours":
            return start + timedelta(hours=self.amount)
        if self.unit == "days":
            return start + timedelta(days=self.amount)
        return calendar.end_of_workdays(start, self.amount)

    def counted(self, start: datetime) -> dict[str, Any] | None:
        """What a working-day deadline counted; None for clock hours and days (no calendar involved)."""
        if self.unit != "workdays":
            return None
        return {"from": start, "count": self.amount, "warn_before_s": int(self.warn_before.total_seconds())}

    def describe_zh(self) -> str:
        unit = {"hours": "小时", "days": "日", "workdays": "个工作日"}[self.unit]
        return f"{self.amount}{unit}内{DEADLINE_ZH[self.deadline]}"


CLOCKS: dict[str, tuple[ClockRule, ...]] = {
    "urgent": (ClockRule("verify", "hours", 24, timedelta(hours=6)),
               ClockRule("plan", "hours", 48, timedelta(hours=12))),
    "routine": (ClockRule("resolve", "workdays", 7, timedelta(days=1)),),
    "complex": (ClockRule("plan", "days", 30, timedelta(days=5)),),
}

# After a rejected confirmation or low satisfaction: rectification (整改) within the tier's own pace.
RECTIFY: dict[str, ClockRule] = {
    "urgent": ClockRule("resolve", "hours", 48, timedelta(hours=12)),
    "routine": ClockRule("resolve", "workdays", 7, timedelta(days=1)),
    "complex": ClockRule("resolve", "days", 30, timedelta(days=5)),
}

# A resolution adopted by a meeting sets its own due date; warn this long before it.
RESOLUTION_WARN_BEFORE = timedelta(days=3)


def deadline(due: datetime, warn_before: timedelta, start: datetime) -> dict[str, Any]:
    """A deadline as the case keeps it. Warnings never come before the clock started."""
    return {"due": due, "warn_at": max(start, due - warn_before), "met_at": None, "alert": None}


def _clocked(rule: ClockRule, start: datetime, calendar: WorkingCalendar) -> dict[str, Any]:
    d = deadline(rule.due(start, calendar), rule.warn_before, start)
    counted = rule.counted(start)
    return d | {"workdays": counted} if counted else d


def deadlines_for(tier: str, start: datetime, calendar: WorkingCalendar) -> dict[str, dict[str, Any]]:
    return {rule.deadline: _clocked(rule, start, calendar) for rule in CLOCKS[tier]}


def rectification_deadline(tier: str, start: datetime, calendar: WorkingCalendar) -> dict[str, Any]:
    return _clocked(RECTIFY[tier], start, calendar)


def with_counts(deadlines: dict[str, dict[str, Any]], rules: tuple[ClockRule, ...],
                start: datetime) -> dict[str, dict[str, Any]]:
    """Deadlines recorded before they kept their count get it from the rules that set them (same start)."""
    for rule in rules:
        counted = rule.counted(start)
        if counted and rule.deadline in deadlines:
            deadlines[rule.deadline].setdefault("workdays", counted)
    return deadlines


def recount(d: dict[str, Any], calendar: WorkingCalendar) -> tuple[datetime, datetime]:
    """A working-day deadline's (due, warn_at) counted again on `calendar`."""
    counted = d["workdays"]
    due = calendar.end_of_workdays(counted["from"], counted["count"])
    return due, max(counted["from"], due - timedelta(seconds=counted["warn_before_s"]))
