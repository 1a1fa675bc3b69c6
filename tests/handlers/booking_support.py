"""Shared by the booking tests (imported, not a conftest): a live bot with a small booking classifier.

Fixtures are imported as `booking_bot_fixture` / `sqlite_booking_bot_fixture` and used by their
registered names `booking_bot` / `sqlite_booking_bot`.

The real classifier is written elsewhere; these tests must depend only on the labels they choose,
so `booking_understand` maps a few words to labels and reads the day with nlp.dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from nlp.dates import parse_day
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage.db import Database
from storage.migrate import upgrade
from storage.models_booking import Booking, ServiceSession
from tests.conftest import SHANGHAI, LiveBot, make_settings, start_live_bot

SERVICE_WORDS: tuple[tuple[str, str], ...] = (
    ("理发", "haircut"), ("理个发", "haircut"), ("剪头", "haircut"),
    ("修", "appliance_repair"), ("义诊", "free_clinic"), ("磨刀", "knife_sharpening"), ("律师", "legal_aid"),
)
ITEMS = ("热水壶", "电饭煲", "电风扇")
CODE = re.compile(r"预约码：([2-9A-HJ-NP-Z]{6})")


def booking_understand(text: str, now: dt.datetime) -> Understanding:
    norm = normalize(text)
    date, part, weekday_named = parse_day(norm, now)
    if "我的预约" in norm or "约的啥" in norm:
        return Understanding("query:my_bookings", 0.9, text=norm)
    if "不去了" in norm or norm.startswith("取消"):
        return Understanding("cancel_booking", 0.9, date=date, part=part, text=norm)
    if "活动" in norm:
        return Understanding("query:today_activity", 0.9, date=date, text=norm)
    for word, service in SERVICE_WORDS:
        if word in norm:
            item = next((i for i in ITEMS if i in norm), None)
            return Understanding(f"booking:{service}", 0.9, service=service, date=date, part=part, item=item,
                                 weekday_named=weekday_named, text=norm)
    return Understanding("chitchat", 0.5, text=norm)


async def migrated(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        db = Database(db_url)
        await upgrade(db)
        await db.dispose()


@pytest.fixture(name="booking_bot")
async def booking_bot_fixture(db_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    """The real app on 127.0.0.1 (SQLite file and PostgreSQL), with the small booking classifier."""
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=booking_understand)
    try:
        yield bot
    finally:
        await close()


@pytest.fixture(name="sqlite_booking_bot")
async def sqlite_booking_bot_fixture(sqlite_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    """The same on a SQLite file only, for the many conversation details."""
    bot, close = await start_live_bot(make_settings(sqlite_url), clock, understand=booking_understand)
    try:
        yield bot
    finally:
        await close()


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def bookings(bot: LiveBot) -> list[Booking]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(Booking).order_by(Booking.id))).all())


async def session_at(bot: LiveBot, service: str, starts_at: dt.datetime) -> ServiceSession:
    async with bot.linli.db.transaction() as session:
        row = await session.scalar(select(ServiceSession).where(
            ServiceSession.service == service, ServiceSession.starts_at == starts_at))
    assert row is not None, (service, starts_at)
    return row


def one_reply(body: dict[str, Any], to: str = "group") -> str:
    replies = [r for r in body["replies"] if r["to"] == to]
    assert len(replies) == 1, body["replies"]
    return replies[0]["text"]


def code_in(text: str) -> str:
    m = CODE.search(text)
    assert m, text
    return m.group(1)


async def fill_session(bot: LiveBot, service: str, starts_at: dt.datetime, count: int, group: str = "g-res-3",
                       prefix: str = "filler") -> None:
    """Books `count` new residents straight into a session (through the repository, like the bot)."""
    from storage import booking_repo as repo
    from storage import sessions_repo

    directory = bot.linli.directory
    community = directory.communities[0]
    async with bot.linli.db.transaction() as session:
        await sessions_repo.materialize_sessions(session, community, bot.linli.clock.now())
    row = await session_at(bot, service, starts_at)
    for i in range(count):
        async with bot.linli.db.transaction() as session:
            result = await repo.book(
                session, community_id=community.id, session_id=row.id, resident_id=f"{prefix}-{i}",
                resident_name=f"邻居{i}", channel="sim", group_id=group, item=None,
                now=bot.linli.clock.now(),
            )
            assert isinstance(result, repo.Booked), result
