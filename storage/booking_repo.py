"""Residents' bookings in the database: capacity-safe booking, the waitlist, cancelling, and the
lists residents, teams and operators read. (The sessions themselves: storage/sessions_repo.py.)

Every function works inside the caller's transaction (the handler's unit of work). Capacity is
decided under a lock on the session row (`sessions_repo.lock_session`), so concurrent bookings —
in one process or in several on one PostgreSQL — can never take more places than the session has.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_booking import ACTIVE_STATUSES, Booking, ServiceSession
from storage.sessions_repo import lock_session

# Short, read aloud and typed by elderly residents: no 0/O and 1/I to confuse.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6


# ---------------------------------------------------------------------------------------------
# Booking


@dataclass(frozen=True)
class Booked:
    booking: Booking
    session: ServiceSession
    booked: int  # places taken now, this booking included


@dataclass(frozen=True)
class Waitlisted:
    booking: Booking
    session: ServiceSession
    position: int  # 1 = next to get a freed place


@dataclass(frozen=True)
class Full:
    session: ServiceSession


@dataclass(frozen=True)
class AlreadyBooked:
    booking: Booking
    session: ServiceSession


@dataclass(frozen=True)
class Unavailable:
    reason: Literal["missing", "closed", "past"]
    session: ServiceSession | None


BookingResult = Booked | Waitlisted | Full | AlreadyBooked | Unavailable


async def _full_for(session: AsyncSession, community_id: str, session_id: int, resident_id: str,
                    now: dt.datetime) -> bool:
    """Read without a lock: the session is open, ahead, full, and this resident holds no place in it
    (the cases `book` answers otherwise are left to it, under the lock)."""
    row = await session.get(ServiceSession, session_id)
    if row is None or row.community != community_id or row.status != "open" or row.starts_at <= now:
        return False
    if await _count(session, session_id, "booked") < row.capacity:
        return False
    mine = await session.scalar(select(Booking.id).where(Booking.session_id == session_id,
                                                         Booking.resident_id == resident_id,
                                                         Booking.status.in_(ACTIVE_STATUSES)).limit(1))
    return mine is None


async def _count(session: AsyncSession, session_id: int, status: str) -> int:
    return await session.scalar(
        select(func.count()).select_from(Booking).where(Booking.session_id == session_id, Booking.status == status)
    ) or 0


async def new_code(session: AsyncSession) -> str:
    """A booking code not in use yet (the unique constraint stays the final guard)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        taken = await session.scalar(select(Booking.id).where(Booking.code == code))
        if taken is None:
            return code


async def waitlist_position(session: AsyncSession, booking: Booking) -> int:
    ahead = await session.scalar(
        select(func.count()).select_from(Booking).where(
            Booking.session_id == booking.session_id,
            Booking.status == "waitlisted",
            (Booking.created_at < booking.created_at)
            | ((Booking.created_at == booking.created_at) & (Booking.id < booking.id)),
        )
    )
    return (ahead or 0) + 1


async def book(
    session: AsyncSession,
    *,
    community_id: str,
    session_id: int,
    resident_id: str,
    resident_name: str,
    channel: str,
    group_id: str | None,
    item: str | None,
    now: dt.datetime,
    join_waitlist: bool = False,
) -> BookingResult:
    """Takes a place in a session, or a waitlist place when it is full and `join_waitlist` is set.

    The session row is locked first, so the count of booked places and the insert are one atomic
    step with respect to every other booking of this session. A session already full (and no
    waitlist wanted) is answered without the lock: the lock lasts until the handling transaction
    ends, and a popular session's row would otherwise make every process's batch wait for every
    other's (issue 19). Places are only taken under the lock, so capacity holds; a "full" read a
    moment before a cancellation is the answer the same message got a moment earlier.
    """
    if not join_waitlist and await _full_for(session, community_id, session_id, resident_id, now):
        return Full(await session.get(ServiceSession, session_id))  # type: ignore[arg-type]
    row = await lock_session(session, session_id)
    if row is None or row.community != community_id:
        return Unavailable("missing", None)
    if row.status != "open":
        return Unavailable("closed", row)
    if row.starts_at <= now:
        return Unavailable("past", row)
    existing = await session.scalar(
        select(Booking).where(
            Booking.session_id == session_id, Booking.resident_id == resident_id, Booking.status.in_(ACTIVE_STATUSES)
        )
    )
    if existing is not None:
        return AlreadyBooked(existing, row)
    booked = await _count(session, session_id, "booked")
    if booked < row.capacity:
        status = "booked"
    elif join_waitlist:
        status = "waitlisted"
    else:
        return Full(row)
    booking = Booking(
        code=await new_code(session), community=community_id, session_id=session_id, service=row.service,
        resident_id=resident_id, resident_name=resident_name[:64], channel=channel, group_id=group_id,
        status=status, item=(item or None) and item[:64], created_at=now, updated_at=now,
    )
    session.add(booking)
    await session.flush()
    if status == "booked":
        return Booked(booking, row, booked + 1)
    return Waitlisted(booking, row, await waitlist_position(session, booking))


@dataclass(frozen=True)
class Cancelled:
    booking: Booking
    session: ServiceSession
    was: str  # the status before cancelling: booked | waitlisted
    promoted: Booking | None  # the waitlisted booking that got the freed place


async def cancel(session: AsyncSession, booking: Booking, *, now: dt.datetime) -> Cancelled | None:
    """Cancels an active booking; a freed place goes to the first on the waitlist.

    Returns None when the booking was no longer active (cancelled meanwhile).
    """
    row = await lock_session(session, booking.session_id)
    # Read again under the lock: it may have been cancelled or promoted meanwhile.
    booking = await session.get(Booking, booking.id, populate_existing=True)  # type: ignore[assignment]
    if row is None or booking is None or booking.status not in ACTIVE_STATUSES:
        return None
    was = booking.status
    booking.status, booking.cancelled_at, booking.updated_at = "cancelled", now, now
    await session.flush()
    promoted = None
    if was == "booked" and row.status == "open" and row.starts_at > now:
        promoted = await _promote(session, row, now)
    return Cancelled(booking, row, was, promoted)


async def _promote(session: AsyncSession, row: ServiceSession, now: dt.datetime) -> Booking | None:
    if await _count(session, row.id, "booked") >= row.capacity:
        return None
    first = await session.scalar(
        select(Booking)
        .where(Booking.session_id == row.id, Booking.status == "waitlisted")
        .order_by(Booking.created_at, Booking.id)
        .limit(1)
    )
    if first is not None:
        first.status, first.updated_at = "booked", now
        await session.flush()
    return first


# ---------------------------------------------------------------------------------------------
# Residents' and operators' views


async def resident_bookings(
    session: AsyncSession, community_id: str, resident_id: str, *, after: dt.datetime
) -> list[tuple[Booking, ServiceSession]]:
    """A resident's active bookings of sessions that have not started yet, soonest first."""
    rows = await session.execute(
        select(Booking, ServiceSession)
        .join(ServiceSession, Booking.session_id == ServiceSession.id)
        .where(
            Booking.community == community_id,
            Booking.resident_id == resident_id,
            Booking.status.in_(ACTIVE_STATUSES),
            ServiceSession.starts_at > after,
        )
        .order_by(ServiceSession.starts_at, Booking.id)
    )
    return [(b, s) for b, s in rows.all()]


async def booking_by_code(session: AsyncSession, community_id: str, code: str) -> Booking | None:
    return await session.scalar(
        select(Booking).where(Booking.community == community_id, Booking.code == code.upper())
    )


async def session_bookings(session: AsyncSession, session_id: int, *, include_cancelled: bool = False
                           ) -> list[Booking]:
    """A session's bookings: booked first, then the waitlist in order, then cancelled ones."""
    query = select(Booking).where(Booking.session_id == session_id)
    if not include_cancelled:
        query = query.where(Booking.status.in_(ACTIVE_STATUSES))
    order = {"booked": 0, "waitlisted": 1, "cancelled": 2}
    rows = (await session.scalars(query.order_by(Booking.created_at, Booking.id))).all()
    return sorted(rows, key=lambda b: order.get(b.status, 3))


async def export_rows(
    session: AsyncSession,
    *,
    community_id: str | None = None,
    service: str | None = None,
    starting_from: dt.datetime | None = None,
    starting_before: dt.datetime | None = None,
) -> list[tuple[Booking, ServiceSession]]:
    """Every booking (all statuses) matching the filters, in session then creation order."""
    query = select(Booking, ServiceSession).join(ServiceSession, Booking.session_id == ServiceSession.id)
    if community_id is not None:
        query = query.where(Booking.community == community_id)
    if service is not None:
        query = query.where(Booking.service == service)
    if starting_from is not None:
        query = query.where(ServiceSession.starts_at >= starting_from)
    if starting_before is not None:
        query = query.where(ServiceSession.starts_at < starting_before)
    rows = await session.execute(query.order_by(ServiceSession.starts_at, Booking.created_at, Booking.id))
    return [(b, s) for b, s in rows.all()]
