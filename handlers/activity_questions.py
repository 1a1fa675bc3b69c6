"""Residents' questions about activities on other days, answered from the community file and the
calendar: "下周三是什么主题日", "国庆有活动吗", "这周五清洁日几点集合", "圣诞节有什么活动".

Read from the words, not the classifier's label (it takes most of these for chit-chat): a question
word and an activity word (活动, 主题, 集合, or a theme's title as residents shorten it: 清洁日 for
清洁家园日). Today's activity asked plainly ("今天有什么活动") stays with queries.py; a question
about a service's sessions ("今天有义诊吗") with booking_questions.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from config.community import Community
from config.themes import Theme
from handlers import texts
from handlers import texts_questions as qtexts
from handlers.base import Context, Incoming
from handlers.named_days import NamedDay, named_day
from handlers.themes import plan_for
from nlp.dates import find_days

LOOK_AHEAD_DAYS = 14  # "清洁日几点集合" with no day: the next one within two weeks

_ASKS = re.compile(r"吗|什么|啥|几点|哪|多会|咋安排|怎么安排|有没有|[?？]")
_ACTIVITY = re.compile(r"活动|主题|集合")
_MEETING = re.compile(r"几点|什么时候|啥时候|多会|在哪|哪里|哪儿|地点|集合")


def theme_words(theme: Theme) -> list[str]:
    """How residents name a theme: its title, and for a title ending in 日 each two characters of it
    with 日 (清洁家园日: 清洁日, 家园日 …), longest first."""
    words = [theme.title]
    stem = theme.title[:-1] if theme.title.endswith("日") else ""
    words += [stem[i:i + 2] + "日" for i in range(len(stem) - 1)]
    return sorted(set(words), key=len, reverse=True)


@functools.lru_cache(maxsize=64)
def _theme_index(themes: tuple[Theme, ...]) -> tuple[tuple[str, Theme], ...]:
    return tuple((word, theme) for theme in themes for word in theme_words(theme))


def theme_named(community: Community, text: str) -> Theme | None:
    themes = (*community.themes.weekly.values(), *(o.theme for o in community.themes.overrides if o.theme))
    return next((theme for word, theme in _theme_index(themes) if word in text), None)


@dataclass(frozen=True)
class ActivityQuestion:
    day: dt.date | None
    day_words: str  # the day as the resident said it (下周三), for the answer
    named: NamedDay | None
    theme: Theme | None
    meeting: bool  # asks when or where it meets


class ActivityQuestionHandler:
    """Questions about the activity of another day, a holiday, or when and where a theme meets."""

    name = "activity_question"

    def match(self, incoming: Incoming) -> ActivityQuestion | None:
        u, text, community = incoming.understanding, incoming.text, incoming.community
        if u.is_booking or u.is_request or u.label in ("cancel_booking", "query:my_bookings"):
            return None
        if not _ASKS.search(text):
            return None
        theme = theme_named(community, text)
        if theme is None and not _ACTIVITY.search(text):
            return None
        named = named_day(community, text, incoming.now.date())
        days = find_days(text, incoming.now)
        near = not days or days[0].date <= incoming.now.date() + dt.timedelta(days=2)
        if u.label == "query:today_activity" and theme is None and named is None and near:
            return None  # "明天有啥活动": queries.py answers it as ever; "下周三…" is answered here
        if theme is None and named is None and not days:
            return None  # "有什么活动吗" with no day: today's, queries.py (when the label says so)
        day = days[0].date if days else None
        words = text[days[0].start:days[0].end] if days else ""
        return ActivityQuestion(day, words, named, theme, bool(_MEETING.search(text)))

    async def handle(self, ctx: Context, asked: ActivityQuestion) -> None:
        today = ctx.now.date()
        named = asked.named
        if named is not None and asked.day is None:
            if named.holiday:
                ctx.reply(qtexts.holiday_activities(named.name, named.first, named.last, today, named.provisional))
                return
            ctx.reply(qtexts.named_day_lead(named.name, named.day, today) + "\n"
                      + _day_answer(ctx.community, named.day, named.name, asked.theme))
            return
        if asked.day is not None:
            ctx.reply(_day_answer(ctx.community, asked.day, asked.day_words or texts.day_phrase(asked.day, today),
                                  asked.theme))
            return
        assert asked.theme is not None
        for offset in range(LOOK_AHEAD_DAYS):
            day = today + dt.timedelta(days=offset)
            plan = plan_for(ctx.community, day)
            if plan.kind == "theme" and plan.theme is not None and plan.theme.title == asked.theme.title:
                ctx.reply(qtexts.meeting(texts.day_phrase(day, today), day, plan.theme))
                return
        ctx.reply(qtexts.no_such_activity_soon(asked.theme.title, LOOK_AHEAD_DAYS))


def _day_answer(community: Community, day: dt.date, when: str, theme: Theme | None) -> str:
    """That day's activity; when a theme was named, when and where it meets, or that it is not that day."""
    plan = plan_for(community, day)
    if plan.kind == "theme" and plan.theme is not None:
        if theme is not None and plan.theme.title == theme.title:
            return qtexts.meeting(when, day, plan.theme)
        answer = texts.activity_answer(when, day, plan.theme, makeup_workday=plan.makeup_workday)
    else:
        answer = texts.no_activity_answer(when, day, plan.kind, plan.holiday_name)
    if theme is not None:
        return qtexts.not_that_day(theme.title, when, day, answer.split("\n", 1)[-1] if "\n" in answer else answer)
    return answer
