"""Under a flood, callbacks are acknowledged no faster than messages are handled (a bounded backlog)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.inbox import InboxWriter
from bot.pipeline import Pipeline
from bot.routing import Router
from config.community import Directory
from core.clock import FixedClock
from core.message import Message
from handlers.base import Context
from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboxMessage
from tests.conftest import REFERENCE_NOW
from tests.handlers.booking_support import booking_understand


class _Routed:
    """Handles every message (records it)."""

    name = "routed"

    def __init__(self) -> None:
        self.handled: list[str] = []

    def match(self, incoming: object) -> bool:
        return True

    async def handle(self, ctx: Context, _: bool) -> None:
        self.handled.append(ctx.message.msg_id)


class _SlowPipeline(Pipeline):
    """A pipeline whose handling (understanding, before its transaction) waits for the test."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gate = asyncio.Event()

    async def _read_all(self, batch):  # type: ignore[no-untyped-def]
        await self.gate.wait()
        return await super()._read_all(batch)


def _message(i: int) -> Message:
    return Message(channel="wecom", community="xingfuli", group_id=None, sender_id="r-zhang", sender_name="张秀兰",
                   text="今天有什么活动", msg_id=f"flood-{i}", sent_at=REFERENCE_NOW)


async def test_a_full_backlog_holds_acknowledgments_until_handling_catches_up(
        db_url: str, clock: FixedClock, demo_directory: Directory) -> None:
    db = Database(db_url)
    await upgrade(db)
    handler = _Routed()
    pipeline = _SlowPipeline(db, demo_directory, Router([handler]), booking_understand, clock, max_backlog=3)
    inbox = InboxWriter(db)
    try:
        async def callback(i: int) -> str:
            """What a WeChat callback does: store, wait for room, submit, answer."""
            stored = await inbox.store(_message(i))
            await pipeline.room()
            assert pipeline.submit(stored.inbox_id, _message(i))
            return f"200 for flood-{i}"

        # The first message is taken by the worker (and held at the gate); three more fill the backlog.
        assert await callback(0) == "200 for flood-0"
        await asyncio.sleep(0.05)
        assert [await callback(i) for i in (1, 2, 3)] == ["200 for flood-1", "200 for flood-2", "200 for flood-3"]
        fifth = asyncio.create_task(callback(4))
        await asyncio.sleep(0.2)
        assert not fifth.done()  # stored, but not acknowledged while three messages wait
        async with db.transaction() as session:  # durable all the same
            assert "flood-4" in (await session.scalars(select(InboxMessage.msg_id))).all()
        pipeline.gate.set()
        assert await asyncio.wait_for(fifth, 5) == "200 for flood-4"
        await asyncio.wait_for(pipeline.drain_background(), 5)
        assert handler.handled == [f"flood-{i}" for i in range(5)]  # every message handled, in order
    finally:
        pipeline.gate.set()
        await pipeline.stop()
        await inbox.stop()
        await db.dispose()


async def test_a_process_that_does_not_handle_never_holds_acknowledgments(
        db_url: str, clock: FixedClock, demo_directory: Directory) -> None:
    db = Database(db_url)
    await upgrade(db)
    pipeline = Pipeline(db, demo_directory, Router([_Routed()]), booking_understand, clock, max_backlog=1,
                        handle=False)
    try:
        for i in range(5):
            await asyncio.wait_for(pipeline.room(), 1)
            assert pipeline.submit(i, _message(i)) is False
    finally:
        await pipeline.stop()
        await db.dispose()
