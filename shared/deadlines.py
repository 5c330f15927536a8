"""The council's calendar in Asia/Shanghai: a deadline as staff write it (完成时限), and the council's months.

Every service that accepts a `due` reads a plain date (2026-12-20) as the end of that day in Asia/Shanghai, and
an RFC 3339 time as given; both are stored in UTC. A month (YYYY-MM: the demand list, the results release, open
data) runs from its first day's midnight in Asia/Shanghai.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM month in Asia/Shanghai, as aware datetimes."""
    year, mon = int(month[:4]), int(month[5:7])
    start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def local_month(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")


def previous_month(now: datetime) -> str:
    local = now.astimezone(SHANGHAI)
    return f"{local.year - (local.month == 1)}-{(local.month - 2) % 12 + 1:02d}"


def is_month(value: Any) -> bool:
    return isinstance(value, str) and MONTH.match(value) is not None


def end_of_day(value: Any) -> datetime | None:
    """The end of the day `value` names, in UTC; None when `value` is not a plain date (a time, say).
    Raises ValueError for a date that does not exist (2026-02-30)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    return datetime.combine(date.fromisoformat(value), END_OF_DAY, SHANGHAI).astimezone(timezone.utc)
