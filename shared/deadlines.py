"""A deadline as staff write it (完成时限): a date means the end of that day in Asia/Shanghai.

Every service that accepts a `due` reads a plain date (2026-12-20) this way, and an RFC 3339 time as given;
both are stored in UTC.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def end_of_day(value: Any) -> datetime | None:
    """The end of the day `value` names, in UTC; None when `value` is not a plain date (a time, say).
    Raises ValueError for a date that does not exist (2026-02-30)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    return datetime.combine(date.fromisoformat(value), END_OF_DAY, SHANGHAI).astimezone(timezone.utc)
