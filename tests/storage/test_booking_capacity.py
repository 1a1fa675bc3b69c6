"""Capacity holds under load: 50 simultaneous bookings for a 10-place session, SQLite and PostgreSQL.

The capacity check runs in the database transaction under a lock on the session row, so these
tests fire the attempts concurrently, each in its own transaction, and count what was stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from config.community import Community, Directory
from core.clock import FixedClock
from storage import booking_repo as repo
from storage import sessions_repo
from storage.db import Database, _sqlite_pragmas
from storage.migrate import upgrade
from storage.models_booking import Booking, ServiceSession
from tests.conftest import REFERENCE_NOW, SHANGHAI, make_settings, start_live_bot
from tests.handlers.booking_support import booking_understand, migrated

log = logging.getLogger(__name__)

ATTEMPTS = 50
SATURDAY_REPAIR = dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)  # appliance repair, 10 places


async def _prepare(db: Database, community: Community) -> int:
    await upgrade(db)
    async with db.transaction() as session:
        await sessions_repo.materialize_sessions(session, community, REFERENCE_NOW)
        row = await session.scalar(select(ServiceSession).where(
            ServiceSession.service == "appliance_repair", ServiceSession.starts_at == SATURDAY_REPAIR))
    assert row is not None and row.capacity == 10
    return row.id


async def _attempt(sessionmaker, community: Community, session_id: int, i: int, *, waitlist: bool):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        return await repo.book(
            session, community_id=community.id, session_id=session_id, resident_id=f"res-{i}",
            resident_name=f"居民{i}", channel="sim", group_id="g-res-1", item="热水壶", now=REFERENCE_NOW,
            join_waitlist=waitlist,
        )


async def _stored(db: Database, session_id: int) -> Counter[str]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Booking.status, func.count()).where(Booking.session_id == session_id).group_by(Booking.status))
        return Counter(dict(rows.all()))


async def test_fifty_simultaneous_bookings_take_exactly_the_ten_places_and_waitlist_the_rest(
    db_url: str, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        session_id = await _prepare(db, community)
        started = time.perf_counter()
        results = await asyncio.gather(*(
            _attempt(db.sessionmaker, community, session_id, i, waitlist=True) for i in range(ATTEMPTS)))
        elapsed = time.perf_counter() - started
        kinds = Counter(type(r).__name__ for r in results)
        assert kinds == {"Booked": 10, "Waitlisted": 40}
        assert await _stored(db, session_id) == {"booked": 10, "waitlisted": 40}
        # Every waitlisted resident has their own place in the queue, 1 to 40.
        assert sorted(r.position for r in results if isinstance(r, repo.Waitlisted)) == list(range(1, 41))
        assert sorted(r.booked for r in results if isinstance(r, repo.Booked)) == list(range(1, 11))
        assert len({r.booking.code for r in results}) == ATTEMPTS
        log.warning("capacity %s: %d attempts in %.2f s", db.dialect, ATTEMPTS, elapsed)
    finally:
        await db.dispose()


async def test_without_the_waitlist_the_forty_late_attempts_are_told_full(
    db_url: str, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        session_id = await _prepare(db, community)
        results = await asyncio.gather(*(
            _attempt(db.sessionmaker, community, session_id, i, waitlist=False) for i in range(ATTEMPTS)))
        assert Counter(type(r).__name__ for r in results) == {"Booked": 10, "Full": 40}
        assert await _stored(db, session_id) == {"booked": 10}
    finally:
        await db.dispose()


async def test_several_connections_on_one_sqlite_file_cannot_overbook(sqlite_url: str, demo_directory: Directory
                                                                      ) -> None:
    """The bot uses one SQLite connection, but the check must not rely on that: here ten do."""
    community = demo_directory.communities[0]
    db = Database(sqlite_url)
    engine = create_async_engine(db.url, pool_size=10, max_overflow=0, pool_timeout=60)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    try:
        session_id = await _prepare(db, community)
        results = await asyncio.gather(*(
            _attempt(async_sessionmaker(engine), community, session_id, i, waitlist=True) for i in range(ATTEMPTS)))
        assert Counter(type(r).__name__ for r in results) == {"Booked": 10, "Waitlisted": 40}
        assert await _stored(db, session_id) == {"booked": 10, "waitlisted": 40}
    finally:
        await engine.dispose()
        await db.dispose()


async def test_fifty_residents_booking_at_once_through_the_simulator(db_url: str, clock: FixedClock) -> None:
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=booking_understand)
    try:
        started = time.perf_counter()
        bodies = await asyncio.gather(*(
            bot.client.say(f"g-res-{1 + i % 3}", f"new-{i}", "热水壶坏了 周六上午能修不", name=f"新邻居{i:02d}")
            for i in range(ATTEMPTS)
        ))
        elapsed = time.perf_counter() - started
        replies = [[r["text"] for r in body["replies"] if r["to"] == "group"] for body in bodies]
        assert all(len(r) == 1 for r in replies)
        confirmed = [r[0] for r in replies if "预约成功" in r[0]]
        offered = [r[0] for r in replies if r[0].startswith("小家电维修 11月28日(周六) 09:00-11:30 已经约满了。")]
        assert (len(confirmed), len(offered)) == (10, 40)
        # The late ones are offered the afternoon session (which has places) and the waitlist.
        assert all("1. 小家电维修 11月28日(周六) 14:00-16:00" in t and "回复“排队”" in t for t in offered)

        async with bot.linli.db.transaction() as session:
            row = await session.scalar(select(ServiceSession).where(
                ServiceSession.service == "appliance_repair", ServiceSession.starts_at == SATURDAY_REPAIR))
            assert row is not None
        assert await _stored(bot.linli.db, row.id) == {"booked": 10}
        log.warning("simulator %s: %d residents in %.2f s", bot.linli.db.dialect, ATTEMPTS, elapsed)
    finally:
        await close()


async def test_materializing_twice_and_concurrently_creates_each_session_once(
    db_url: str, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)

        async def run() -> int:
            async with db.transaction() as session:
                return await sessions_repo.materialize_sessions(session, community, REFERENCE_NOW)

        await asyncio.gather(run(), run(), run())
        assert await run() == 0
        expected = sessions_repo.planned_sessions(community, REFERENCE_NOW.date())
        async with db.transaction() as session:
            count = await session.scalar(select(func.count()).select_from(ServiceSession))
        assert count == len(expected)
        # 4 weeks of weekly sessions (9 rules, the Wednesday-14:30 haircut from today) and the
        # one-off clinic of 2026-12-03 replacing that Thursday's weekly afternoon clinic.
        assert count == 9 * 4
        one_off = next(p for p in expected if p.starts_at == dt.datetime(2026, 12, 3, 14, 0, tzinfo=SHANGHAI))
        assert (one_off.capacity, one_off.place) == (30, "社区服务中心二楼大厅")
    finally:
        await db.dispose()
