"""The day's themed activity ("five-day method"), aware of public holidays and make-up workdays."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from config.community import WEEKDAYS, Community, HolidayCalendar, Theme

log = logging.getLogger(__name__)

DayKind = Literal["theme", "holiday", "weekend", "cancelled", "none"]


@dataclass(frozen=True)
class DayPlan:
    """What the community does on a date, and why."""

    date: dt.date
    kind: DayKind
    theme: Theme | None = None
    holiday_name: str | None = None  # "National Day" (chinese_calendar) or 春节 (themes.calendar)
    makeup_workday: bool = False
    note: str = ""


def package_calendar_ends() -> dt.date:
    """The last day the chinesecalendar package has official data for (it ships whole years)."""
    from chinese_calendar import constants

    return dt.date(max(max(constants.holidays), max(constants.workdays)).year, 12, 31)


def calendar_known_until(community: Community | None = None) -> dt.date:
    """The later of the package's end and the end of the last year the community file's
    `themes.calendar` has an entry in (a year with entries counts as entered whole)."""
    ends = package_calendar_ends()
    years = community.themes.calendar.years() if community is not None else set()
    return max(ends, dt.date(max(years), 12, 31)) if years else ends


def _calendar(day: dt.date, calendar: HolidayCalendar | None = None) -> tuple[bool, str | None, bool]:
    """(is_holiday, holiday name, calendar_known).

    The community file's entries first, then the package; outside both, weekends are rest days.
    """
    entry = calendar.day(day) if calendar is not None else None
    if entry is not None:
        return entry[0], entry[1], True
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return on_holiday, name, True
    except NotImplementedError:
        weekend = day.weekday() >= 5
        if calendar is not None and day.year in calendar.years():
            return weekend, None, True  # a year the file has entered: no entry means an ordinary day
        # chinese_calendar only knows the years the State Council has published; past them we
        # fall back to plain weekends rather than stop posting (logged so operators add the year).
        log.warning("no holiday calendar for %s (neither chinesecalendar nor themes.calendar); treating %s "
                    "as an ordinary %s", day.year, day, "weekend day" if weekend else "weekday")
        return weekend, None, False


def plan_for(community: Community, day: dt.date) -> DayPlan:
    themes = community.themes
    for override in themes.overrides:
        if override.date == day:
            if override.theme is None:
                return DayPlan(day, "cancelled", note=override.note)
            return DayPlan(day, "theme", theme=override.theme, note=override.note)
    on_holiday, name, _known = _calendar(day, themes.calendar)
    weekend = day.weekday() >= 5
    if on_holiday:
        # A statutory holiday has a name; an ordinary weekend has none.
        if name is not None:
            return DayPlan(day, "holiday", holiday_name=name)
        return DayPlan(day, "weekend")
    if weekend:  # a working weekend day: an official make-up workday (调休)
        if themes.makeup_workday == "none":
            return DayPlan(day, "none", makeup_workday=True)
        theme = themes.weekly.get(themes.makeup_workday)
        return DayPlan(day, "theme" if theme else "none", theme=theme, makeup_workday=True)
    theme = themes.weekly.get(WEEKDAYS[day.weekday()])
    return DayPlan(day, "theme" if theme else "none", theme=theme)
