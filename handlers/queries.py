"""Residents' questions the bot answers from configuration: today's (or another day's) activity."""

from __future__ import annotations

import datetime as dt

from handlers import texts
from handlers.base import Context, Incoming
from handlers.themes import plan_for
from nlp.dates import parse_day


class TodayActivityHandler:
    """query:today_activity — "今天有什么活动", "明天啥活动", "周四干啥"."""

    name = "today_activity"

    def match(self, incoming: Incoming) -> dt.date | None:
        """The day asked about."""
        if incoming.understanding.label != "query:today_activity":
            return None
        today = incoming.now.date()
        day = incoming.understanding.date
        if day is None:  # LABELS.md dates bookings only: read "明天啥活动" / "周四干啥" here
            day = parse_day(incoming.text, incoming.now)[0] or today
        # "昨天有啥活动" is not a question we can help with; answer for today.
        return max(day, today)

    async def handle(self, ctx: Context, day: dt.date) -> None:
        today = ctx.now.date()
        when = texts.day_phrase(day, today)
        plan = plan_for(ctx.community, day)
        if plan.kind == "theme" and plan.theme is not None:
            ctx.reply(texts.activity_answer(when, day, plan.theme, makeup_workday=plan.makeup_workday))
        else:
            ctx.reply(texts.no_activity_answer(when, day, plan.kind, plan.holiday_name))
