"""Sessions and bookings in the database: materializing config rules, and capacity-safe booking.

Every function works inside the caller's transaction (the handler's unit of work). Capacity is
decided under a lock on the session row (`lock_session`), so concurrent bookings — in one
process or in several on one PostgreSQL — can never take more places than the session has.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import WEEKDAYS, Community
from storage.db import Database
from storage.models_booking import Booking, ServiceSession
from storage.upsert import dialect_insert

# Short, read aloud and typed by elderly residents: no 0/O and 1/I to confuse.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6
# Weekly rules become dated sessions this far ahead.
HORIZON_WEEKS = 4

ACTIVE = ("booked", "waitlisted")


def horizon_end(today: dt.date, weeks: int = HORIZON_WEEKS) -> dt.date:
    """The last day the weekly rules are materialized for (inclusive)."""
    return today + dt.timedelta(days=weeks * 7 - 1)


@dataclass(frozen=True)
class PlannedSession:
    service: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    place: str | None


def planned_sessions(community: Community, today: dt.date, *, weeks: int = HORIZON_WEEKS) -> list[PlannedSession]:
    """The sessions the config rules describe from `today` on: weekly ones for `weeks`, all one-off ones.

    A one-off session at the same start as a weekly one replaces it (it is the more specific rule).
    """
    tz = ZoneInfo(community.timezone)
    last = horizon_end(today, weeks)
    plan: dict[tuple[str, dt.datetime], PlannedSession] = {}

    def add(service: str, day: dt.date, rule) -> None:  # type: ignore[no-untyped-def]
        starts = dt.datetime.combine(day, rule.start, tzinfo=tz)
        plan[(service, starts)] = PlannedSession(
            service, starts, dt.datetime.combine(day, rule.end, tzinfo=tz), rule.capacity, rule.place
        )

    for service in community.services:
        for rule in service.sessions:
            if rule.weekday is None:
                continue
            weekday = WEEKDAYS.index(rule.weekday)
            day = today + dt.timedelta(days=(weekday - today.weekday()) % 7)
            while day <= last:
                add(service.id, day, rule)
                day += dt.timedelta(days=7)
        for rule in service.sessions:
            if rule.date is not None and rule.date >= today:
                add(service.id, rule.date, rule)
    return sorted(plan.values(), key=lambda p: (p.starts_at, p.service))


async def materialize_sessions(
    session: AsyncSession, community: Community, now: dt.datetime, *, weeks: int = HORIZON_WEEKS
) -> int:
    """Creates the rows of planned sessions that do not exist yet; returns how many were added.

    Idempotent and safe to run concurrently: existing rows (also closed or staff-edited ones) are
    left alone, and a row another transaction is inserting at the same time is skipped.
    """
    today = now.astimezone(ZoneInfo(community.timezone)).date()
    plan = planned_sessions(community, today, weeks=weeks)
    if not plan:
        return 0
    existing = set(
        (
            await session.execute(
                select(ServiceSession.service, ServiceSession.starts_at).where(
                    ServiceSession.community == community.id,
                    ServiceSession.starts_at >= plan[0].starts_at,
                    ServiceSession.starts_at <= plan[-1].starts_at,
                )
            )
        ).all()
    )
    # Aware datetimes compare (and hash) by instant, whatever their time zone.
    missing = [p for p in plan if (p.service, p.starts_at) not in existing]
    for p in missing:
        stmt = (
            dialect_insert(session)(ServiceSession)
            .values(
                community=community.id, service=p.service, starts_at=p.starts_at, ends_at=p.ends_at,
                capacity=p.capacity, place=p.place, status="open", source="config", created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["community", "service", "starts_at"])
        )
        await session.execute(stmt)
    return len(missing)


async def materialize_all(db: Database, communities: Iterable[Community], now: dt.datetime) -> int:
    """Start-up: materializes every community's sessions, in one transaction; returns rows added."""
    async with db.transaction() as session:
        return sum([await materialize_sessions(session, c, now) for c in communities])


# ---------------------------------------------------------------------------------------------
# Reading sessions


@dataclass(frozen=True)
class SessionView:
    """A session with how many places are taken and how many people wait."""

    row: ServiceSession
    booked: int
    waitlisted: int

    @property
    def free(self) -> int:
        return max(0, self.row.capacity - self.booked)

    @property
    def id(self) -> int:
        return self.row.id


async def _counts(session: AsyncSession, session_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    if not session_ids:
        return {}
    rows = await session.execute(
        select(Booking.session_id, Booking.status, func.count())
        .where(Booking.session_id.in_(session_ids), Booking.status.in_(ACTIVE))
        .group_by(Booking.session_id, Booking.status)
    )
    return {(sid, status): n for sid, status, n in rows.all()}


async def with_counts(session: AsyncSession, rows: Sequence[ServiceSession]) -> list[SessionView]:
    counts = await _counts(session, [r.id for r in rows])
    return [SessionView(r, counts.get((r.id, "booked"), 0), counts.get((r.id, "waitlisted"), 0)) for r in rows]


async def find_sessions(
    session: AsyncSession,
    community_id: str,
    *,
    service: str | None = None,
    starting_after: dt.datetime | None = None,
    starting_from: dt.datetime | None = None,
    starting_before: dt.datetime | None = None,
    include_closed: bool = False,
    ids: Iterable[int] | None = None,
) -> list[SessionView]:
    """Sessions of a community in start order, with their counts."""
    query = select(ServiceSession).where(ServiceSession.community == community_id)
    if service is not None:
        query = query.where(ServiceSession.service == service)
    if starting_after is not None:
        query = query.where(ServiceSession.starts_at > starting_after)
    if starting_from is not None:
        query = query.where(ServiceSession.starts_at >= starting_from)
    if starting_before is not None:
        query = query.where(ServiceSession.starts_at < starting_before)
    if not include_closed:
        query = query.where(ServiceSession.status == "open")
    if ids is not None:
        query = query.where(ServiceSession.id.in_(list(ids)))
    rows = (await session.scalars(query.order_by(ServiceSession.starts_at, ServiceSession.service))).all()
    return await with_counts(session, rows)


async def sessions_on(
    session: AsyncSession, community: Community, day: dt.date, *, service: str | None = None,
    include_closed: bool = False,
) -> list[SessionView]:
    """The sessions starting on a local calendar day of the community."""
    tz = ZoneInfo(community.timezone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return await find_sessions(
        session, community.id, service=service, starting_from=start,
        starting_before=start + dt.timedelta(days=1), include_closed=include_closed,
    )


def place_of(community: Community, row: ServiceSession) -> str:
    """Where a session takes place: its own place, else its service's."""
    service = community.service(row.service)
    return row.place or (service.place if service else "")


async def get_session(session: AsyncSession, community_id: str, session_id: int) -> ServiceSession | None:
    row = await session.get(ServiceSession, session_id)
    return row if row is not None and row.community == community_id else None


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


async def lock_session(session: AsyncSession, session_id: int) -> ServiceSession | None:
    """Locks a session row until the end of the transaction and returns it, freshly read.

    PostgreSQL: `SELECT ... FOR UPDATE` — concurrent bookers of this session wait here, and read
    the counts only after the previous one committed. SQLite has no row locks: a no-op UPDATE
    takes the database's write lock *before* anything is counted, so even several connections
    (or processes) on one file cannot count the same free place twice.
    """
    query = select(ServiceSession).where(ServiceSession.id == session_id).execution_options(populate_existing=True)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    else:
        await session.execute(
            update(ServiceSession)
            .where(ServiceSession.id == session_id)
            .values(status=ServiceSession.status)
            .execution_options(synchronize_session=False)
        )
    return await session.scalar(query)


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
    step with respect to every other booking of this session.
    """
    row = await lock_session(session, session_id)
    if row is None or row.community != community_id:
        return Unavailable("missing", None)
    if row.status != "open":
        return Unavailable("closed", row)
    if row.starts_at <= now:
        return Unavailable("past", row)
    existing = await session.scalar(
        select(Booking).where(
            Booking.session_id == session_id, Booking.resident_id == resident_id, Booking.status.in_(ACTIVE)
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
    if row is None or booking is None or booking.status not in ACTIVE:
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
# Staff: adding and closing sessions


@dataclass(frozen=True)
class SessionAdded:
    session: ServiceSession
    outcome: Literal["added", "reopened", "exists"]


async def add_session(
    session: AsyncSession,
    *,
    community_id: str,
    service: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    place: str | None,
    created_by: str,
    now: dt.datetime,
) -> SessionAdded:
    """Adds a session; an open one at the same start is left as it is, a closed one is reopened."""
    inserted = await session.execute(
        dialect_insert(session)(ServiceSession)
        .values(
            community=community_id, service=service, starts_at=starts_at, ends_at=ends_at, capacity=capacity,
            place=place, status="open", source="staff", created_by=created_by, created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["community", "service", "starts_at"])
    )
    row = await session.scalar(
        select(ServiceSession)
        .where(ServiceSession.community == community_id, ServiceSession.service == service,
               ServiceSession.starts_at == starts_at)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    if inserted.rowcount:
        return SessionAdded(row, "added")
    if row.status == "closed":
        row.status, row.closed_at = "open", None
        row.ends_at, row.capacity, row.place = ends_at, capacity, place
        row.source, row.created_by = "staff", created_by
        await session.flush()
        return SessionAdded(row, "reopened")
    return SessionAdded(row, "exists")


async def close_session(
    session: AsyncSession, community_id: str, session_id: int, *, now: dt.datetime
) -> tuple[ServiceSession, list[Booking]] | None:
    """Closes a session and cancels its active bookings; returns them (booked ones first)."""
    row = await lock_session(session, session_id)
    if row is None or row.community != community_id:
        return None
    row.status, row.closed_at = "closed", now
    bookings = list(
        (
            await session.scalars(
                select(Booking)
                .where(Booking.session_id == session_id, Booking.status.in_(ACTIVE))
                .order_by(Booking.status, Booking.created_at, Booking.id)
            )
        ).all()
    )
    for b in bookings:
        b.status, b.cancelled_at, b.updated_at = "cancelled", now, now
    await session.flush()
    return row, bookings


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
            Booking.status.in_(ACTIVE),
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
        query = query.where(Booking.status.in_(ACTIVE))
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
