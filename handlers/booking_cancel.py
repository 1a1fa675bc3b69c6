"""Cancelling bookings: "周六的理发不去了", "取消 K7P3QX" — only ever the sender's own; a freed place
goes to the first on the waitlist, and the volunteer team hears of both."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from handlers import texts_booking as texts
from handlers.base import Context, Incoming
from handlers.booking import INTENT, forget_mine, part_of, release, when_of
from handlers.booking_answers import Cancelling, answer_text, is_exit, read_cancelling
from handlers.texts_questions import EXIT_ACK
from storage import booking_repo as repo
from storage.models_booking import Booking, ServiceSession

log = logging.getLogger("linli.booking")


async def cancel_and_tell(ctx: Context, chosen: Sequence[tuple[Booking, ServiceSession]]) -> None:
    """Cancels bookings of the sender; the team hears of freed places, the first waitlisted gets one."""
    lines = []
    for booking, _ in chosen:
        done = await release(ctx, booking)
        if done is not None:
            lines.append((texts.service_name(ctx.community, done.session.service), when_of(ctx, done.session),
                          booking.code))
    name = ctx.message.sender_name
    if not lines:
        ctx.reply(texts.no_matching_booking(name))
    elif len(lines) == 1:
        ctx.reply(texts.cancelled(name, *lines[0]))
    else:
        ctx.reply(texts.cancelled_many(name, [f"{s} {w}（{c}）" for s, w, c in lines]))


class CancelBookingHandler:
    """cancel_booking — "周六的理发不去了", "取消 K7P3QX"; only ever the sender's own bookings."""

    name = "cancel_booking"

    def match(self, incoming: Incoming) -> Cancelling | None:
        """The booking code, or the services, day and part of day the cancel request names."""
        return read_cancelling(incoming.community, incoming.understanding, incoming.text, incoming.now)

    async def handle(self, ctx: Context, asked: Cancelling) -> None:
        m = ctx.message
        if asked.code is not None:
            await self._by_code(ctx, asked.code)
            return
        mine = await repo.resident_bookings(ctx.session, ctx.community.id, m.sender_id, after=ctx.now)
        if not mine and is_exit(answer_text(ctx.text)):
            # A bare "算了" from someone with nothing booked calls nothing off: "好的" when it is said
            # to the bot, silence when it is said to the group (it is talk there).
            if m.mentions_bot or not m.is_group:
                ctx.reply(EXIT_ACK)
            return
        if not mine:
            await forget_mine(ctx)
            ctx.reply(texts.no_bookings(m.sender_name))
            return
        matching = [
            (b, s) for b, s in mine
            if (not asked.services or b.service in asked.services)
            and (asked.day is None or s.starts_at.astimezone(ctx.tz).date() == asked.day)
            and (asked.part is None or part_of(s.starts_at, ctx.community) == asked.part)
        ]
        if len(matching) == 1 or (matching and asked.everything):
            await forget_mine(ctx)
            await cancel_and_tell(ctx, matching)
            return
        choices = matching or mine
        lines = [texts.my_booking_line(texts.service_name(ctx.community, s.service), when_of(ctx, s), b.code,
                                       b.status, None) for b, s in choices]
        lead = "" if matching else texts.no_matching_booking(m.sender_name) + "\n"
        ctx.reply(lead + texts.which_to_cancel(m.sender_name, lines))
        await ctx.ask(INTENT, "cancel", {"options": [b.id for b, _ in choices]})

    async def _by_code(self, ctx: Context, code: str) -> None:
        booking = await repo.booking_by_code(ctx.session, ctx.community.id, code)
        # Someone else's code gets the same answer as an unknown one: codes are not secrets,
        # but whether a code exists is nobody else's business.
        if booking is None or booking.resident_id != ctx.message.sender_id:
            log.info("cancel with unknown or foreign code %s by %s", code, ctx.message.sender_id)
            ctx.reply(texts.unknown_code(code))
            return
        if booking.status == "cancelled":
            ctx.reply(texts.already_cancelled(code))
            return
        row = await ctx.session.get(ServiceSession, booking.session_id)
        if row is None or row.starts_at <= ctx.now:
            ctx.reply(texts.too_late_to_cancel(code))
            return
        await forget_mine(ctx)
        await cancel_and_tell(ctx, [(booking, row)])
