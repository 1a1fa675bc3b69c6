"""The resident's answer to a pending booking question ("1", "第二个", "周六那个", "排队", "算了").

`BookingReplyHandler` is registered before the label handlers. Anything that does not read as an
answer falls through to normal routing, so a pending question never captures it.
"""

from __future__ import annotations

import logging
from typing import Any

from config.community import Service
from handlers import texts_booking as texts
from handlers.base import Context, Incoming
from handlers.booking import INTENT, book_and_tell, book_for_day, part_of
from handlers.booking_answers import Answer, answer_text, parse_answer
from handlers.booking_cancel import cancel_and_tell
from storage import booking_repo as repo
from storage import sessions_repo
from storage.models_booking import Booking, ServiceSession

log = logging.getLogger("linli.booking")


class BookingReplyHandler:
    """The answer to a pending booking or cancelling question, before any label handler."""

    name = "booking_reply"

    def match(self, incoming: Incoming) -> Answer | None:
        """How the message answers the sender's pending booking question, if it does."""
        if incoming.conversation is None or incoming.conversation.intent != INTENT:
            return None
        return parse_answer(answer_text(incoming.text), incoming.now)

    async def handle(self, ctx: Context, answer: Answer) -> None:
        state = ctx.conversation
        assert state is not None
        if state.expires_at <= ctx.now:
            await ctx.forget()
            # "算了" to a question asked long ago still deserves a plain "好的".
            ctx.reply(texts.BOOKING_DROPPED if answer.kind == "exit" else texts.CHOICE_EXPIRED)
            return
        data: dict[str, Any] = dict(state.data or {})
        if state.slot == "cancel":
            await self._cancel_answer(ctx, answer, data)
        else:
            await self._session_answer(ctx, answer, data)

    async def _session_answer(self, ctx: Context, answer: Answer, data: dict[str, Any]) -> None:
        service = ctx.community.service(str(data.get("service")))
        if service is None:
            await ctx.forget()
            ctx.reply(texts.service_unavailable())
            return
        options: list[int] = [int(i) for i in data.get("options") or []]
        waitlist = data.get("waitlist")
        item = data.get("item")
        replaces = int(data["replaces"]) if data.get("replaces") is not None else None  # a booking being moved
        if answer.kind == "exit":
            await ctx.forget()
            ctx.reply(texts.BOOKING_DROPPED)
        elif answer.kind == "number" and answer.number is not None and 1 <= answer.number <= len(options):
            await book_and_tell(ctx, service, options[answer.number - 1], item, replaces=replaces)
        elif answer.kind == "waitlist" and waitlist is not None:
            await book_and_tell(ctx, service, int(waitlist), item, join_waitlist=True, replaces=replaces)
        elif answer.kind == "waitlist":
            ctx.reply(texts.nothing_to_wait_for())
        elif answer.kind == "yes" and len(options) == 1:
            await book_and_tell(ctx, service, options[0], item, replaces=replaces)
        elif answer.kind == "yes" and not options and waitlist is not None:
            await book_and_tell(ctx, service, int(waitlist), item, join_waitlist=True, replaces=replaces)
        elif answer.kind == "day":
            await pick_offered_day(ctx, service, answer, options, item, replaces=replaces)
        else:
            ctx.reply(texts.pick_a_number(len(options)))

    async def _cancel_answer(self, ctx: Context, answer: Answer, data: dict[str, Any]) -> None:
        options: list[int] = [int(i) for i in data.get("options") or []]
        mine = {b.id: (b, s) for b, s in await repo.resident_bookings(
            ctx.session, ctx.community.id, ctx.message.sender_id, after=ctx.now)}
        still = [mine[i] for i in options if i in mine]
        if answer.kind == "exit":
            await ctx.forget()
            ctx.reply(texts.CANCEL_DROPPED)
            return
        if not still:  # all of them cancelled meanwhile (e.g. their session was closed)
            await ctx.forget()
            ctx.reply(texts.no_matching_booking(ctx.message.sender_name))
            return
        chosen: list[tuple[Booking, ServiceSession]] = []
        if answer.kind == "number" and answer.number is not None and 1 <= answer.number <= len(options):
            picked = mine.get(options[answer.number - 1])
            chosen = [picked] if picked is not None else []
        elif answer.kind == "all" or (answer.kind == "yes" and len(still) == 1):
            chosen = still
        elif answer.kind == "day":
            chosen = [(b, s) for b, s in still
                      if (answer.day is None or s.starts_at.astimezone(ctx.tz).date() == answer.day)
                      and (answer.part is None or part_of(s.starts_at, ctx.community) == answer.part)]
            if len(chosen) != 1:
                chosen = []
        if not chosen:
            ctx.reply(texts.pick_a_number(len(options)))
            return
        await ctx.forget()
        await cancel_and_tell(ctx, chosen)


async def pick_offered_day(ctx: Context, service: Service, answer: Answer, options: list[int],
                           item: str | None, *, replaces: int | None = None) -> None:
    """"周六那个": the offered session on that day; a day not offered is a new request for that day."""
    views = await sessions_repo.find_sessions(ctx.session, ctx.community.id, ids=options, include_closed=True)
    picked = [v for v in views
              if (answer.day is None or v.row.starts_at.astimezone(ctx.tz).date() == answer.day)
              and (answer.part is None or part_of(v.row.starts_at, ctx.community) == answer.part)]
    if len(picked) == 1:
        await book_and_tell(ctx, service, picked[0].id, item, replaces=replaces)
    elif picked or answer.day is None:
        ctx.reply(texts.pick_a_number(len(options)))
    else:
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        await book_for_day(ctx, service, answer.day, answer.part, item, replaces=replaces)
