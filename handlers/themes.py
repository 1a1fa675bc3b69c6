"""The day's themed activity ("five-day method"), aware of public holidays and make-up workdays,
and the morning post that announces it to the residents' groups (a daily job of the scheduler)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import chinese_calendar
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from config.themes import WEEKDAYS, HolidayCalendar, Theme
from core.message import Outgoing
from handlers import texts

log = logging.getLogger(__name__)

# Warn operators this long before the holiday calendar runs out (a new chinesecalendar release
# follows the State Council's notice for the next year, usually published in October-December).
CALENDAR_WARNING = dt.timedelta(days=45)

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


def holiday_name_on(community: Community, day: dt.date) -> str | None:
    """The public holiday `day` is a day off of, as the calendar names it (国庆节, or chinesecalendar's
    "National Day"), else None: the same sources as the theme post (the file, chinesecalendar, the
    holidays package)."""
    on_holiday, name, _ = _calendar(day, community.themes.calendar)
    return name if on_holiday else None


def is_working_day(community: Community, day: dt.date) -> bool:
    """Whether staff work on `day`: weekdays that are no public holiday, and official make-up
    workdays (调休) on weekends; the same calendar as the theme posts (the community file's
    entries, chinesecalendar, then the `holidays` package's provisional public holidays), which
    counts an ordinary weekend as a rest day."""
    on_holiday, _name, _known = _calendar(day, community.themes.calendar)
    return not on_holiday


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


async def provisional_calendar_notice(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
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


def holiday_calendar_known_until(communities: Iterable[Community] = ()) -> dt.date:
    """The last day with official holiday data for all `communities`: each community's is the later
    of chinesecalendar's end and the last year its file's `themes.calendar` has entries in."""
    return min((calendar_known_until(c) for c in communities), default=package_calendar_ends())


def warn_if_calendar_runs_out(today: dt.date, communities: Iterable[Community] = ()) -> bool:
    """Logs a warning when the holiday calendar ends soon; True if it did."""
    from importlib.metadata import version

    communities = list(communities)
    until = holiday_calendar_known_until(communities)
    if today + CALENDAR_WARNING < until:
        return False
    short = [c.id for c in communities if calendar_known_until(c) == until]
    log.warning("the holiday calendar%s ends on %s (chinesecalendar %s ends on %s): once the State Council "
                "publishes next year's holidays, enter them under themes.calendar in the community file or "
                "upgrade the package (pip install -U chinesecalendar); after that date the public holidays "
                "follow the holidays package's rules (provisional) and no make-up workdays are known",
                f" of {', '.join(short[:5])}{' …' if len(short) > 5 else ''}" if short else "", until,
                version("chinesecalendar"), package_calendar_ends())
    return True


# ---------------------------------------------------------------------------------------------
# The morning post


def theme_post_text(community: Community, plan: DayPlan) -> str | None:
    """What residents' groups are told in the morning, or None when nothing is posted that day."""
    if plan.kind == "theme" and plan.theme is not None:
        if plan.makeup_workday:
            return texts.makeup_morning_post(plan.date, plan.theme, community.bot_name)
        return texts.morning_post(plan.date, plan.theme, community.bot_name)
    if plan.kind == "holiday":
        greeting = community.themes.holiday_greeting
        return texts.holiday_morning_post(greeting, plan.holiday_name) if greeting else None
    if plan.kind == "cancelled":
        return texts.cancelled_morning_post(plan.date, plan.note)
    return None  # an ordinary weekend, or a weekday without a configured theme


async def build_theme_posts(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """The morning post to every residents' group that has not opted out (`theme_posts: false`)."""
    plan = plan_for(community, day)
    body = theme_post_text(community, plan)
    if body is None:
        log.info("no theme post for %s on %s (%s)", community.id, day, plan.kind)
        return []
    return [
        Outgoing(channel=group.channel, community=community.id, to="group", target=group.id, text=body,
                 idempotency_key=f"theme:{group.id}:{day.isoformat()}")
        for group in community.groups
        if group.kind == "residents" and group.theme_posts
    ]
