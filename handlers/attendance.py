"""Checking residents in at a session: "到场 VT83QX" (several codes at once too), from staff or a
volunteer of the team that serves the session; the staff page does the same (`check_in`).

Taken from `attendance.check_in_opens_minutes` before the session starts, and any time after it:
a no-show recorded at close-out becomes "present" when someone checks the resident in later
(a correction). After close-out the no-shows are recorded by handlers/service_hours.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from handlers import texts_booking
from handlers import texts_volunteers as texts
from handlers.base import Context, Incoming
from storage import attendance_repo as repo
from storage import booking_repo, sessions_repo
from storage.models_booking import ServiceSession

log = logging.getLogger("linli.attendance")

_VERBS = ("到场", "签到", "已到", "到了", "核销")
_CHECK_IN = re.compile(r"^(?:到场|签到|已到|到了|核销)\s*[:：]?\s*(?P<codes>(?:[A-Za-z0-9]{6}[\s,，、]*)+)$")


def parse_codes(text: str) -> tuple[str, ...] | None:
    """"到场 VT83QX" / "签到 vt83qx k7p3qx" (normalized) -> the codes, upper-cased."""
    text = text.strip()
    if not text.startswith(_VERBS):
        return None
    m = _CHECK_IN.match(text)
    if m is None:
        return None
    return tuple(dict.fromkeys(c.upper() for c in re.findall(r"[A-Za-z0-9]{6}", m.group("codes"))))


def may_check_in(community: Community, person_id: str, role: str, service_id: str) -> bool:
    """Staff, or a volunteer of the team that serves the service."""
    if role == "staff" and person_id in community.staff_ids():
        return True
    service = community.service(service_id)
    team = community.team(service.team) if service is not None else None
    person = community.person(person_id)
    return team is not None and person is not None and person.role == "volunteer" and person_id in team.members


@dataclass(frozen=True)
class CheckIn:
    """The outcome of one code: `text` says it; `ok` when the resident is (now) checked in."""

    ok: bool
    text: str


async def check_in(session: AsyncSession, community: Community, code: str, *, by: str, role: str,
                   now: dt.datetime, masked: bool) -> CheckIn:
    tz = ZoneInfo(community.timezone)
    booking = await booking_repo.booking_by_code(session, community.id, code)
    if booking is None:
        return CheckIn(False, texts.check_in_unknown(code))
    if not may_check_in(community, by, role, booking.service):
        return CheckIn(False, texts.CHECK_IN_WHO)
    if booking.status != "booked":
        return CheckIn(False, texts.check_in_not_booked(code, booking.status))
    row = await session.get(ServiceSession, booking.session_id)
    assert row is not None
    when_text = texts_booking.when(row.starts_at, row.ends_at, tz)
    if row.status == "closed":
        return CheckIn(False, texts.check_in_closed(code))
    opens = community.attendance.check_in_opens_minutes
    if now < row.starts_at - dt.timedelta(minutes=opens):
        return CheckIn(False, texts.check_in_too_early(code, when_text, opens))
    presence = await repo.mark_present(session, booking, by=by, now=now)
    if not presence.changed:
        return CheckIn(True, texts.already_checked_in(code))
    log.info("%s checked in %s (session %s) by %s", booking.resident_id, code, row.id, by)
    counts = list((await repo.statuses(session, row.id)).values())
    booked = len([b for b in await booking_repo.session_bookings(session, row.id) if b.status == "booked"])
    return CheckIn(True, texts.checked_in(booking.resident_name, texts_booking.service_name(community, row.service),
                                          when_text, counts.count("present"), booked, masked=masked,
                                          corrected=presence.was_no_show))


class CheckInHandler:
    """"到场 VT83QX" — staff or the serving team's volunteers check a resident in."""

    name = "check_in"

    def match(self, incoming: Incoming) -> tuple[str, ...] | None:
        return parse_codes(incoming.text)

    async def handle(self, ctx: Context, codes: tuple[str, ...]) -> None:
        m = ctx.message
        staff_group = ctx.community.staff_group()
        # Full names only where residents cannot read them: a private chat or the staff group.
        masked = m.group_id is not None and (staff_group is None or m.group_id != staff_group.id)
        lines = [(await check_in(ctx.session, ctx.community, code, by=m.sender_id, role=m.sender_role, now=ctx.now,
                                 masked=masked)).text for code in codes]
        ctx.reply("\n".join(lines))


async def session_view(session: AsyncSession, community: Community, session_id: int
                       ) -> tuple[sessions_repo.SessionView, dict[int, str]] | None:
    """A session with its counts and who is recorded present or no-show (the staff page's view)."""
    views = await sessions_repo.find_sessions(session, community.id, ids=[session_id], include_closed=True)
    if not views:
        return None
    return views[0], await repo.statuses(session, session_id)
