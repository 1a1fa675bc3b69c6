"""Service sessions in the database: the config's weekly and one-off rules materialized as dated
rows, the sessions residents and staff look up with their counts, the row lock every booking takes,
and staff adding and closing sessions.

Every function works inside the caller's transaction (the handler's unit of work).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from config.themes import WEEKDAYS
from storage.db import Database
from storage.models_booking import ACTIVE_STATUSES, Booking, ServiceSession
from storage.row_lock import locked
from storage.upsert import dialect_insert

# Weekly rules become dated sessions this far ahead.
HORIZON_WEEKS = 4


# ---------------------------------------------------------------------------------------------
# Materializing the config's rules


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
        .where(Booking.session_id.in_(session_ids), Booking.status.in_(ACTIVE_STATUSES))
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


async def lock_session(session: AsyncSession, session_id: int) -> ServiceSession | None:
    """Locks a session row until the end of the transaction and returns it, freshly read
    (storage/row_lock.py): concurrent bookers of this session wait, and count the places only
    after the previous one committed, so no free place is counted twice."""
    rows = await locked(session, ServiceSession, ServiceSession.id == session_id)
    return rows[0] if rows else None


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
                .where(Booking.session_id == session_id, Booking.status.in_(ACTIVE_STATUSES))
                .order_by(Booking.status, Booking.created_at, Booking.id)
            )
        ).all()
    )
    for b in bookings:
        b.status, b.cancelled_at, b.updated_at = "cancelled", now, now
    await session.flush()
    return row, bookings
