"""Which date a named day is ("圣诞节理发", "元旦那天能约吗", "国庆有活动吗"), from the calendar.

nlp/dates.find_named_days finds the words; this module dates them:

- a public holiday's own day (元旦 1-1, 春节 the first day of the lunar year, 中秋 the 15th of the
  8th lunar month …) comes from the `holidays` package's China calendar, which computes them by
  rule for any year; its days off (国庆节 10-1 to 10-7 …) from the same sources as the morning
  post (handlers/themes.py: the community file, chinesecalendar, the holidays package, the last
  one provisional: no make-up workdays known);
- a day that is no public holiday (圣诞节 12-25) from the community file's `themes.named_days`.

No date is written in code here.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from config.community import Community
from handlers.texts import holiday_name_zh
from handlers.themes import PROVISIONAL, _plain_holiday_name, calendar_source, holiday_name_on
from nlp.named_days import find_named_days

LONGEST_HOLIDAY = 12  # days looked at around a holiday's own day for its days off


@dataclass(frozen=True)
class NamedDay:
    name: str  # 国庆节, 春节, 圣诞节
    day: dt.date  # the day itself (国庆节 10-1; 春节 the lunar new year)
    first: dt.date  # the holiday's days off (first == last == day for a day that is none)
    last: dt.date
    holiday: bool  # a public holiday with days off
    provisional: bool  # the days off follow the holidays package's rules: no official schedule yet


def words_of(community: Community) -> dict[str, str]:
    """The community file's named days as words the date parser looks for (name and other words)."""
    words: dict[str, str] = {}
    for named in community.themes.named_days:
        for word in (named.name, *named.words):
            words.setdefault(word, named.name)
    return words


@functools.lru_cache(maxsize=16)
def _festival_days(year: int) -> dict[str, dt.date]:
    """Each public holiday's own day in `year` (the first day of its name, not a day in lieu)."""
    import holidays

    found: dict[str, dt.date] = {}
    for day, name in sorted(holidays.country_holidays("CN", years=year, language="zh_CN").items()):
        if "（" in name or "(" in name:  # 春节（补假）, 休息日（由 … 调休）: days in lieu, not the festival
            continue
        found.setdefault(_plain_holiday_name(name), day)
    return found


def _same_holiday(community: Community, day: dt.date, name: str) -> bool:
    on = holiday_name_on(community, day)
    return on is not None and holiday_name_zh(on) == name


def resolve(community: Community, name: str, today: dt.date) -> NamedDay | None:
    """The next `name` (today's when we are in it), or None for a name the calendar does not know."""
    for named in community.themes.named_days:
        if named.name == name:
            for year in (today.year, today.year + 1, today.year + 4):  # 2-29 comes every four years
                try:
                    day = dt.date(year, named.month, named.day)
                except ValueError:
                    continue
                if day >= today:
                    return NamedDay(name, day, day, day, False, False)
            return None
    for year in (today.year - 1, today.year, today.year + 1):
        day = _festival_days(year).get(name)
        if day is None:
            continue
        first = last = day
        if _same_holiday(community, day, name):
            while (day - first).days < LONGEST_HOLIDAY and _same_holiday(community, first - dt.timedelta(days=1), name):
                first -= dt.timedelta(days=1)
            while (last - day).days < LONGEST_HOLIDAY and _same_holiday(community, last + dt.timedelta(days=1), name):
                last += dt.timedelta(days=1)
        if last < today:
            continue
        holiday = holiday_name_on(community, day) is not None
        provisional = calendar_source(day.year, community.themes.calendar) == PROVISIONAL
        return NamedDay(name, day, first, last, holiday, provisional)
    return None


def named_day(community: Community, text: str, today: dt.date) -> NamedDay | None:
    """The first named day in a (normalized) text that the calendar can date."""
    for mention in find_named_days(text, words_of(community)):
        found = resolve(community, mention.name, today)
        if found is not None:
            return found
    return None
