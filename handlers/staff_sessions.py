"""Staff commands on service sessions: 场次列表, 加场, 关闭场次, 场次名单, 导出, 场次帮助.

Matched on the text itself before any label handler (the classifier does not know commands).
Only configured staff may use them, and only in the staff group or a private chat, because
rosters show residents' names and addresses. Anyone else gets a polite refusal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from dataclasses import dataclass

from config.community import Community
from core.message import Outgoing
from handlers import texts_booking as texts
from handlers.base import Context, Incoming
from handlers.booking import when_of
from handlers.booking_answers import service_from_word
from nlp.dates import find_days, resolve_day_of_month
from nlp.normalize import normalize
from storage import booking_repo as repo
from storage import sessions_repo
from storage.models_booking import ServiceSession

log = logging.getLogger("linli.booking")

MAX_LISTED = 30

_COMMAND = re.compile(
    r"^(?:(?P<help>场次帮助)|(?P<list>场次列表)(?:\s+(?P<list_service>\S{1,10}))?"
    r"|加场\s+(?P<add>\S.*)"
    r"|(?P<verb>关闭场次|场次名单|导出)\s*#?(?P<id>\d{1,9}))$"
)
_TIME_RANGE = re.compile(
    r"(?P<h1>\d{1,2})[:点](?P<m1>\d{2})?\s*(?:-|~|到|至)\s*(?P<h2>\d{1,2})(?:[:点](?P<m2>\d{2})?)?"
)
_DATE = re.compile(r"(?:(?P<y>\d{4})[-/.年])?(?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?")
_CAPACITY = re.compile(r"(?P<n>\d{1,4})\s*(?:人|位|个名额|名)|名额\s*(?P<n2>\d{1,4})")


@dataclass(frozen=True)
class Command:
    verb: str  # help | list | add | close | roster | export
    session_id: int | None = None
    args: str = ""


def parse_command(text: str) -> Command | None:
    """A session command in a message as typed ("＠社区小助手 场次帮助"), or None."""
    return command_in(normalize(text))


def command_in(text: str) -> Command | None:
    """The session command a normalized text is, or None."""
    m = _COMMAND.match(text)
    if m is None:
        return None
    if m.group("help"):
        return Command("help")
    if m.group("list"):
        return Command("list", args=m.group("list_service") or "")
    if m.group("add") is not None:
        return Command("add", args=m.group("add"))
    verb = {"关闭场次": "close", "场次名单": "roster", "导出": "export"}[m.group("verb")]
    return Command(verb, session_id=int(m.group("id")))


class BadCommand(ValueError):
    """A command staff typed that cannot be carried out; the message says what is wrong."""


@dataclass(frozen=True)
class NewSession:
    service: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    place: str | None


def parse_new_session(community: Community, args: str, now: dt.datetime) -> NewSession:
    """"理发 12月6日 14:00-16:00 10人 [地点]" -> NewSession, or BadCommand saying what is missing."""
    word, _, rest = args.strip().partition(" ")
    service = service_from_word(community, word)
    if service is None:
        raise BadCommand(f"不认识服务“{word}”")
    time_m = _TIME_RANGE.search(rest)
    if time_m is None:
        raise BadCommand("缺少时间，例如 14:00-16:00")
    rest = rest[: time_m.start()] + " " + rest[time_m.end():]
    cap_m = _CAPACITY.search(rest)
    if cap_m is None:
        raise BadCommand("缺少人数，例如 10人")
    capacity = int(cap_m.group("n") or cap_m.group("n2"))
    rest = rest[: cap_m.start()] + " " + rest[cap_m.end():]
    today = now.date()
    date_m = _DATE.search(rest)
    day: dt.date | None
    if date_m is not None:
        month, dom = int(date_m.group("mo")), int(date_m.group("d"))
        if date_m.group("y"):
            try:
                day = dt.date(int(date_m.group("y")), month, dom)
            except ValueError:
                day = None
        else:
            day = resolve_day_of_month(today, dom, month)
        rest = rest[: date_m.start()] + " " + rest[date_m.end():]
    else:
        days = find_days(rest, now)
        day = days[0].date if days else None
        if days:
            rest = rest[: days[0].start] + " " + rest[days[0].end:]
    if day is None:
        raise BadCommand("缺少日期，例如 12月6日")
    try:
        start = dt.time(int(time_m.group("h1")), int(time_m.group("m1") or 0))
        end = dt.time(int(time_m.group("h2")), int(time_m.group("m2") or 0))
    except ValueError:
        raise BadCommand("时间不对，例如 14:00-16:00") from None
    if end <= start:
        raise BadCommand("结束时间要晚于开始时间")
    if not 1 <= capacity <= 1000:
        raise BadCommand("人数要在 1 到 1000 之间")
    starts_at = dt.datetime.combine(day, start, tzinfo=now.tzinfo)
    if starts_at <= now:
        raise BadCommand("这个时间已经过去了")
    place = " ".join(rest.split())[:128] or None
    return NewSession(service, starts_at, dt.datetime.combine(day, end, tzinfo=now.tzinfo), capacity, place)


class StaffSessionsHandler:
    """The session commands; see texts_booking.STAFF_HELP for their syntax."""

    name = "staff_sessions"

    def match(self, incoming: Incoming) -> Command | None:
        # The text was normalized for the classifier already: no second OpenCC pass per message.
        return command_in(incoming.text)

    async def handle(self, ctx: Context, command: Command) -> None:
        if not ctx.staff_gate(refusal=texts.STAFF_ONLY, wrong_place=texts.STAFF_NOT_HERE, command="session"):
            return
        if command.verb == "help":
            ctx.reply(texts.STAFF_HELP)
        elif command.verb == "list":
            await self._list(ctx, command.args)
        elif command.verb == "add":
            await self._add(ctx, command.args)
        else:
            assert command.session_id is not None
            row = await sessions_repo.get_session(ctx.session, ctx.community.id, command.session_id)
            if row is None:
                ctx.reply(texts.staff_unknown_session(command.session_id))
            elif command.verb == "close":
                await self._close(ctx, row)
            elif command.verb == "roster":
                await self._roster(ctx, row)
            else:
                await self._export(ctx, row)

    async def _list(self, ctx: Context, service_word: str) -> None:
        service = None
        if service_word:
            service = service_from_word(ctx.community, service_word)
            if service is None:
                ctx.reply(texts.staff_bad_command(f"不认识服务“{service_word}”"))
                return
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        views = await sessions_repo.find_sessions(ctx.session, ctx.community.id, service=service,
                                                  starting_after=ctx.now)
        ctx.reply(texts.staff_session_list([
            texts.staff_session_list_line(v.id, texts.service_name(ctx.community, v.row.service), when_of(ctx, v.row),
                                          v.booked, v.row.capacity, v.waitlisted)
            for v in views[:MAX_LISTED]
        ]))

    async def _add(self, ctx: Context, args: str) -> None:
        try:
            new = parse_new_session(ctx.community, args, ctx.now)
        except BadCommand as exc:
            ctx.reply(texts.staff_bad_command(str(exc)))
            return
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        added = await sessions_repo.add_session(
            ctx.session, community_id=ctx.community.id, service=new.service, starts_at=new.starts_at,
            ends_at=new.ends_at, capacity=new.capacity, place=new.place, created_by=ctx.message.sender_id,
            now=ctx.now,
        )
        row = added.session
        log.info("staff %s: session %s %s (%s)", ctx.message.sender_id, row.id, added.outcome, row.service)
        ctx.reply(texts.staff_session_added(row.id, texts.service_name(ctx.community, row.service), when_of(ctx, row),
                                            row.capacity, sessions_repo.place_of(ctx.community, row), added.outcome))

    async def _close(self, ctx: Context, row: ServiceSession) -> None:
        if row.status == "closed":
            ctx.reply(texts.staff_session_already_closed(row.id))
            return
        closed = await sessions_repo.close_session(ctx.session, ctx.community.id, row.id, now=ctx.now)
        assert closed is not None
        row, bookings = closed
        service = ctx.community.service(row.service)
        name = texts.service_name(ctx.community, row.service)
        for b in bookings:
            ctx.outgoing.append(Outgoing(b.channel, ctx.community.id, "user", b.resident_id,
                                         texts.session_closed_private(name, when_of(ctx, row), b.code)))
        if service is not None:
            ctx.tell_team(service.team, texts.team_session_closed(name, when_of(ctx, row), len(bookings)))
        log.info("staff %s closed session %s, %d booking(s) cancelled", ctx.message.sender_id, row.id, len(bookings))
        ctx.reply(texts.staff_session_closed(row.id, name, when_of(ctx, row), len(bookings)))

    async def _roster(self, ctx: Context, row: ServiceSession) -> None:
        bookings = await repo.session_bookings(ctx.session, row.id)

        def line(b):  # type: ignore[no-untyped-def]
            return texts.staff_roster_line(b.resident_name, texts.address(ctx.community.person(b.resident_id)),
                                           b.item, b.code)

        ctx.reply(texts.staff_roster(
            row.id, texts.service_name(ctx.community, row.service), when_of(ctx, row), row.capacity,
            [line(b) for b in bookings if b.status == "booked"],
            [line(b) for b in bookings if b.status == "waitlisted"],
            row.status == "closed",
        ))

    async def _export(self, ctx: Context, row: ServiceSession) -> None:
        bookings = await repo.session_bookings(ctx.session, row.id, include_cancelled=True)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(texts.EXPORT_HEADER)
        for b in bookings:
            person = ctx.community.person(b.resident_id)
            writer.writerow([
                b.code, texts.STATUS_ZH.get(b.status, b.status), b.resident_name, texts.address(person),
                (person.phone if person else None) or "", b.item or "",
                b.created_at.astimezone(ctx.tz).strftime("%Y-%m-%d %H:%M"),
            ])
        caption = texts.staff_export_caption(row.id, texts.service_name(ctx.community, row.service), when_of(ctx, row))
        ctx.tell(ctx.message.sender_id, f"{caption}\n{out.getvalue().rstrip()}")
        if ctx.message.group_id is not None:
            ctx.reply(texts.staff_export_sent(row.id, len(bookings)))
