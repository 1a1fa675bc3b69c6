"""The booking capability's timed posts, as pure builders for the scheduler (bot/scheduler.py).

- `reminders_due(session, community, day)`: a private reminder to every resident booked into a
  session on `day` (the scheduler runs it the evening before, with `day` = tomorrow);
- `team_day_lists(session, community, day)`: each volunteer team member's list of the day's
  bookings for their service (run in the morning of `day`).

Both return `Outgoing`s with idempotency keys; the scheduler inserts them once, so a rerun or a
second process posts nothing twice. `team_day_lists` also materializes the config rules from `day`
on (idempotent), so a session nobody has asked about yet still gets its (empty) list.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Outgoing
from handlers import texts_booking as texts
from storage import booking_repo as repo
from storage import sessions_repo
from storage.sessions_repo import SessionView


def _private_channel(community: Community) -> str:
    """The channel private posts to volunteers go through: their group's (or the staff group's)."""
    group = next((g for g in community.groups if g.kind == "volunteers"), None) or community.staff_group()
    return group.channel if group is not None else "sim"


async def reminders_due(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """A reminder to each resident booked (not waitlisted) into an open session starting on `day`.

    Key `remind:{booking_id}`; sent through the channel the resident booked on.
    """
    tz = ZoneInfo(community.timezone)
    out: list[Outgoing] = []
    for view in await sessions_repo.sessions_on(session, community, day):
        row = view.row
        service = community.service(row.service)
        name = service.name if service else row.service
        note = service.note if service else ""
        place = sessions_repo.place_of(community, row)
        for booking in await repo.session_bookings(session, row.id):
            if booking.status != "booked":
                continue
            out.append(Outgoing(
                booking.channel, community.id, "user", booking.resident_id,
                texts.reminder(name, texts.when(row.starts_at, row.ends_at, tz), place, booking.code, note),
                idempotency_key=f"remind:{booking.id}",
            ))
    return out


async def team_day_lists(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """Each member of a service's team gets that service's sessions on `day` with who is coming.

    A service with open sessions that day gets a list even when nobody booked (the team knows
    not to wait). Key `daylist:{team}:{service}:{day}:{member}` — one row per member, because
    the outbox stores one row per key.
    """
    tz = ZoneInfo(community.timezone)
    await sessions_repo.materialize_sessions(session, community, dt.datetime.combine(day, dt.time(0), tzinfo=tz))
    by_service: dict[str, list[SessionView]] = defaultdict(list)
    for view in await sessions_repo.sessions_on(session, community, day):
        by_service[view.row.service].append(view)
    channel = _private_channel(community)
    out: list[Outgoing] = []
    for service_id, views in by_service.items():
        service = community.service(service_id)
        team = community.team(service.team) if service else None
        if service is None or team is None:
            continue
        sessions = []
        for view in views:
            row = view.row
            booked = [b for b in await repo.session_bookings(session, row.id) if b.status == "booked"]
            people = [texts.team_day_person(b.resident_name, texts.address(community.person(b.resident_id)),
                                            b.item, b.code) for b in booked]
            start, end = row.starts_at.astimezone(tz), row.ends_at.astimezone(tz)
            place = sessions_repo.place_of(community, row)
            sessions.append((f"{start:%H:%M}-{end:%H:%M}", place, people, view.waitlisted))
        text = texts.team_day_list(service.name, day, sessions)
        for member in team.members:
            out.append(Outgoing(channel, community.id, "user", member, text,
                                idempotency_key=f"daylist:{team.id}:{service.id}:{day.isoformat()}:{member}"))
    return out
