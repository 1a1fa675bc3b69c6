"""Attendance and service hours in the database: residents checked in, volunteers' absences, the
close-out of a session that ended (no-shows and service hours, recorded once), and the sums the
reports read.

Every function works inside the caller's transaction. A close-out is claimed by inserting the
session's `session_closeouts` row (ON CONFLICT DO NOTHING): a rerun, or a second process, finds
it there and records nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_attendance import Attendance, ServiceHours, SessionCloseout, VolunteerAbsence
from storage.models_booking import Booking, ServiceSession
from storage.upsert import dialect_insert

CLOSE_OUT_BY = "close-out"  # `recorded_by` of the no-shows a close-out records


# ---------------------------------------------------------------------------------------------
# Checking residents in


@dataclass(frozen=True)
class Presence:
    """A check-in: `changed` is False when the resident was checked in already."""

    changed: bool
    was_no_show: bool  # a no-show corrected after the close-out


async def mark_present(session: AsyncSession, booking: Booking, *, by: str, now: dt.datetime) -> Presence:
    """Records that a booked resident came (a no-show recorded before becomes present)."""
    row = await session.get(Attendance, booking.id, populate_existing=True)
    if row is None:
        inserted = await session.execute(
            dialect_insert(session)(Attendance).values(
                booking_id=booking.id, session_id=booking.session_id, community=booking.community,
                resident_id=booking.resident_id, status="present", recorded_by=by, recorded_at=now)
            .on_conflict_do_nothing(index_elements=["booking_id"]))
        return Presence(bool(inserted.rowcount), False)
    if row.status == "present":
        return Presence(False, False)
    row.status, row.recorded_by, row.recorded_at = "present", by, now
    await session.flush()
    await _recount(session, booking.session_id)
    return Presence(True, True)


async def _recount(session: AsyncSession, session_id: int) -> None:
    """A corrected no-show after the close-out: the close-out's counts follow."""
    closeout = await session.get(SessionCloseout, session_id)
    if closeout is None:
        return
    counts = await statuses(session, session_id)
    closeout.present = sum(1 for s in counts.values() if s == "present")
    closeout.no_shows = sum(1 for s in counts.values() if s == "no_show")
    closeout.attendance_taken = True
    await session.flush()


async def statuses(session: AsyncSession, session_id: int) -> dict[int, str]:
    """Booking id -> present | no_show, for the bookings of a session with a record."""
    rows = await session.execute(select(Attendance.booking_id, Attendance.status)
                                 .where(Attendance.session_id == session_id))
    return dict(rows.all())


async def no_show_count(session: AsyncSession, community_id: str, resident_id: str, *, since: dt.datetime) -> int:
    return await session.scalar(
        select(func.count()).select_from(Attendance).where(
            Attendance.community == community_id, Attendance.resident_id == resident_id,
            Attendance.status == "no_show", Attendance.recorded_at >= since)) or 0


# ---------------------------------------------------------------------------------------------
# Volunteers who cannot come


async def record_absence(session: AsyncSession, *, community_id: str, session_id: int, person_id: str,
                         note: str | None, now: dt.datetime) -> bool:
    """Records that a volunteer cannot come to a session; False when it was recorded already."""
    inserted = await session.execute(
        dialect_insert(session)(VolunteerAbsence).values(
            community=community_id, session_id=session_id, person_id=person_id, note=(note or None) and note[:500],
            created_at=now)
        .on_conflict_do_nothing(index_elements=["session_id", "person_id"]))
    return bool(inserted.rowcount)


async def absent(session: AsyncSession, session_ids: Iterable[int]) -> dict[int, set[str]]:
    """Session id -> the volunteers who said they cannot come."""
    ids = list(session_ids)
    if not ids:
        return {}
    rows = await session.execute(select(VolunteerAbsence.session_id, VolunteerAbsence.person_id)
                                 .where(VolunteerAbsence.session_id.in_(ids)))
    found: dict[int, set[str]] = {}
    for sid, person in rows.all():
        found.setdefault(sid, set()).add(person)
    return found


# ---------------------------------------------------------------------------------------------
# Closing out a session that ended


async def to_close_out(session: AsyncSession, community_id: str, *, ended_by: dt.datetime,
                       started_from: dt.datetime) -> list[ServiceSession]:
    """Open sessions that started from `started_from` and ended by `ended_by`, not closed out yet."""
    done = select(SessionCloseout.session_id).where(SessionCloseout.community == community_id)
    rows = await session.scalars(
        select(ServiceSession).where(
            ServiceSession.community == community_id, ServiceSession.status == "open",
            ServiceSession.starts_at >= started_from, ServiceSession.ends_at <= ended_by,
            ServiceSession.id.not_in(done))
        .order_by(ServiceSession.starts_at, ServiceSession.id))
    return list(rows.all())


@dataclass(frozen=True)
class Served:
    """A volunteer credited with a session: who, under which team."""

    person_id: str
    person_name: str
    team_id: str


@dataclass(frozen=True)
class ClosedOut:
    session: ServiceSession
    attendance_taken: bool
    present: int
    no_shows: list[Booking]  # recorded now
    served: list[Served]


async def close_out(session: AsyncSession, row: ServiceSession, *, day: dt.date, served: Sequence[Served],
                    now: dt.datetime) -> ClosedOut | None:
    """Records a session's no-shows (only where anyone was checked in: a session where nobody took
    attendance says nothing about who came) and the service hours of `served`. None when the
    session was closed out already (by an earlier run or another process)."""
    claimed = await session.execute(
        dialect_insert(session)(SessionCloseout).values(
            session_id=row.id, community=row.community, attendance_taken=False, present=0, no_shows=0,
            volunteers=0, closed_at=now)
        .on_conflict_do_nothing(index_elements=["session_id"]))
    if not claimed.rowcount:
        return None
    recorded = await statuses(session, row.id)
    booked = (await session.scalars(select(Booking).where(Booking.session_id == row.id, Booking.status == "booked")
                                    .order_by(Booking.created_at, Booking.id))).all()
    taken = any(status == "present" for status in recorded.values())
    no_shows = [b for b in booked if b.id not in recorded] if taken else []
    for b in no_shows:
        session.add(Attendance(booking_id=b.id, session_id=row.id, community=row.community, resident_id=b.resident_id,
                               status="no_show", recorded_by=CLOSE_OUT_BY, recorded_at=now))
    minutes = max(0, int((row.ends_at - row.starts_at).total_seconds() // 60))
    for who in served:
        session.add(ServiceHours(community=row.community, session_id=row.id, person_id=who.person_id,
                                 person_name=who.person_name[:64], team_id=who.team_id, service=row.service, day=day,
                                 minutes=minutes, recorded_at=now))
    await session.flush()
    closeout = await session.get(SessionCloseout, row.id, populate_existing=True)
    assert closeout is not None
    counts = list((await statuses(session, row.id)).values())
    closeout.attendance_taken, closeout.volunteers = taken, len(served)
    closeout.present, closeout.no_shows = counts.count("present"), counts.count("no_show")
    await session.flush()
    return ClosedOut(row, taken, closeout.present, list(no_shows), list(served))


# ---------------------------------------------------------------------------------------------
# Service hours


@dataclass(frozen=True)
class HoursRow:
    person_id: str
    person_name: str
    team_id: str
    sessions: int
    minutes: int


async def hours_between(session: AsyncSession, community_id: str, first: dt.date, last: dt.date) -> list[HoursRow]:
    """Each volunteer's sessions and minutes per team from `first` to `last` (inclusive), by team then
    most minutes first."""
    rows = await session.execute(
        select(ServiceHours.person_id, func.max(ServiceHours.person_name), ServiceHours.team_id, func.count(),
               func.sum(ServiceHours.minutes))
        .where(ServiceHours.community == community_id, ServiceHours.day >= first, ServiceHours.day <= last)
        .group_by(ServiceHours.person_id, ServiceHours.team_id))
    found = [HoursRow(p, n, t, c, int(m or 0)) for p, n, t, c, m in rows.all()]
    return sorted(found, key=lambda r: (r.team_id, -r.minutes, r.person_id))
