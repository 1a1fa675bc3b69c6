"""Booking the community's free services from plain words: sessions, choices, waitlist, cancelling.

Handlers (registered in bot/routing.py, in this order):
- `BookingReplyHandler`: the resident's answer to a pending booking question ("1", "第二个",
  "周六那个", "排队", "算了"); registered before the label handlers. Anything that does not look
  like an answer falls through to normal routing, so a pending question never captures it.
- `BookingHandler` (`booking:<service>`), `MyBookingsHandler` (`query:my_bookings`),
  `CancelBookingHandler` (`cancel_booking`, or "取消 <code>").

Group replies show the resident's masked name only; the address goes to the volunteer team only.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from config.community import Community, Service
from core.message import Outgoing
from handlers import texts_booking as texts
from handlers.base import Context, Incoming
from nlp.dates import cn_number, find_days, find_parts
from nlp.understanding import Understanding
from storage import booking_repo as repo
from storage.booking_repo import (
    AlreadyBooked,
    Booked,
    BookingResult,
    Full,
    SessionView,
    Waitlisted,
)
from storage.models_booking import Booking, ServiceSession

log = logging.getLogger("linli.booking")

INTENT = "booking"
MAX_OPTIONS = 3

# Words for each service: found anywhere in a resident's text ("周六的理发不去了"), or typed exactly
# by staff as a command's service ("加场 理发 …"), besides the service's id and configured name.
SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "haircut": ("理发", "剪头", "剪发", "推头", "推个头", "义剪", "头发"),
    "appliance_repair": ("家电维修", "维修", "修理", "家电", "小家电", "修家电", "电器", "修"),
    "free_clinic": ("义诊", "体检", "血压", "血糖", "看病", "医生"),
    "knife_sharpening": ("磨刀", "磨剪子", "磨剪", "磨"),
    "legal_aid": ("法律咨询", "法律", "律师"),
}


def services_mentioned(community: Community, text: str) -> set[str]:
    """The services a (normalized) text names, by config name or by the usual words."""
    found = {s.id for s in community.services if s.name in text}
    found |= {sid for sid, words in SERVICE_WORDS.items() if any(w in text for w in words)}
    return found


def service_from_word(community: Community, word: str) -> str | None:
    """The service a staff member means by one word: its id, its configured name, or a usual word."""
    for service in community.services:
        if word in (service.id, service.name) or word in SERVICE_WORDS.get(service.id, ()):
            return service.id
    return None


def part_of(starts_at: dt.datetime, community: Community) -> str:
    return "am" if starts_at.astimezone(ZoneInfo(community.timezone)).hour < 12 else "pm"


# ---------------------------------------------------------------------------------------------
# Reading an answer to a pending question


@dataclass(frozen=True)
class Answer:
    kind: Literal["exit", "number", "day", "waitlist", "yes", "all"]
    number: int | None = None
    day: dt.date | None = None
    part: str | None = None


_PUNCT = re.compile(r"[\s,.!?;:~，。！？；：、…'\"“”‘’()（）\[\]【】-]+")
_EXIT = re.compile(r"^(?:算了|不约了|不用了|不要了|取消|不了|先不约了|先不了|不约|没事了|不用|不去了|不需要了)"
                   r"(?:吧|啦|了|哈|呀|啊|谢谢)*$")
_NUMBER = re.compile(r"^(?:我?(?:要|选|约|就|就要|就约))?第?(\d{1,2}|[一二两三四五六七八九十]{1,3})"
                     r"(?:个|场|号场)?(?:吧|的|那个|那场|就行|好了|谢谢|呀|啊)*$")
_ALL = re.compile(r"^(?:都|全部|全都|两个都|都要)(?:取消|不去了|退了|退掉)?(?:吧|了|啦|谢谢)*$")
_WAITLIST = re.compile(r"排队|候补|等位|排个队")
_YES = {"好", "好的", "行", "可以", "嗯", "嗯嗯", "对", "是", "是的", "ok", "好吧", "行吧", "可以的", "没问题",
        "约吧", "就这个", "就它", "好嘞", "中"}
# What may surround a day or a waitlist word in an answer ("周六那个吧", "那就排队吧").
_FILLER = re.compile(
    r"那个|那场|这个|这场|那就|就|的|吧|要|选|约|我|呢|啊|呀|嗯|哈|了|啦|谢谢|麻烦|可以|行|好|一个|个|场"
)


def answer_text(text: str) -> str:
    """A normalized text as `parse_answer` reads it: without punctuation or spaces."""
    return _PUNCT.sub("", text)


def parse_answer(text: str, now: dt.datetime) -> Answer | None:
    """How a short reply answers "which session?" / "which booking?"; None if it is no answer.

    `text` is normalized and without punctuation or spaces (`answer_text`).
    """
    if not text or len(text) > 16:
        return None
    if _ALL.match(text):
        return Answer("all")
    if _EXIT.match(text):
        return Answer("exit")
    m = _NUMBER.match(text)
    if m:
        number = cn_number(m.group(1).replace("两", "二"))
        return Answer("number", number=number) if number is not None else None
    if text in _YES:
        return Answer("yes")
    if _WAITLIST.search(text) and not _FILLER.sub("", _WAITLIST.sub("", text)):
        return Answer("waitlist")
    days = find_days(text, now)
    parts = find_parts(text)
    if days or parts:
        rest = text
        spans = [(d.start, d.end) for d in days] + [(s, e) for _, s, e in parts]
        for start, end in sorted(spans, reverse=True):
            rest = rest[:start] + rest[end:]
        if not _FILLER.sub("", rest):
            return Answer("day", day=days[0].date if days else None, part=parts[0][0] if parts else None)
    return None


# ---------------------------------------------------------------------------------------------
# Shared steps


def when_of(ctx: Context, row: ServiceSession) -> str:
    return texts.when(row.starts_at, row.ends_at, ctx.tz)


def _option_line(ctx: Context, view: SessionView) -> str:
    name = texts.service_name(ctx.community, view.row.service)
    return texts.session_line(name, when_of(ctx, view.row), repo.place_of(ctx.community, view.row), free=view.free)


async def _forget_mine(ctx: Context) -> None:
    """Drops the pending booking question, never another capability's."""
    if ctx.conversation is not None and ctx.conversation.intent == INTENT:
        await ctx.forget()


def _address_of(ctx: Context, resident_id: str) -> str:
    return texts.address(ctx.community.person(resident_id))


def _notify_team_booked(ctx: Context, booking: Booking, row: ServiceSession, booked_count: int, *,
                        from_waitlist: bool = False) -> None:
    service = ctx.community.service(row.service)
    if service is None:
        return
    ctx.tell_team(service.team, texts.team_new_booking(
        service.name, when_of(ctx, row), booking.resident_name, _address_of(ctx, booking.resident_id),
        booking.item, booking.code, booked_count, row.capacity, from_waitlist=from_waitlist,
    ))


def _notify_team_cancelled(ctx: Context, booking: Booking, row: ServiceSession) -> None:
    service = ctx.community.service(row.service)
    if service is None:
        return
    ctx.tell_team(service.team, texts.team_cancellation(
        service.name, when_of(ctx, row), booking.resident_name, _address_of(ctx, booking.resident_id),
        booking.item, booking.code,
    ))


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
) -> None:
    """Offers numbered sessions (the nearest with places unless given) and remembers the question.

    When nothing has places, the nearest full session's waitlist is offered instead.
    """
    if options is None:
        upcoming = await repo.find_sessions(ctx.session, ctx.community.id, service=service.id,
                                            starting_after=ctx.now)
        with_places = [v for v in upcoming if v.free > 0 and v.id not in exclude]
        if part is not None and any(part_of(v.row.starts_at, ctx.community) == part for v in with_places):
            with_places = [v for v in with_places if part_of(v.row.starts_at, ctx.community) == part]
        options = with_places[:MAX_OPTIONS]
        if not options and waitlist_for is None:
            full = [v for v in upcoming if v.free == 0]
            waitlist_for = full[0].row if full else None
    if not options and waitlist_for is None:
        await _forget_mine(ctx)
        ctx.reply("\n".join(x for x in (lead, texts.nothing_bookable(service.name)) if x))
        return
    waitlist_when = when_of(ctx, waitlist_for) if waitlist_for is not None else None
    ctx.reply(texts.offer(lead, [_option_line(ctx, v) for v in options], waitlist_when=waitlist_when))
    await ctx.ask(INTENT, "session", {
        "service": service.id,
        "item": item,
        "options": [v.id for v in options],
        "waitlist": waitlist_for.id if waitlist_for is not None else None,
    })


async def book_and_tell(ctx: Context, service: Service, session_id: int, item: str | None, *,
                        join_waitlist: bool = False) -> BookingResult:
    """Books (or waitlists) the sender into a session and says what happened to whom it concerns."""
    m = ctx.message
    result = await repo.book(
        ctx.session, community_id=ctx.community.id, session_id=session_id, resident_id=m.sender_id,
        resident_name=m.sender_name, channel=m.channel, group_id=m.group_id, item=item, now=ctx.now,
        join_waitlist=join_waitlist,
    )
    if isinstance(result, Booked):
        await _forget_mine(ctx)
        row = result.session
        ctx.reply(texts.booked(m.sender_name, service.name, when_of(ctx, row), repo.place_of(ctx.community, row),
                               result.booking.code, service.note))
        _notify_team_booked(ctx, result.booking, row, result.booked)
        log.info("booked %s into session %s (%s/%s)", result.booking.code, row.id, result.booked, row.capacity)
    elif isinstance(result, Waitlisted):
        await _forget_mine(ctx)
        ctx.reply(texts.waitlisted(m.sender_name, service.name, when_of(ctx, result.session), result.position,
                                   result.booking.code))
    elif isinstance(result, AlreadyBooked):
        await _forget_mine(ctx)
        ctx.reply(texts.already_booked(m.sender_name, service.name, when_of(ctx, result.session),
                                       result.booking.code, result.booking.status))
    elif isinstance(result, Full):
        await offer(ctx, service, texts.session_full(service.name, when_of(ctx, result.session)), item=item,
                    exclude=[result.session.id], waitlist_for=result.session)
    elif result.reason == "past" and result.session is not None:
        await offer(ctx, service, texts.session_started(service.name, when_of(ctx, result.session)), item=item)
    else:
        log.info("session %s is %s while %s was choosing it", session_id, result.reason, m.sender_id)
        await offer(ctx, service, texts.session_gone(service.name), item=item, exclude=[session_id])
    return result


async def book_for_day(ctx: Context, service: Service, day: dt.date, part: str | None, item: str | None) -> None:
    """"周六上午" for a service: book the one matching session, or say why not and offer others."""
    today = ctx.now.date()
    if day < today:
        await offer(ctx, service, texts.day_passed(day), item=item, part=part)
        return
    that_day = await repo.sessions_on(ctx.session, ctx.community, day, service=service.id)
    matching = [v for v in that_day if part is None or part_of(v.row.starts_at, ctx.community) == part]
    if not matching:
        last = repo.horizon_end(today)
        lead = texts.too_far(day, last) if day > last else texts.no_session_that_day(service.name, day, part)
        await offer(ctx, service, lead, item=item, part=part)
        return
    upcoming = [v for v in matching if v.row.starts_at > ctx.now]
    if not upcoming:
        await offer(ctx, service, texts.session_started(service.name, when_of(ctx, matching[-1].row)),
                    item=item, part=part)
        return
    with_places = [v for v in upcoming if v.free > 0]
    if len(upcoming) == 1 or len(with_places) == 1:
        await book_and_tell(ctx, service, (with_places or upcoming)[0].id, item)
    elif with_places:
        await offer(ctx, service, texts.which_session(service.name, day), item=item,
                    options=with_places[:MAX_OPTIONS])
    else:
        await offer(ctx, service, texts.session_full(service.name, texts.day_text(day)), item=item,
                    exclude=[v.id for v in upcoming], waitlist_for=upcoming[0].row)


# ---------------------------------------------------------------------------------------------
# Handlers


class BookingHandler:
    """booking:<service> — "我家热水壶坏了，周六上午能修不", "想理个发"."""

    name = "booking"

    def match(self, incoming: Incoming) -> str | None:
        """The service asked for."""
        u = incoming.understanding
        return (u.service or u.label.partition(":")[2]) if u.is_booking else None

    async def handle(self, ctx: Context, service_id: str) -> None:
        u = ctx.understanding
        service = ctx.community.service(service_id)
        if service is None:
            await _forget_mine(ctx)
            ctx.reply(texts.service_unavailable())
            return
        await repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        if u.date is not None:
            await book_for_day(ctx, service, u.date, u.part, u.item)
        else:
            await offer(ctx, service, texts.ask_which(service.name), item=u.item, part=u.part)


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
            ctx.reply(texts.CHOICE_EXPIRED)
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
        if answer.kind == "exit":
            await ctx.forget()
            ctx.reply(texts.BOOKING_DROPPED)
        elif answer.kind == "number" and answer.number is not None and 1 <= answer.number <= len(options):
            await book_and_tell(ctx, service, options[answer.number - 1], item)
        elif answer.kind == "waitlist" and waitlist is not None:
            await book_and_tell(ctx, service, int(waitlist), item, join_waitlist=True)
        elif answer.kind == "waitlist":
            ctx.reply(texts.nothing_to_wait_for())
        elif answer.kind == "yes" and len(options) == 1:
            await book_and_tell(ctx, service, options[0], item)
        elif answer.kind == "yes" and not options and waitlist is not None:
            await book_and_tell(ctx, service, int(waitlist), item, join_waitlist=True)
        elif answer.kind == "day":
            await pick_offered_day(ctx, service, answer, options, item)
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
                                   item: str | None) -> None:
    """"周六那个": the offered session on that day; a day not offered is a new request for that day."""
    views = await repo.find_sessions(ctx.session, ctx.community.id, ids=options, include_closed=True)
    picked = [v for v in views
              if (answer.day is None or v.row.starts_at.astimezone(ctx.tz).date() == answer.day)
              and (answer.part is None or part_of(v.row.starts_at, ctx.community) == answer.part)]
    if len(picked) == 1:
        await book_and_tell(ctx, service, picked[0].id, item)
    elif picked or answer.day is None:
        ctx.reply(texts.pick_a_number(len(options)))
    else:
        await repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        await book_for_day(ctx, service, answer.day, answer.part, item)


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


# "取消 K7P3QX" / "取消预约 k7p3qx" / "退掉 K7P3QX": six letters or digits after a cancel word.
_CANCEL_CODE = re.compile(
    r"^(?:请|帮我)?(?:取消|退掉|退订|撤销)(?:预约|候补)?(?:码)?[:：]?\s*([a-z0-9]{6})(?:吧|谢谢)?$"
)


def cancel_code(text: str) -> str | None:
    """The booking code of a "取消 <code>" command (normalized text), upper-cased."""
    m = _CANCEL_CODE.match(text.replace(" ", ""))
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class Cancelling:
    """Which of the sender's bookings a cancel request names: one by its code, or those of the
    services, day and part of day it mentions (all of them when it says 都)."""

    code: str | None = None
    services: frozenset[str] = frozenset()
    day: dt.date | None = None
    part: str | None = None
    everything: bool = False


def read_cancelling(community: Community, understanding: Understanding, text: str, now: dt.datetime
                    ) -> Cancelling | None:
    """What a cancel request (normalized `text`) names; None when the message is none: neither
    labelled cancel_booking nor "取消 <code>"."""
    code = cancel_code(_PUNCT.sub(" ", text).strip())
    if code is not None:
        return Cancelling(code=code)
    if understanding.label != "cancel_booking":
        return None
    days = find_days(text, now)
    parts = find_parts(text)
    return Cancelling(
        services=frozenset(services_mentioned(community, text)),
        day=understanding.date or (days[0].date if days else None),
        part=understanding.part or (parts[0][0] if parts else None),
        everything=any(w in text for w in ("都", "全部", "全都")),
    )


async def cancel_and_tell(ctx: Context, chosen: Sequence[tuple[Booking, ServiceSession]]) -> None:
    """Cancels bookings of the sender; the team hears of freed places, the first waitlisted gets one."""
    lines = []
    for booking, _ in chosen:
        done = await repo.cancel(ctx.session, booking, now=ctx.now)
        if done is None:
            continue
        row = done.session
        service_name = texts.service_name(ctx.community, row.service)
        lines.append((service_name, when_of(ctx, row), booking.code))
        if done.was == "booked":
            _notify_team_cancelled(ctx, booking, row)
        if done.promoted is not None:
            promoted = done.promoted
            place = repo.place_of(ctx.community, row)
            ctx.outgoing.append(Outgoing(
                promoted.channel, ctx.community.id, "user", promoted.resident_id,
                texts.promoted_private(service_name, when_of(ctx, row), place, promoted.code),
            ))
            booked_now = len([b for b in await repo.session_bookings(ctx.session, row.id) if b.status == "booked"])
            _notify_team_booked(ctx, promoted, row, booked_now, from_waitlist=True)
            log.info("waitlisted %s got the place freed by %s", promoted.code, booking.code)
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
        if not mine:
            await _forget_mine(ctx)
            ctx.reply(texts.no_bookings(m.sender_name))
            return
        matching = [
            (b, s) for b, s in mine
            if (not asked.services or b.service in asked.services)
            and (asked.day is None or s.starts_at.astimezone(ctx.tz).date() == asked.day)
            and (asked.part is None or part_of(s.starts_at, ctx.community) == asked.part)
        ]
        if len(matching) == 1 or (matching and asked.everything):
            await _forget_mine(ctx)
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
        await _forget_mine(ctx)
        await cancel_and_tell(ctx, [(booking, row)])
