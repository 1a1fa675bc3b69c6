"""Residents' questions the bot answers from configuration: today's (or another day's) activity."""

from __future__ import annotations

from core.message import Message
from handlers import texts
from handlers.base import Context
from handlers.themes import plan_for
from nlp.understanding import Understanding
from storage.models import ConversationState


class TodayActivityHandler:
    """query:today_activity — "今天有什么活动", "明天啥活动", "周四干啥"."""

    name = "today_activity"

    def match(self, message: Message, understanding: Understanding, conversation: ConversationState | None) -> bool:
        return understanding.label == "query:today_activity"

    async def handle(self, ctx: Context) -> None:
        today = ctx.now.date()
        day = ctx.understanding.date
        if day is None:  # LABELS.md dates bookings only: read "明天啥活动" / "周四干啥" here
            from nlp.dates import parse_day

            day = parse_day(ctx.understanding.text or ctx.message.text, ctx.now)[0] or today
        if day < today:  # "昨天有啥活动" is not a question we can help with; answer for today
            day = today
        when = texts.day_phrase(day, today)
        plan = plan_for(ctx.community, day)
        if plan.kind == "theme" and plan.theme is not None:
            ctx.reply(texts.activity_answer(when, day, plan.theme, makeup_workday=plan.makeup_workday))
        else:
            ctx.reply(texts.no_activity_answer(when, day, plan.kind, plan.holiday_name))
