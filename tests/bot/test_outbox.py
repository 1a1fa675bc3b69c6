"""The outbox drainer retries temporary errors in order, fails permanent ones, and sends a row again
when the process that claimed it died before marking it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.outbox import OutboxDrainer
from core.clock import FixedClock
from core.delivery import Delivery, PermanentError, TemporaryError
from core.message import Outgoing
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import REFERENCE_NOW


class _FlakySender:
    def __init__(self, failures: int, permanent_for: str | None = None) -> None:
        self.failures = failures
        self.permanent_for = permanent_for
        self.sent: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        if delivery.target == self.permanent_for:
            raise PermanentError("bad robot key")
        if self.failures > 0:
            self.failures -= 1
            raise TemporaryError("503 from the API")
        self.sent.append(delivery.text)


async def test_outbox_retries_temporary_errors_in_order_and_fails_permanent_ones(db: Database) -> None:
    clock = FixedClock(REFERENCE_NOW)
    sender = _FlakySender(failures=2, permanent_for="g-bad")
    drainer = OutboxDrainer(db, {"sim": sender}, clock)
    async with db.transaction() as session:
        await enqueue(session, [Outgoing("sim", "xingfuli", "group", "g-res-1", f"第{i}条") for i in (1, 2, 3)]
                      + [Outgoing("sim", "xingfuli", "group", "g-bad", "发不出去")], now=clock.now())
    for _ in range(10):
        await drainer.drain_once()
        clock.advance(minutes=5)  # past any backoff
    assert sender.sent == ["第1条", "第2条", "第3条"]
    async with db.transaction() as session:
        rows = {r.text: r for r in (await session.scalars(select(OutboxMessage))).all()}
    assert rows["发不出去"].status == "failed" and "bad robot key" in rows["发不出去"].last_error
    assert all(rows[f"第{i}条"].status == "sent" for i in (1, 2, 3))


async def test_a_claimed_row_is_resent_after_its_lease_if_the_sender_crashed(db: Database) -> None:
    clock = FixedClock(REFERENCE_NOW)

    class Crash(Exception):
        pass

    class CrashingSender:
        async def send(self, delivery: Delivery) -> None:
            raise Crash  # like a process dying between send and mark

    async with db.transaction() as session:
        await enqueue(session, [Outgoing("sim", "xingfuli", "user", "r-zhang", "提醒")], now=clock.now())
    with pytest.raises(Crash):
        await OutboxDrainer(db, {"sim": CrashingSender()}, clock).drain_once()
    ok = _FlakySender(failures=0)
    second = OutboxDrainer(db, {"sim": ok}, clock)
    assert await second.drain_once() == 0  # still leased
    clock.advance(seconds=61)
    assert await second.drain_once() == 1
    assert ok.sent == ["提醒"]


async def test_stopping_lets_the_send_under_way_finish_and_records_it(db: Database) -> None:
    """The drainer stops between rounds: a message being sent as the bot stops is recorded as sent,
    not cut off inside its round (left leased, sent again after the lease; on SQLite a round cut
    off inside a transaction could hold the write lock, bot/stopping.py)."""
    clock = FixedClock(REFERENCE_NOW)
    started, release = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    class SlowSender:
        async def send(self, delivery: Delivery) -> None:
            started.set()
            await release.wait()
            sent.append(delivery.text)

    async with db.transaction() as session:
        await enqueue(session, [Outgoing("sim", "xingfuli", "user", "r-zhang", "您已预约")], now=clock.now())
    drainer = OutboxDrainer(db, {"sim": SlowSender()}, clock, poll_seconds=0.05)
    drainer.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    stopping = asyncio.create_task(drainer.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # waiting for the send under way
    release.set()
    await asyncio.wait_for(stopping, timeout=5)
    assert sent == ["您已预约"]
    async with db.transaction() as session:
        (row,) = (await session.scalars(select(OutboxMessage))).all()
    assert row.status == "sent"
