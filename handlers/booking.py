"""Booking the community's free services from plain words: sessions offered, a place booked and
confirmed (or waitlisted), the volunteer team told, and the resident's own bookings listed.

Handlers (registered in bot/routing.py): `BookingHandler` (`booking:<service>`) and
`MyBookingsHandler` (`query:my_bookings`); answers to the questions asked here are handled in
booking_reply.py, cancelling in booking_cancel.py, and the words themselves read in
booking_answers.py. Group replies show the resident's masked name only; the address goes to the
volunteer team only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from config.community import Community, Service
from core.message import Outgoing
from handlers import texts_booking as texts
from handlers.base import Context, Incoming
from handlers.booking_answers import bare_booking, day_named, moves_booking
from storage import booking_repo as repo
from storage import sessions_repo
from storage.booking_repo import AlreadyBooked, Booked, BookingResult, Cancelled, Full, Waitlisted
from storage.models_booking import Booking, ServiceSession
from storage.sessions_repo import SessionView

log = logging.getLogger("linli.booking")

INTENT = "booking"  # the conversation intent of every question asked here (which session, which booking)
MAX_OPTIONS = 3


def part_of(starts_at: dt.datetime, community: Community) -> str:
    return "am" if starts_at.astimezone(ZoneInfo(community.timezone)).hour < 12 else "pm"


# ---------------------------------------------------------------------------------------------
# Shared steps


def when_of(ctx: Context, row: ServiceSession) -> str:
    return texts.when(row.starts_at, row.ends_at, ctx.tz)


def _option_line(ctx: Context, view: SessionView) -> str:
    name = texts.service_name(ctx.community, view.row.service)
    place = sessions_repo.place_of(ctx.community, view.row)
    return texts.session_line(name, when_of(ctx, view.row), place, free=view.free)


async def forget_mine(ctx: Context) -> None:
    """Drops the pending booking question, never another capability's."""
    if ctx.conversation is not None and ctx.conversation.intent == INTENT:
        await ctx.forget()


def address_of(ctx: Context, resident_id: str) -> str:
    return texts.address(ctx.community.person(resident_id))


def notify_team_booked(ctx: Context, booking: Booking, row: ServiceSession, booked_count: int, *,
                        from_waitlist: bool = False) -> None:
    service = ctx.community.service(row.service)
    if service is None:
        return
    ctx.tell_team(service.team, texts.team_new_booking(
        service.name, when_of(ctx, row), booking.resident_name, address_of(ctx, booking.resident_id),
        booking.item, booking.code, booked_count, row.capacity, from_waitlist=from_waitlist,
    ))


def notify_team_cancelled(ctx: Context, booking: Booking, row: ServiceSession) -> None:
    service = ctx.community.service(row.service)
    if service is None:
        return
    ctx.tell_team(service.team, texts.team_cancellation(
        service.name, when_of(ctx, row), booking.resident_name, address_of(ctx, booking.resident_id),
        booking.item, booking.code,
    ))


async def release(ctx: Context, booking: Booking) -> Cancelled | None:
    """Cancels one booking of the sender: the team hears of a freed place, and the first on the
    waitlist gets it (told privately). None when it was no longer active."""
    done = await repo.cancel(ctx.session, booking, now=ctx.now)
    if done is None:
        return None
    row = done.session
    if done.was == "booked":
        notify_team_cancelled(ctx, booking, row)
    if done.promoted is not None:
        promoted = done.promoted
        place = sessions_repo.place_of(ctx.community, row)
        ctx.outgoing.append(Outgoing(
            promoted.channel, ctx.community.id, "user", promoted.resident_id,
            texts.promoted_private(texts.service_name(ctx.community, row.service), when_of(ctx, row), place,
                                   promoted.code),
        ))
        booked_now = len([b for b in await repo.session_bookings(ctx.session, row.id) if b.status == "booked"])
        notify_team_booked(ctx, promoted, row, booked_now, from_waitlist=True)
        log.info("waitlisted %s got the place freed by %s", promoted.code, booking.code)
    return done


async def offer(
    ctx: Context,
    service: Service,
    lead: str,
    *,
    item: str | None,
    options: Sequence[SessionView] | None = None,
    part: str | None = None,
    exclude: Sequence[int] = (),
    waitlist_for: ServiceSession | None = None,
    question: bool = False,
    replaces: int | None = None,
) -> None:
    """Offers numbered sessions (the nearest with places unless given) and remembers the question.

    When nothing has places, the nearest full session's waitlist is offered instead. `question`:
    the answer to a question ("周六能理发吗"), worded as an offer to book. `replaces`: the booking
    this one moves (kept with the question, cancelled once the new place is taken).
    """
    if options is None:
        upcoming = await sessions_repo.find_sessions(ctx.session, ctx.community.id, service=service.id,
                                            starting_after=ctx.now)
        with_places = [v for v in upcoming if v.free > 0 and v.id not in exclude]
        if part is not None and any(part_of(v.row.starts_at, ctx.community) == part for v in with_places):
            with_places = [v for v in with_places if part_of(v.row.starts_at, ctx.community) == part]
        options = with_places[:MAX_OPTIONS]
        if not options and waitlist_for is None:
            full = [v for v in upcoming if v.free == 0]
            waitlist_for = full[0].row if full else None
    if not options and waitlist_for is None:
        await forget_mine(ctx)
        ctx.reply("\n".join(x for x in (lead, texts.nothing_bookable(service.name)) if x))
        return
    waitlist_when = when_of(ctx, waitlist_for) if waitlist_for is not None else None
    ctx.reply(texts.offer(lead, [_option_line(ctx, v) for v in options], waitlist_when=waitlist_when,
                          question=question))
    await ctx.ask(INTENT, "session", {
        "service": service.id,
        "item": item,
        "options": [v.id for v in options],
        "waitlist": waitlist_for.id if waitlist_for is not None else None,
        "replaces": replaces,
    })


async def book_and_tell(ctx: Context, service: Service, session_id: int, item: str | None, *,
                        join_waitlist: bool = False, replaces: int | None = None) -> BookingResult:
    """Books (or waitlists) the sender into a session and says what happened to whom it concerns.

    `replaces`: a booking of the sender's this one moves. It is cancelled once the new place is
    taken, never before: a full session or a waitlist place leaves it as it was.
    """
    m = ctx.message
    moving = await _movable(ctx, replaces)
    result = await repo.book(
        ctx.session, community_id=ctx.community.id, session_id=session_id, resident_id=m.sender_id,
        resident_name=m.sender_name, channel=m.channel, group_id=m.group_id, item=item, now=ctx.now,
        join_waitlist=join_waitlist,
    )
    if isinstance(result, Booked):
        await forget_mine(ctx)
        row = result.session
        place = sessions_repo.place_of(ctx.community, row)
        booked = texts.booked(m.sender_name, service.name, when_of(ctx, row), place, result.booking.code,
                              service.note)
        if moving is not None and await release(ctx, moving[0]) is not None:
            log.info("moved %s to %s", moving[0].code, result.booking.code)
            booked = texts.moved(booked, when_of(ctx, moving[1]), moving[0].code)
        ctx.reply(booked)
        notify_team_booked(ctx, result.booking, row, result.booked)
        log.info("booked %s into session %s (%s/%s)", result.booking.code, row.id, result.booked, row.capacity)
    elif isinstance(result, Waitlisted):
        await forget_mine(ctx)
        waiting = texts.waitlisted(m.sender_name, service.name, when_of(ctx, result.session), result.position,
                                   result.booking.code)
        ctx.reply(waiting if moving is None else texts.kept_while_waiting(waiting, when_of(ctx, moving[1]),
                                                                          moving[0].code))
    elif isinstance(result, AlreadyBooked):
        await forget_mine(ctx)
        ctx.reply(texts.already_booked(m.sender_name, service.name, when_of(ctx, result.session),
                                       result.booking.code, result.booking.status))
    elif isinstance(result, Full):
        await offer(ctx, service, texts.session_full(service.name, when_of(ctx, result.session)), item=item,
                    exclude=[result.session.id], waitlist_for=result.session, replaces=replaces)
    elif result.reason == "past" and result.session is not None:
        await offer(ctx, service, texts.session_started(service.name, when_of(ctx, result.session)), item=item,
                    replaces=replaces)
    else:
        log.info("session %s is %s while %s was choosing it", session_id, result.reason, m.sender_id)
        await offer(ctx, service, texts.session_gone(service.name), item=item, exclude=[session_id],
                    replaces=replaces)
    return result


async def _movable(ctx: Context, booking_id: int | None) -> tuple[Booking, ServiceSession] | None:
    """The sender's booking `booking_id` if it is still theirs, active and not yet started."""
    if booking_id is None:
        return None
    mine = await repo.resident_bookings(ctx.session, ctx.community.id, ctx.message.sender_id, after=ctx.now)
    return next(((b, s) for b, s in mine if b.id == booking_id), None)


async def booking_to_move(ctx: Context, service: Service) -> Booking | None:
    """The one upcoming booking of `service` a "改成周日" moves (None with none, or several: then
    the new one is booked beside them, and the resident cancels what they no longer want)."""
    mine = [b for b, _ in await repo.resident_bookings(ctx.session, ctx.community.id, ctx.message.sender_id,
                                                       after=ctx.now) if b.service == service.id]
    return mine[0] if len(mine) == 1 else None


async def book_for_day(ctx: Context, service: Service, day: dt.date, part: str | None, item: str | None, *,
                       replaces: int | None = None) -> None:
    """"周六上午" for a service: book the one matching session, or say why not and offer others."""
    today = ctx.now.date()
    if day < today:
        await offer(ctx, service, texts.day_passed(day), item=item, part=part, replaces=replaces)
        return
    that_day = await sessions_repo.sessions_on(ctx.session, ctx.community, day, service=service.id)
    matching = [v for v in that_day if part is None or part_of(v.row.starts_at, ctx.community) == part]
    if not matching:
        last = sessions_repo.horizon_end(today)
        lead = texts.too_far(day, last) if day > last else texts.no_session_that_day(service.name, day, part)
        await offer(ctx, service, lead, item=item, part=part, replaces=replaces)
        return
    upcoming = [v for v in matching if v.row.starts_at > ctx.now]
    if not upcoming:
        await offer(ctx, service, texts.session_started(service.name, when_of(ctx, matching[-1].row)),
                    item=item, part=part, replaces=replaces)
        return
    with_places = [v for v in upcoming if v.free > 0]
    if len(upcoming) == 1 or len(with_places) == 1:
        await book_and_tell(ctx, service, (with_places or upcoming)[0].id, item, replaces=replaces)
    elif with_places:
        await offer(ctx, service, texts.which_session(service.name, day), item=item,
                    options=with_places[:MAX_OPTIONS], replaces=replaces)
    else:
        await offer(ctx, service, texts.session_full(service.name, texts.day_text(day)), item=item,
                    exclude=[v.id for v in upcoming], waitlist_for=upcoming[0].row, replaces=replaces)


class BookingHandler:
    """booking:<service> — "我家热水壶坏了，周六上午能修不", "想理个发", "圣诞节理发".

    A question ("周六能理发吗") is answered before this (booking_questions.py) and books nothing.
    """

    name = "booking"

    def match(self, incoming: Incoming) -> str | None:
        """The service asked for (never in a staff, volunteer or street group: commands only there)."""
        u = incoming.understanding
        if incoming.in_work_group:
            return None
        if u.is_booking:
            return u.service or u.label.partition(":")[2]
        if u.is_chitchat:  # "圣诞节理发", "12.19 理发": a day and a service, and nothing else
            return bare_booking(incoming.community, incoming.text, incoming.now)
        return None

    async def handle(self, ctx: Context, service_id: str) -> None:
        u = ctx.understanding
        service = ctx.community.service(service_id)
        if service is None:
            await forget_mine(ctx)
            ctx.reply(texts.service_unavailable())
            return
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        day, part = day_named(ctx.community, u, ctx.text, ctx.now)  # 元旦, 圣诞节, 12.19 besides the label's
        # "改成周日上午吧": the resident's booking of this service moves, rather than a second one added.
        moving = await booking_to_move(ctx, service) if moves_booking(ctx.text) else None
        replaces = moving.id if moving is not None else None
        if day is not None:
            await book_for_day(ctx, service, day, part, u.item, replaces=replaces)
        else:
            await offer(ctx, service, texts.ask_which(service.name), item=u.item, part=part, replaces=replaces)


class MyBookingsHandler:
    """query:my_bookings — "我的预约", "我约的啥时候来着": the sender's own upcoming bookings."""

    name = "my_bookings"

    def match(self, incoming: Incoming) -> bool:
        return incoming.understanding.label == "query:my_bookings"

    async def handle(self, ctx: Context, _: bool) -> None:
        m = ctx.message
        mine = await repo.resident_bookings(ctx.session, ctx.community.id, m.sender_id, after=ctx.now)
        if not mine:
            ctx.reply(texts.no_bookings(m.sender_name))
            return
        lines = []
        for booking, row in mine:
            position = await repo.waitlist_position(ctx.session, booking) if booking.status == "waitlisted" else None
            lines.append(texts.my_booking_line(texts.service_name(ctx.community, row.service), when_of(ctx, row),
                                               booking.code, booking.status, position))
        ctx.reply(texts.my_bookings(m.sender_name, lines))
