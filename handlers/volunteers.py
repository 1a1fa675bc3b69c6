"""The volunteers' side: their team's sessions with the people booked ("场次名单", privately), and
saying they cannot come ("12月5号的理发我有事去不了"), which tells the team lead and staff and
never touches a resident's booking.

Roles and teams come from the community file (people with `role: volunteer`, `teams` with their
members and `lead`). Both handlers are registered before the staff session commands and the
cancel handler, and match only messages from configured volunteers, so a resident's "周六的理发
不去了" still cancels their booking. A volunteer who wants to cancel their own booking as a
resident says "取消 <code>".
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from config.community import Community, Person, Team
from handlers import texts_booking
from handlers import texts_volunteers as texts
from handlers.base import Context, Incoming
from handlers.booking import part_of, when_of
from handlers.booking_answers import services_mentioned
from handlers.named_days import named_day
from handlers.privacy import mask_text
from nlp.dates import find_days
from nlp.day_parts import find_parts
from storage import attendance_repo, booking_repo, sessions_repo
from storage.models_booking import ServiceSession

log = logging.getLogger("linli.volunteers")

LIST_DAYS = 14  # "场次名单" lists the sessions of the next two weeks

_ROSTER = re.compile(r"^(?:场次名单|我的场次|我们的场次|服务名单|我的服务)\s*(?:#?(?P<id>\d{1,9}))?$")
_CANNOT_COME = re.compile(r"去不了|来不了|去不成|来不成|参加不了|不能来|不能去|没法去|没法来|去不到|请假|缺席|"
                          r"不来了|不去了|到不了|赶不过去|赶不回来")
_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{6}(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Volunteer:
    """A configured volunteer, their teams and the services those teams serve."""

    person: Person
    teams: tuple[Team, ...]
    services: tuple[str, ...]


def volunteer(community: Community, person_id: str, role: str) -> Volunteer | None:
    """The configured volunteer speaking; None for anyone else."""
    person = community.person(person_id)
    if role != "volunteer" or person is None or person.role != "volunteer":
        return None
    teams = community.teams_of(person_id)
    team_ids = {t.id for t in teams}
    return Volunteer(person, tuple(teams), tuple(s.id for s in community.services if s.team in team_ids))


# ---------------------------------------------------------------------------------------------
# "场次名单"


class VolunteerSessionsHandler:
    """"场次名单" / "场次名单 12" from a volunteer: their team's sessions and who booked, privately."""

    name = "volunteer_sessions"

    def match(self, incoming: Incoming) -> tuple[Volunteer, int | None] | None:
        """The volunteer, and the session number asked for (None: all their team's)."""
        m = incoming.message
        if m.sender_role != "volunteer":
            return None
        found = _ROSTER.match(incoming.text.strip())
        who = volunteer(incoming.community, m.sender_id, m.sender_role) if found is not None else None
        if found is None or who is None:
            return None
        return who, int(found.group("id")) if found.group("id") else None

    async def handle(self, ctx: Context, found: tuple[Volunteer, int | None]) -> None:
        who, session_id = found
        services = who.services
        if not services:
            ctx.reply(texts.VOLUNTEER_NO_TEAM)
            return
        if session_id is not None:
            row = await sessions_repo.get_session(ctx.session, ctx.community.id, session_id)
            if row is None or row.service not in services:
                ctx.reply(texts.ROSTER_NOT_YOURS if row is not None
                          else texts_booking.staff_unknown_session(session_id))
                return
            rows = [row]
        else:
            await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
            start = dt.datetime.combine(ctx.now.date(), dt.time(0), tzinfo=ctx.tz)
            views = await sessions_repo.find_sessions(ctx.session, ctx.community.id, starting_from=start,
                                                      starting_before=start + dt.timedelta(days=LIST_DAYS))
            rows = [v.row for v in views if v.row.service in services and v.row.ends_at > ctx.now]
        blocks = [await self._block(ctx, row) for row in rows]
        text = texts.volunteer_sessions(blocks, LIST_DAYS) if session_id is None else blocks[0]
        # Residents' names and addresses go to the volunteer alone, never into a group.
        ctx.tell(who.person.id, text)
        if ctx.message.group_id is not None:
            ctx.reply(texts.ROSTER_SENT)

    async def _block(self, ctx: Context, row: ServiceSession) -> str:
        bookings = [b for b in await booking_repo.session_bookings(ctx.session, row.id) if b.status == "booked"]
        present = await attendance_repo.statuses(ctx.session, row.id)
        absent = (await attendance_repo.absent(ctx.session, [row.id])).get(row.id, set())
        people = [texts.roster_person(b.resident_name, texts_booking.address(ctx.community.person(b.resident_id)),
                                      b.item, b.code, present.get(b.id) == "present") for b in bookings]
        names = [p.name for p in (ctx.community.person(i) for i in sorted(absent)) if p is not None]
        return texts.volunteer_session_block(row.id, texts_booking.service_name(ctx.community, row.service),
                                             when_of(ctx, row), sessions_repo.place_of(ctx.community, row),
                                             len(bookings), row.capacity, people, names)


# ---------------------------------------------------------------------------------------------
# "12月5号的理发我有事去不了"


@dataclass(frozen=True)
class CannotCome:
    volunteer: Volunteer
    day: dt.date | None
    part: str | None
    services: frozenset[str]  # of the volunteer's teams; empty: all of them that day


def read_cannot_come(community: Community, text: str, now: dt.datetime, who: Volunteer) -> CannotCome | None:
    """A volunteer's "I cannot come" (normalized text), with the day, part of day and services it names."""
    if not _CANNOT_COME.search(text) or _CODE.search(text):
        return None
    named = services_mentioned(community, text)
    services = set(who.services)
    if named and not named & services:
        return None  # about a service their teams do not serve: perhaps their own booking
    days = find_days(text, now)
    day = days[0].date if days else None
    if day is None:
        found = named_day(community, text, now.date())
        day = found.day if found is not None else None
    if day is None and not named:
        return None  # "昨天的义诊我没去成": no session of theirs to speak of
    parts = find_parts(text)
    return CannotCome(who, day, parts[0][0] if parts else None, frozenset(named & services))


class VolunteerAbsenceHandler:
    """A volunteer who cannot come to their team's session: recorded, the lead and staff told."""

    name = "volunteer_absence"

    def match(self, incoming: Incoming) -> CannotCome | None:
        m = incoming.message
        if m.sender_role != "volunteer":
            return None
        who = volunteer(incoming.community, m.sender_id, m.sender_role)
        if who is None or not who.services:
            return None
        return read_cannot_come(incoming.community, incoming.text, incoming.now, who)

    async def handle(self, ctx: Context, said: CannotCome) -> None:
        person = said.volunteer.person
        if said.day is None:
            ctx.reply(texts.ABSENCE_WHICH_DAY)
            return
        services = set(said.services or said.volunteer.services)
        await sessions_repo.materialize_sessions(ctx.session, ctx.community, ctx.now)
        views = await sessions_repo.sessions_on(ctx.session, ctx.community, said.day)
        rows = [v for v in views if v.row.service in services and v.row.ends_at > ctx.now
                and (said.part is None or part_of(v.row.starts_at, ctx.community) == said.part)]
        if not rows:
            ctx.reply(texts.absence_no_session(texts_booking.day_text(said.day)))
            return
        told: set[str] = set()
        lines: list[str] = []
        new_any = False
        for view in rows:
            row = view.row
            new = await attendance_repo.record_absence(ctx.session, community_id=ctx.community.id, session_id=row.id,
                                                       person_id=person.id, note=ctx.message.text, now=ctx.now)
            new_any |= new
            service_name = texts_booking.service_name(ctx.community, row.service)
            session_text = f"{service_name} {when_of(ctx, row)}"
            lines.append(session_text)
            if not new:
                continue
            log.info("volunteer %s cannot come to session %s", person.id, row.id)
            service = ctx.community.service(row.service)
            team = ctx.community.team(service.team) if service is not None else None
            if team is None:
                continue
            absent = (await attendance_repo.absent(ctx.session, [row.id])).get(row.id, set())
            remaining = [p.name for p in (ctx.community.person(i) for i in team.members if i not in absent)
                         if p is not None]
            # What they said goes to the staff group: masked like every free text there.
            notice = texts.absence_notice(person.name, team.name, session_text, view.booked, row.capacity, remaining,
                                          mask_text(ctx.message.text))
            for member in _who_to_tell(team, person.id):
                ctx.tell(member, notice)
                told.add(member)
            ctx.tell_staff(notice)
        names = [p.name for p in (ctx.community.person(i) for i in sorted(told)) if p is not None]
        ctx.reply(texts.absence_recorded(lines, [*names, "社区工作人员"], already=not new_any))


def _who_to_tell(team: Team, absent_id: str) -> list[str]:
    """The team's lead; when the lead is the one who cannot come (or there is none), the others."""
    if team.lead is not None and team.lead != absent_id:
        return [team.lead]
    return [m for m in team.members if m != absent_id]
