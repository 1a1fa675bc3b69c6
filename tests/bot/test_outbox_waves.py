"""The drainer sends rows of different targets concurrently, in waves, and still keeps each
target's order across retries and across processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from sqlalchemy import select

from bot.outbox import WAVE, OutboxDrainer
from core.clock import FixedClock
from core.delivery import Delivery, TemporaryError
from core.message import Outgoing
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import REFERENCE_NOW


class _RecordingSender:
    """Takes its time, fails some sends, and checks that no target has two sends in flight."""

    def __init__(self, fail_rate: float = 0.0, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.fail_rate = fail_rate
        self.received: dict[str, list[str]] = defaultdict(list)
        self.in_flight: set[str] = set()
        self.max_in_flight = 0
        self.overlaps: list[str] = []  # targets that had two sends in flight at once

    async def send(self, delivery: Delivery) -> None:
        if delivery.target in self.in_flight:
            self.overlaps.append(delivery.target)
        self.in_flight.add(delivery.target)
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
        try:
            await asyncio.sleep(self.random.uniform(0, 0.004))
            if self.random.random() < self.fail_rate:
                raise TemporaryError("502 from the API")
            self.received[delivery.target].append(delivery.text)
        finally:
            self.in_flight.discard(delivery.target)


def _rows(targets: int, per_target: int) -> list[Outgoing]:
    """Interleaved: t0 #0, t1 #0, …, t0 #1, t1 #1, … (each target's rows far apart in id order)."""
    return [Outgoing("sim", "xingfuli", "group", f"t{t:02d}", f"t{t:02d} #{i}")
            for i in range(per_target) for t in range(targets)]


async def _pending(db: Database) -> int:
    async with db.transaction() as session:
        return len((await session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending"))).all())


async def test_different_targets_go_out_concurrently_and_each_target_in_order(db: Database) -> None:
    clock = FixedClock(REFERENCE_NOW)
    sender = _RecordingSender(fail_rate=0.3)
    drainer = OutboxDrainer(db, {"sim": sender}, clock, max_attempts=50)
    async with db.transaction() as session:
        await enqueue(session, _rows(targets=40, per_target=4), now=clock.now())
    for _ in range(60):
        await drainer.drain_once()
        if not await _pending(db):
            break
        clock.advance(minutes=11)  # past every backoff
    assert await _pending(db) == 0
    assert sender.received == {f"t{t:02d}": [f"t{t:02d} #{i}" for i in range(4)] for t in range(40)}
    assert sender.overlaps == []
    assert 1 < sender.max_in_flight <= WAVE


async def test_two_drainers_like_two_processes_keep_each_targets_order(db_url: str, db: Database) -> None:
    clock = FixedClock(REFERENCE_NOW)
    other_db = Database(db_url)  # a second process: its own engine and pool
    sender = _RecordingSender(fail_rate=0.2, seed=11)
    drainers = [OutboxDrainer(db, {"sim": sender}, clock, max_attempts=50, batch=30),
                OutboxDrainer(other_db, {"sim": sender}, clock, max_attempts=50, batch=30)]
    try:
        async with db.transaction() as session:
            await enqueue(session, _rows(targets=25, per_target=4), now=clock.now())
        for _ in range(60):
            await asyncio.gather(*(d.drain_once() for d in drainers))
            if not await _pending(db):
                break
            clock.advance(minutes=11)
    finally:
        await other_db.dispose()
    assert await _pending(db) == 0
    assert sender.received == {f"t{t:02d}": [f"t{t:02d} #{i}" for i in range(4)] for t in range(25)}
    assert sender.overlaps == []


async def test_a_crash_in_a_wave_records_the_rows_that_went_out_and_resends_only_the_rest(db: Database) -> None:
    clock = FixedClock(REFERENCE_NOW)

    class Crash(Exception):
        pass

    class CrashingOnce:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.crashed = False

        async def send(self, delivery: Delivery) -> None:
            if delivery.target == "t03" and not self.crashed:
                self.crashed = True
                raise Crash  # a bug: neither a TemporaryError nor a PermanentError
            await asyncio.sleep(0)
            self.sent.append(delivery.text)

    sender = CrashingOnce()
    async with db.transaction() as session:
        await enqueue(session, _rows(targets=WAVE, per_target=2), now=clock.now())
    drainer = OutboxDrainer(db, {"sim": sender}, clock)
    with pytest.raises(Crash):
        await drainer.drain_once()
    # The first wave (the first row of every target) went out except t03's, and is recorded.
    assert sorted(sender.sent) == sorted(f"t{t:02d} #0" for t in range(WAVE) if t != 3)
    assert await drainer.drain_once() == 0  # the rest of the claim is still leased
    clock.advance(seconds=61)
    while await drainer.drain_once():
        pass
    assert sorted(sender.sent) == sorted(f"t{t:02d} #{i}" for t in range(WAVE) for i in range(2))  # no repeats
    assert [t for t in sender.sent if t.startswith("t03")] == ["t03 #0", "t03 #1"]


class _GatedLocalSender:
    """A channel that delivers inside the claim transaction (as the simulator's does); the first
    delivery to `held` waits at the gate, keeping its claim open as a slow process would."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()
        self.received: list[str] = []

    async def send(self, delivery: Delivery) -> None:  # pragma: no cover - deliver_in is used
        raise AssertionError("a local channel delivers in the claim")

    async def deliver_in(self, session: object, deliveries: list[Delivery]) -> None:
        if any(d.target == self.held for d in deliveries) and not self.gate.is_set():
            self.waiting.set()
            await self.gate.wait()
        self.received.extend(d.text for d in deliveries)


async def test_a_slow_claim_keeps_other_processes_off_its_chat_and_only_its_chat(postgres_url: str) -> None:
    """Two processes on PostgreSQL: while one holds a claim on chat t00 open, the other sends the
    rows of every other chat at once (no claim waits for another's), and none of t00's (order)."""
    from storage.migrate import upgrade

    first, second = Database(postgres_url), Database(postgres_url)
    await upgrade(first)
    clock = FixedClock(REFERENCE_NOW)
    sender = _GatedLocalSender(held="t00")
    slow = OutboxDrainer(first, {"sim": sender}, clock, batch=1)
    other = OutboxDrainer(second, {"sim": sender}, clock)
    try:
        async with first.transaction() as session:
            await enqueue(session, _rows(targets=3, per_target=3), now=clock.now())
        holding = asyncio.create_task(slow.drain_once())  # claims t00 #0 and waits in the delivery
        await asyncio.wait_for(sender.waiting.wait(), 5)
        # The other process is not held up by the open claim, and leaves t00 to it.
        assert await asyncio.wait_for(other.drain_once(), 5) == 6
        assert sorted(sender.received) == sorted(f"t{t:02d} #{i}" for t in (1, 2) for i in range(3))
        assert await asyncio.wait_for(other.drain_once(), 5) == 0
        sender.gate.set()
        assert await holding == 1
        while await other.drain_once():
            pass
    finally:
        await first.dispose()
        await second.dispose()
    assert [text for text in sender.received if text.startswith("t00")] == ["t00 #0", "t00 #1", "t00 #2"]
