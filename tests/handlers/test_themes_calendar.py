"""The holiday calendar of the community file (`themes.calendar`) in the day's plan.

All dates of the file entries here are made up; they are not the State Council's schedule.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from config.community import Community, Directory
from config.themes import HolidayCalendar
from handlers import texts, themes
from handlers.themes import calendar_known_until, calendar_source, package_calendar_ends, plan_for

# Made-up entries: a weekday "Spring Festival" in 2027, a working Saturday in 2027, and two
# corrections inside the package's 2026 (a Thursday made a holiday, National Day made a workday).
CALENDAR = HolidayCalendar.model_validate({
    "holidays": [{"name": "春节", "from": "2027-02-08", "to": "2027-02-12"},
                 {"name": "测试节", "date": "2026-11-26"}],
    "workdays": ["2027-02-20", "2026-10-01"],
})


def community(directory: Directory, calendar: HolidayCalendar = CALENDAR, **themes: object) -> Community:
    base = directory.communities[0]
    return base.model_copy(update={"themes": base.themes.model_copy(update={"calendar": calendar, **themes})})


@pytest.mark.parametrize(
    ("day", "weekday", "kind", "holiday", "theme", "makeup"),
    [
        # a file holiday on a weekday past the package's years: the greeting, with its name
        (dt.date(2027, 2, 10), "Wed", "holiday", "春节", None, False),
        (dt.date(2027, 2, 8), "Mon", "holiday", "春节", None, False),  # first day of the range
        (dt.date(2027, 2, 12), "Fri", "holiday", "春节", None, False),  # last day of the range
        # a file workday on a Saturday: the make-up theme (Monday's by default)
        (dt.date(2027, 2, 20), "Sat", "theme", None, "学习日", True),
        # the file wins over the package inside its years
        (dt.date(2026, 11, 26), "Thu", "holiday", "测试节", None, False),
        (dt.date(2026, 10, 1), "Thu", "theme", None, "安全检查日", False),
        # dates without an entry keep the package's data ...
        (dt.date(2026, 10, 2), "Fri", "holiday", "National Day", None, False),
        (dt.date(2026, 1, 4), "Sun", "theme", None, "学习日", True),
        # ... or, past it, plain weekdays and weekends
        (dt.date(2027, 3, 3), "Wed", "theme", None, "政策宣讲日", False),
        (dt.date(2027, 3, 6), "Sat", "weekend", None, None, False),
        (dt.date(2027, 2, 13), "Sat", "weekend", None, None, False),  # the day after the range
    ],
)
def test_the_files_calendar_decides_its_dates(demo_directory: Directory, day: dt.date, weekday: str, kind: str,
                                              holiday: str | None, theme: str | None, makeup: bool) -> None:
    assert day.strftime("%a") == weekday
    plan = plan_for(community(demo_directory), day)
    assert (plan.kind, plan.holiday_name, plan.makeup_workday) == (kind, holiday, makeup)
    assert (plan.theme.title if plan.theme else None) == theme


def test_residents_asking_hear_the_files_holiday_name(demo_directory: Directory) -> None:
    day = dt.date(2027, 2, 10)
    plan = plan_for(community(demo_directory), day)
    answer = texts.no_activity_answer("今天", day, plan.kind, plan.holiday_name)
    assert "是春节假期" in answer


def test_a_make_up_workday_from_the_file_follows_the_configured_rule(demo_directory: Directory) -> None:
    saturday = dt.date(2027, 2, 20)
    plan = plan_for(community(demo_directory, makeup_workday="thursday"), saturday)
    assert plan.theme is not None and plan.theme.title == "安全检查日" and plan.makeup_workday
    assert plan_for(community(demo_directory, makeup_workday="none"), saturday).kind == "none"


def test_dated_overrides_still_win_over_the_files_calendar(demo_directory: Directory) -> None:
    from config.themes import ThemeOverride

    overrides = [ThemeOverride(date=dt.date(2027, 2, 10), theme=None, note="改期")]
    plan = plan_for(community(demo_directory, overrides=overrides), dt.date(2027, 2, 10))
    assert plan.kind == "cancelled"


def test_an_ordinary_2027_day_without_entries_keeps_its_theme_and_operators_are_told_once(
        demo_directory: Directory, caplog: pytest.LogCaptureFixture) -> None:
    themes._provisional_holidays.cache_clear()
    caplog.set_level(logging.WARNING, "handlers.themes")
    wednesday = dt.date(2027, 3, 3)
    plain = plan_for(community(demo_directory, HolidayCalendar()), wednesday)
    assert plain.kind == "theme" and plain.theme is not None and plain.theme.title == "政策宣讲日"
    assert "no official holiday calendar for 2027" in caplog.text  # nobody entered 2027: operators are told
    caplog.clear()
    assert plan_for(community(demo_directory, HolidayCalendar()), dt.date(2027, 3, 4)).kind == "theme"
    assert caplog.text == ""  # once per year and process, not on every question
    # A year the file has entries in is entered whole: an ordinary day there is no warning.
    assert plan_for(community(demo_directory), wednesday) == plain
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("day", "kind", "holiday"),
    [
        (dt.date(2027, 1, 1), "holiday", "元旦"),  # a Friday
        (dt.date(2027, 2, 5), "holiday", "除夕"),  # 农历除夕
        (dt.date(2027, 2, 6), "holiday", "春节"),  # a Saturday: still the holiday, with its name
        (dt.date(2027, 2, 10), "holiday", "春节"),  # 春节（补假）, a Wednesday
        (dt.date(2027, 2, 11), "theme", None),  # the day after
        (dt.date(2027, 10, 1), "holiday", "国庆节"),
        (dt.date(2027, 2, 20), "weekend", None),  # no make-up workday can be known without the schedule
    ],
)
def test_a_year_nobody_entered_takes_its_public_holidays_from_the_holidays_package(
        demo_directory: Directory, day: dt.date, kind: str, holiday: str | None) -> None:
    plan = plan_for(community(demo_directory, HolidayCalendar()), day)
    assert (plan.kind, plan.holiday_name) == (kind, holiday)


def test_each_years_source_is_named(demo_directory: Directory) -> None:
    assert calendar_source(2026, HolidayCalendar()) == "chinesecalendar"
    assert calendar_source(2026, CALENDAR) == "chinesecalendar"  # the file only corrects it
    assert calendar_source(2027, CALENDAR) == "community file"
    assert calendar_source(2027, HolidayCalendar()) == "holidays (provisional)"


def test_the_calendar_is_known_to_the_end_of_the_files_last_year(demo_directory: Directory) -> None:
    ends = package_calendar_ends()
    assert ends == dt.date(ends.year, 12, 31) and ends.year >= 2026
    assert calendar_known_until(community(demo_directory, HolidayCalendar())) == ends
    assert calendar_known_until(community(demo_directory)) == max(ends, dt.date(2027, 12, 31))
    only_workday = HolidayCalendar(workdays=[dt.date(2099, 1, 2)])
    assert calendar_known_until(community(demo_directory, only_workday)) == dt.date(2099, 12, 31)
    correction = HolidayCalendar.model_validate({"holidays": [{"name": "测试节", "date": "2004-05-06"}]})
    assert calendar_known_until(community(demo_directory, correction)) == ends  # an old year moves nothing
