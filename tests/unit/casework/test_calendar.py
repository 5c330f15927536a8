"""Working-day clocks in Asia/Shanghai: an entered notice, else the package's calendar, else a safe fallback."""
from datetime import date, datetime, timezone

import pytest

from services.casework.calendar import SHANGHAI, WorkingCalendar, parse_notice
from shared.errors import InvalidInput

# Dates for the tests, shaped like a State Council notice: NOT the official 2027 arrangement.
NOTICE_2027 = {"holidays": ["2027-01-01", "2027-02-05..2027-02-11"], "workdays": ["2027-02-20"]}


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_routine_report_on_the_last_workday_before_national_day_skips_the_holiday_and_counts_the_makeup_saturday():
    # 2026-09-30 (Wed) is the last workday; 10-01..10-07 are the holiday; 10-10 (Sat) is a make-up workday.
    due = WorkingCalendar().end_of_workdays(shanghai(2026, 9, 30, 16, 30), 7)
    # 10-08 (1), 10-09 (2), 10-10 Sat (3), 10-12 (4), 10-13 (5), 10-14 (6), 10-15 (7): due at the end of 10-15
    assert due == shanghai(2026, 10, 16, 0, 0)


def test_a_makeup_saturday_is_a_working_day_and_an_ordinary_saturday_is_not():
    cal = WorkingCalendar()
    assert cal.is_workday(date(2026, 10, 10))  # 国庆调休上班
    assert cal.is_workday(date(2026, 2, 14))  # 春节调休上班
    assert not cal.is_workday(date(2026, 11, 28))
    # reported on Friday evening: the make-up Saturday is day 1
    assert WorkingCalendar().end_of_workdays(shanghai(2026, 10, 9, 19, 0), 1) == shanghai(2026, 10, 11, 0, 0)


def test_the_day_of_receipt_is_not_counted_and_due_times_are_utc_when_given_utc():
    start = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai
    due = WorkingCalendar().end_of_workdays(start, 7)
    assert due == datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)  # end of Wed 12-02 in Shanghai
    assert due.tzinfo == timezone.utc


def test_a_late_evening_report_in_utc_belongs_to_the_next_shanghai_day():
    start = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)  # Saturday 01:00 in Shanghai
    assert WorkingCalendar().end_of_workdays(start, 1) == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)


def test_past_the_packages_last_year_it_falls_back_to_weekends_and_statutory_dates_and_says_so():
    seen = []
    cal = WorkingCalendar(on_fallback=seen.append)
    assert cal.source(2027) == "fallback" and cal.source(2026) == "package"
    # 2027 National Day (holidays package): 10-01..10-05 off; no make-up days are known
    due = cal.end_of_workdays(shanghai(2027, 9, 30, 10, 0), 3)
    assert due == shanghai(2027, 10, 9, 0, 0)  # 10-06 (1), 10-07 (2), 10-08 (3)
    assert set(seen) == {2027}
    assert not cal.is_workday(date(2027, 2, 8))  # Spring Festival
    assert cal.is_workday(date(2027, 3, 3))


def test_a_december_clock_crosses_into_the_uncovered_year_without_crashing():
    seen = []
    due = WorkingCalendar(on_fallback=seen.append).end_of_workdays(shanghai(2026, 12, 28, 9, 0), 7)
    # 12-29, 12-30, 12-31 (2026, official) then 2027: 01-01 holiday, 01-04..01-07 → due end of 01-07
    assert due == shanghai(2027, 1, 8, 0, 0)
    assert 2027 in seen


def entered(notice=NOTICE_2027, year=2027, **kw) -> WorkingCalendar:
    return WorkingCalendar({year: parse_notice(year, notice)}, **kw)


def test_an_entered_notice_decides_its_year_a_makeup_saturday_works_and_its_holidays_do_not():
    seen = []
    cal = entered(on_fallback=seen.append)
    assert cal.source(2027) == "entered"
    assert cal.is_workday(date(2027, 2, 20))  # Saturday, 调休上班
    assert not cal.is_workday(date(2027, 2, 11))  # a Thursday inside the entered range
    assert not cal.is_workday(date(2027, 2, 27)) and cal.is_workday(date(2027, 3, 1))  # other days: weekends
    # reported Thursday 02-04: 02-05..02-11 off; 02-12 (1), 15..19 (2..6), Saturday 02-20 (7)
    assert cal.end_of_workdays(shanghai(2027, 2, 4, 10, 0), 7) == shanghai(2027, 2, 21, 0, 0)
    assert seen == []  # no fallback counted for an entered year


def test_a_notice_may_name_the_december_before_and_then_overrides_the_package():
    cal = entered({"holidays": ["2026-12-31..2027-01-02"], "workdays": ["2026-12-27"]})
    assert not cal.is_workday(date(2026, 12, 31)) and cal.is_workday(date(2026, 12, 27))  # Sunday worked
    assert cal.is_workday(date(2026, 12, 30)) and cal.source(2026) == "package"


@pytest.mark.parametrize("notice, field", [
    ({"holidays": ["2027-02-05..2027-02-11"], "workdays": ["2027-02-12"]}, "workdays"),  # a Friday: not make-up
    ({"holidays": ["2027-02-05..2027-02-11"], "workdays": ["2027-02-06"]}, "workdays"),  # both off and worked
    ({"holidays": ["2028-01-01"]}, "holidays[0]"),  # another year
    ({"holidays": ["2027-01-01", "2027-02-11..2027-02-05"]}, "holidays[1]"),  # a range backwards
    ({"holidays": ["2027-1-1"]}, "holidays[0]"),
    ({"holidays": []}, "holidays"),
    ({"holidays": "2027-01-01"}, "holidays"),
])
def test_a_notice_that_cannot_be_right_is_refused_naming_the_field(notice, field):
    with pytest.raises(InvalidInput) as refused:
        parse_notice(2027, notice)
    assert refused.value.field == field
