"""The day's themed activity ("five-day method"), aware of public holidays and make-up workdays,
and the morning post that announces it to the residents' groups (a daily job of the scheduler)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import chinese_calendar
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import WEEKDAYS, Community, HolidayCalendar, Theme
from core.message import Outgoing
from handlers import texts

log = logging.getLogger(__name__)

# Warn operators this long before the holiday calendar runs out (a new chinesecalendar release
# follows the State Council's notice for the next year, usually published in October-December).
CALENDAR_WARNING = dt.timedelta(days=45)

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
                "upgrade the package (pip install -U chinesecalendar); after that date weekends count as "
                "rest days and weekdays as workdays, with no holidays or make-up workdays",
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
