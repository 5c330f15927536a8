"""The Chinese working-day calendar of Asia/Shanghai: statutory holidays and make-up workdays (调休).

Each year's days come from the first source that has them:
1. `entered` — the State Council's notice for that year (国务院办公厅关于部分节假日安排的通知), entered
   by staff and kept as `OfficialCalendar` events, so every deadline is explainable and replays alike;
2. `package` — the `chinesecalendar` package's published schedule (released once a year, after the notice);
3. `fallback` — weekends plus the statutory dates of the `holidays` package, without make-up workdays: a
   deadline then may fall a day early or late around a holiday, never crash. Each fallback day is
   reported to `on_fallback` (a metric), so operators enter the notice.
A notice may name days at the end of the previous year (元旦 from 12-31, a make-up Sunday in December);
a day any notice names is decided by that notice, the newer year's notice winning.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib.metadata import version
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays

from shared.contracts.envelope import rfc3339
from shared.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOURCE_ZH = {"entered": "已录入国务院节假日安排通知", "package": "chinesecalendar 日历包(含调休)",
             "fallback": "推算:周末与法定节日,不含调休上班日"}
_DAY = r"\d{4}-\d\d-\d\d"
_ITEM = re.compile(rf"^({_DAY})(?:\.\.({_DAY}))?$")
LONGEST_RANGE = 31  # days; the longest holiday ever announced is 9 (春节)


@lru_cache(maxsize=16)
def _statutory(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("CN", years=year))


@lru_cache(maxsize=4096)
def _package_workday(day: date) -> bool:
    """The package's answer, remembered: each of its calls scans its whole table to check the date's range
    (60 µs, nine of them in a 7-working-day count)."""
    return chinese_calendar.is_workday(day)


@lru_cache(maxsize=256)
def _package_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


@dataclass(frozen=True)
class YearNotice:
    """One year's notice as entered: the days off (放假) and the weekend days worked instead (调休上班)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


class WorkingCalendar:
    def __init__(self, entered: Mapping[int, YearNotice] | None = None,
                 on_fallback: Callable[[int], None] = lambda year: None):
        self.entered = dict(entered or {})
        self.on_fallback = on_fallback
        self._named: dict[date, bool] = {}
        for year in sorted(self.entered):  # a newer notice overrides what an older one said of a day
            notice = self.entered[year]
            self._named |= {day: False for day in notice.holidays} | {day: True for day in notice.workdays}

    def source(self, year: int) -> str:
        """Where the year's working days come from: entered | package | fallback."""
        return "entered" if year in self.entered else "package" if _package_covers(year) else "fallback"

    def is_workday(self, day: date) -> bool:
        if day in self._named:
            return self._named[day]
        source = self.source(day.year)
        if source == "entered":
            return day.weekday() < 5
        if source == "package":
            return _package_workday(day)
        self.on_fallback(day.year)
        return day.weekday() < 5 and day not in _statutory(day.year)

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

    def entered_between(self, start: datetime, end: datetime) -> list[int]:
        """The entered years a count from `start` to `end` runs through (what a re-timing is due to)."""
        first, last = (moment.astimezone(SHANGHAI).year for moment in (start, end))
        return [year for year in range(first, last + 1) if year in self.entered]


# --- entering a notice ------------------------------------------------------------------------------

def parse_year(value: Any) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise InvalidInput("year must be from 2000 to 2100", "year", "年份须在 2000 到 2100 之间")
    return year


def _days(items: Any, name: str, zh: str, year: int) -> frozenset[date]:
    """Dates (YYYY-MM-DD) or inclusive ranges (YYYY-MM-DD..YYYY-MM-DD) of the year, or of its eve's December."""
    if not isinstance(items, list) or len(items) > 100:
        raise InvalidInput(f"{name} must be a list of at most 100 dates or ranges", name, f"{zh}须为日期列表")
    days: set[date] = set()
    for i, item in enumerate(items):
        field = f"{name}[{i}]"
        match = _ITEM.match(item) if isinstance(item, str) else None
        try:
            first, last = (date.fromisoformat(g) for g in (match.group(1), match.group(2) or match.group(1)))
        except (AttributeError, ValueError):
            raise InvalidInput(f"{field} must be YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD", field,
                               f"{zh}第 {i + 1} 项须为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from None
        if not 0 <= (last - first).days < LONGEST_RANGE:
            raise InvalidInput(f"{field}: a range runs forward, at most {LONGEST_RANGE} days", field,
                               f"{zh}第 {i + 1} 项的起止日期有误")
        for day in (first, last):
            if not (day.year == year or (day.year == year - 1 and day.month == 12)):
                raise InvalidInput(f"{field}: {day} is not in {year} (or the December before)", field,
                                   f"{zh}第 {i + 1} 项的日期 {day} 不属于 {year} 年的安排")
        days |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
    return frozenset(days)


def parse_notice(year: int, body: dict[str, Any]) -> YearNotice:
    """The notice's days as staff enter them; make-up workdays are weekend days that are not also days off."""
    days_off = _days(body.get("holidays"), "holidays", "放假日期", year)
    if not days_off:
        raise InvalidInput("holidays must name the year's days off", "holidays", "须填写放假日期")
    worked = _days(body.get("workdays", []), "workdays", "调休上班日期", year)
    for day in sorted(worked):
        if day in days_off:
            raise InvalidInput(f"workdays: {day} is also a holiday", "workdays", f"{day} 不能既放假又上班")
        if day.weekday() < 5:
            raise InvalidInput(f"workdays: {day} is a weekday; make-up workdays are Saturdays or Sundays", "workdays",
                               f"{day} 是工作日;调休上班日应为周六或周日")
    return YearNotice(year, days_off, worked)


def notice_to_data(notice: YearNotice) -> dict[str, Any]:
    return {"year": notice.year, "holidays": sorted(d.isoformat() for d in notice.holidays),
            "workdays": sorted(d.isoformat() for d in notice.workdays)}


def notice_from_data(data: Mapping[str, Any]) -> YearNotice:
    return YearNotice(data["year"], frozenset(date.fromisoformat(d) for d in data["holidays"]),
                      frozenset(date.fromisoformat(d) for d in data["workdays"]))


def unlisted_statutory(notice: YearNotice) -> list[str]:
    """Statutory days (per the `holidays` package) the entered notice does not give off: likely a typo."""
    return sorted(d.isoformat() for d in _statutory(notice.year) - notice.holidays)


# --- what GET /calendar shows ---------------------------------------------------------------------

def _package() -> dict[str, Any]:
    years = [year for year in range(2000, 2101) if _package_covers(year)]
    return {"name": "chinesecalendar", "version": version("chinesecalendar"), "first_year": min(years, default=None),
            "last_year": max(years, default=None)}


def calendar_view(calendar: WorkingCalendar, entries: Mapping[int, dict[str, Any]], this_year: int,
                  year: int | None = None) -> dict[str, Any]:
    """Each year that matters now (last, this and next, every entered one; or just `year`) and its source."""
    shown = [year] if year is not None else sorted({this_year - 1, this_year, this_year + 1, *entries})
    years = []
    for y in shown:
        row: dict[str, Any] = {"year": y, "source": calendar.source(y), "source_zh": SOURCE_ZH[calendar.source(y)]}
        if y in entries:
            entry = entries[y]
            row |= {"holidays": entry["holidays"], "workdays": entry["workdays"], "document": entry["document"],
                    "entered_by": entry["entered_by"], "entered_at": rfc3339(entry["entered_at"]),
                    "statutory_days_missing": unlisted_statutory(calendar.entered[y])}
        years.append(row)
    return {"years": years, "package": _package()}
