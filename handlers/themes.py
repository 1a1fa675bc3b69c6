"""The day's themed activity ("five-day method"), aware of public holidays and make-up workdays."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass
from typing import Literal

import chinese_calendar

from bot.message import Outgoing
from config.community import WEEKDAYS, Community, HolidayCalendar, Theme
from handlers import texts

log = logging.getLogger(__name__)

DayKind = Literal["theme", "holiday", "weekend", "cancelled", "none"]
# Where a year's holidays come from, best first. The `holidays` package computes China's public
# holidays by rule (lunar dates included) for any year, but cannot know the make-up workdays (调休)
# the State Council publishes each autumn: it is the provisional source for a year that neither the
# community file nor chinesecalendar covers, so that no public holiday gets a working-day post.
CalendarSource = Literal["community file", "chinesecalendar", "holidays (provisional)"]
PROVISIONAL: CalendarSource = "holidays (provisional)"


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


def calendar_source(year: int, calendar: HolidayCalendar | None = None) -> CalendarSource:
    """Which source decides the days of `year` that the community file has no entry for:
    chinesecalendar for the years the State Council has published (the file's entries correct it),
    else the community file when it has an entry in that year (it is then entered whole), else the
    `holidays` package's rules (provisional: no make-up workdays)."""
    if year <= package_calendar_ends().year:
        return "chinesecalendar"
    if calendar is not None and year in calendar.years():
        return "community file"
    return PROVISIONAL


@functools.lru_cache(maxsize=16)
def _provisional_holidays(year: int) -> dict[dt.date, str]:
    """China's public holidays of `year` by the `holidays` package's rules, named as residents say
    them (春节, not 春节（补假）; 除夕 for 农历除夕). Imported only for years past chinesecalendar.

    Computed once a year per process, which is also when operators are told in the log (staff are
    told in their group by the `calendar_notice` job: provisional_calendar_notice below).
    """
    import holidays

    log.warning("no official holiday calendar for %s (neither chinesecalendar nor themes.calendar): its days "
                "follow the holidays package's public holidays, without make-up workdays (调休)", year)

    found = holidays.country_holidays("CN", years=year, language="zh_CN")
    return {day: _plain_holiday_name(name) for day, name in found.items()}


def _plain_holiday_name(name: str) -> str:
    """春节（补假） -> 春节, 农历除夕 -> 除夕: the day off a holiday gives is still that holiday."""
    return re.sub(r"[（(][^）)]*[）)]$", "", name).removeprefix("农历").strip() or name


def _calendar(day: dt.date, calendar: HolidayCalendar | None = None) -> tuple[bool, str | None, bool]:
    """(is_holiday, holiday name, calendar_official).

    The community file's entries first, then chinesecalendar; past both, the `holidays` package's
    public holidays, with weekends as rest days (no make-up workdays can be known that way).
    """
    entry = calendar.day(day) if calendar is not None else None
    if entry is not None:
        return entry[0], entry[1], True
    weekend = day.weekday() >= 5
    source = calendar_source(day.year, calendar)
    if source == "community file":
        return weekend, None, True  # a year the file has entered: no entry means an ordinary day
    if source == "chinesecalendar":
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return on_holiday, name, True
    name = _provisional_holidays(day.year).get(day)
    return (True, name, False) if name is not None else (weekend, None, False)


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


def _holiday_spans(days: dict[dt.date, str]) -> list[tuple[str, dt.date, dt.date]]:
    """(name, first day, last day) of each run of consecutive days with the same name, in date order."""
    spans: list[tuple[str, dt.date, dt.date]] = []
    for day, name in sorted(days.items()):
        if spans and spans[-1][0] == name and spans[-1][2] + dt.timedelta(days=1) == day:
            spans[-1] = (name, spans[-1][1], day)
        else:
            spans.append((name, day, day))
    return spans


# Staff are told this long ahead that a year's official schedule is missing (the State Council
# usually publishes it in October-December; New Year's Day is the first holiday it decides).
NOTICE_AHEAD = dt.timedelta(days=45)


async def provisional_calendar_notice(session: object, community: Community, day: dt.date) -> list[Outgoing]:
    """The `calendar_notice` job: once a year (key `calendar:{community}:{year}`), the staff group is
    told when a year within NOTICE_AHEAD of `day` has no official schedule, neither in chinesecalendar
    nor in the community file, so its holidays are provisional and its make-up workdays unknown."""
    group = community.staff_group()
    if group is None:
        return []
    years = sorted({day.year, (day + NOTICE_AHEAD).year})
    return [
        Outgoing(channel=group.channel, community=community.id, to="group", target=group.id,
                 text=texts.provisional_calendar_notice(year, _holiday_spans(_provisional_holidays(year))),
                 idempotency_key=f"calendar:{community.id}:{year}")
        for year in years
        if calendar_source(year, community.themes.calendar) == PROVISIONAL
    ]
