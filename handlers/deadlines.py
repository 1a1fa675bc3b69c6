"""Deadlines of requests, counted in working time: the community's working hours on its working days
(weekdays that are no public holiday, and official make-up workdays, from the same calendar as
the theme posts: handlers/themes.is_working_day). Emergencies count clock hours, day and night.

`requests.deadlines` in the community file gives each category (and "urgent") its time, e.g.
`urgent: {hours: 2}`, `repair: {working_days: 3}`: filed on a Wednesday at 10:00 with working time
08:30-17:30, a repair is due the next Monday at 10:00; filed on a Saturday, on Wednesday at 17:30.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from config.community import Community
from config.request_rules import Deadline
from handlers import texts_request_life as life
from handlers.themes import is_working_day

# A deadline is never searched further than this many days ahead (a year of holidays is fewer).
MAX_DAYS_AHEAD = 366


def deadline_for(community: Community, category: str, urgent: bool) -> Deadline | None:
    rules = community.requests.deadlines
    if urgent and "urgent" in rules:
        return rules["urgent"]
    return rules.get(category)


def due_at(community: Community, category: str, urgent: bool, start: dt.datetime) -> dt.datetime | None:
    """When a request of `category` filed (or reopened) at `start` is due; None without a deadline."""
    deadline = deadline_for(community, category, urgent)
    if deadline is None:
        return None
    if deadline.hours is not None:
        return start + dt.timedelta(hours=deadline.hours)
    hours = deadline.working_hours
    if hours is None:
        assert deadline.working_days is not None
        hours = deadline.working_days * community.requests.working_time.hours_a_day
    return add_working_hours(community, start, hours)


def add_working_hours(community: Community, start: dt.datetime, hours: float) -> dt.datetime:
    """`start` plus `hours` of working time (working hours of working days, in the community's zone)."""
    tz = ZoneInfo(community.timezone)
    working = community.requests.working_time
    local = start.astimezone(tz)
    left = dt.timedelta(hours=hours)
    day = local.date()
    for _ in range(MAX_DAYS_AHEAD):
        if is_working_day(community, day):
            opens = dt.datetime.combine(day, working.start, tzinfo=tz)
            closes = dt.datetime.combine(day, working.end, tzinfo=tz)
            begin = max(opens, local)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += dt.timedelta(days=1)
    raise ValueError(f"no working time within {MAX_DAYS_AHEAD} days of {start.isoformat()}")


def due_text(community: Community, at: dt.datetime | None) -> str:
    """"11月30日 10:00" in the community's time zone ("" without a deadline)."""
    return life.when_text(at.astimezone(ZoneInfo(community.timezone))) if at is not None else ""
