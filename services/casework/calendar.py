"""The Chinese working-day calendar of Asia/Shanghai: statutory holidays and make-up workdays (调休).

Years the `chinesecalendar` package covers use its published schedule. Later years (the package is
released once a year, after the State Council announces the next one) fall back to weekends plus
the statutory dates of the `holidays` package, without make-up workdays: a deadline then may fall a
day early or late around a holiday, never crash. Each fallback day is reported to `on_fallback` so
operators see it (a metric) and can upgrade the package.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

SHANGHAI = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=16)
def _statutory(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("CN", years=year))


class WorkingCalendar:
    def __init__(self, on_fallback: Callable[[int], None] = lambda year: None):
        self.on_fallback = on_fallback

    def is_workday(self, day: date) -> bool:
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            self.on_fallback(day.year)
            return day.weekday() < 5 and day not in _statutory(day.year)

    def covers(self, year: int) -> bool:
        """Whether the year's official schedule (with make-up workdays) is known."""
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
            return True
        except NotImplementedError:
            return False

    def end_of_workdays(self, start: datetime, count: int) -> datetime:
        """The end (24:00 Asia/Shanghai) of the `count`-th working day after the day of `start`.

        The day a matter is received is not counted (期间开始之日不计算在内): a report on Wednesday
        afternoon has all of Thursday as its first working day. Returned in UTC's zone of `start`.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        day = start.astimezone(SHANGHAI).date()
        while count:
            day += timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI).astimezone(start.tzinfo)
