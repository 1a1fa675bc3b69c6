"""The day's themed activity ("five-day method"), aware of public holidays and make-up workdays."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from config.community import WEEKDAYS, Community, Theme

log = logging.getLogger(__name__)

DayKind = Literal["theme", "holiday", "weekend", "cancelled", "none"]


@dataclass(frozen=True)
class DayPlan:
    """What the community does on a date, and why."""

    date: dt.date
    kind: DayKind
    theme: Theme | None = None
    holiday_name: str | None = None  # e.g. "National Day", from chinese_calendar
    makeup_workday: bool = False
    note: str = ""


def _calendar(day: dt.date) -> tuple[bool, str | None, bool]:
    """(is_holiday, holiday name, calendar_known). Outside the package's years, weekends are rest days."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return on_holiday, name, True
    except NotImplementedError:
        # chinese_calendar only knows the years the State Council has published; past them we
        # fall back to plain weekends rather than stop posting (logged so operators upgrade it).
        log.warning("chinese_calendar has no data for %s; treating it as an ordinary %s",
                    day.year, "weekend day" if day.weekday() >= 5 else "weekday")
        return day.weekday() >= 5, None, False


def plan_for(community: Community, day: dt.date) -> DayPlan:
    themes = community.themes
    for override in themes.overrides:
        if override.date == day:
            if override.theme is None:
                return DayPlan(day, "cancelled", note=override.note)
            return DayPlan(day, "theme", theme=override.theme, note=override.note)
    on_holiday, name, _known = _calendar(day)
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
