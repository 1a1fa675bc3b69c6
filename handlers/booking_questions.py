"""Questions about a service are not bookings: "周六能理发吗", "今天下午义诊还能约吗", "今天有义诊吗"
get the sessions with the places left and an offer ("回复“1”预约"); nothing is booked until the
resident answers (booking_reply.py). An explicit ask ("帮我约", "我要约", "给我约个") books as
before (booking.py). Whether a message asks is read from its words (booking_answers.is_question),
not from the classifier, so a better model changes nothing here.

Also: "@社区小助手 算了" with nothing pending is acknowledged (`AddressedExitHandler`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from config.community import Service
from handlers import texts_booking
from handlers import texts_questions as texts
from handlers.base import Context, Incoming
from handlers.booking import MAX_OPTIONS, offer, part_of, when_of
from handlers.booking_answers import answer_text, day_named, is_exit, is_question, moves_booking, services_mentioned
from storage import sessions_repo


@dataclass(frozen=True)
class Asked:
    service: str
    day: dt.date | None
    part: str | None
    item: str | None


class AvailabilityQuestionHandler:
    """A question about a service's sessions, before the booking handler books anything."""

    name = "availability_question"

    def match(self, incoming: Incoming) -> Asked | None:
        u, text = incoming.understanding, incoming.text
        if incoming.in_work_group:  # commands only there: "周六能理发吗" among staff asks nothing of the bot
            return None
        if not (u.is_booking or u.label == "query:today_activity" or (u.is_chitchat and incoming.message.mentions_bot)):
            return None
        if not is_question(text) or (u.is_booking and moves_booking(text)):
            return None  # "能不能推到下午": a booking to move (booking.py), not a question of places
        if u.is_booking:
            service = u.service or u.label.partition(":")[2]
        elif u.label == "query:today_activity" or (u.is_chitchat and incoming.message.mentions_bot):
            # "今天有义诊吗"; in a message the classifier did not take as a booking, "修" alone names no service
            named = {s for s in services_mentioned(incoming.community, text, shortest=2)
                     if incoming.community.service(s) is not None}
            if len(named) != 1:
                return None
            (service,) = named
        else:
            return None
        day, part = day_named(incoming.community, u, text, incoming.now)
        return Asked(service, day, part, u.item)

    async def handle(self, ctx: Context, asked: Asked) -> None:
        service = ctx.community.service(asked.service)
        if service is None:
            ctx.reply(texts_booking.service_unavailable())
            return
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        await answer_availability(ctx, service, asked.day, asked.part, asked.item)


async def answer_availability(ctx: Context, service: Service, day: dt.date | None, part: str | None,
                              item: str | None) -> None:
    """The sessions (of that day, or the next ones) with places left, offered to book."""
    today = ctx.now.date()
    if day is None:
        await offer(ctx, service, texts.ahead(service.name), item=item, part=part, question=True)
        return
    if day < today:
        await offer(ctx, service, texts_booking.day_passed(day), item=item, part=part, question=True)
        return
    that_day = await sessions_repo.sessions_on(ctx.session, ctx.community, day, service=service.id)
    matching = [v for v in that_day if part is None or part_of(v.row.starts_at, ctx.community) == part]
    upcoming = [v for v in matching if v.row.starts_at > ctx.now]
    with_places = [v for v in upcoming if v.free > 0]
    if with_places:
        await offer(ctx, service, texts.that_day(service.name, day, part, today), item=item,
                    options=with_places[:MAX_OPTIONS], question=True)
    elif upcoming:
        await offer(ctx, service, texts.full_that_day(service.name, day, today), item=item,
                    exclude=[v.id for v in upcoming], waitlist_for=upcoming[0].row, question=True)
    elif matching:
        await offer(ctx, service, texts_booking.session_started(service.name, when_of(ctx, matching[-1].row)),
                    item=item, part=part, question=True)
    else:
        last = sessions_repo.horizon_end(today)
        lead = (texts_booking.too_far(day, last) if day > last
                else texts.none_that_day(service.name, day, part, today))
        await offer(ctx, service, lead, item=item, question=True)


class AddressedExitHandler:
    """"@社区小助手 算了" with no question pending: acknowledged (unaddressed, it is talk)."""

    name = "addressed_exit"

    def match(self, incoming: Incoming) -> bool:
        return incoming.message.mentions_bot and is_exit(answer_text(incoming.text))

    async def handle(self, ctx: Context, _: bool) -> None:
        ctx.reply(texts.EXIT_ACK)
