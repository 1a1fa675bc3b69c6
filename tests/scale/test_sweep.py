"""A message acknowledged while its handling failed (database down) is handled later by the sweep."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from core.clock import FixedClock
from core.message import Message
from storage.models import InboxMessage, OutboxMessage
from tests.conftest import make_settings, start_live_bot
from tests.handlers.booking_support import booking_understand, migrated


async def test_a_stored_but_unhandled_message_is_handled_once_by_the_sweep(db_url: str, clock: FixedClock) -> None:
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=booking_understand)
    try:
        linli = bot.linli
        message = Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang",
                          sender_name="张阿姨", text="今天有什么活动", msg_id="swept-1", sent_at=clock.now())
        stored = await linli.inbox.store(message)  # acknowledged; its handling never ran
        assert await linli.pipeline.sweep() == 0  # too recent: its own process may still be on it
        async with linli.db.transaction() as session:
            await session.execute(update(InboxMessage).where(InboxMessage.id == stored.inbox_id)
                                  .values(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
        assert await linli.pipeline.sweep() == 1
        assert await linli.pipeline.sweep() == 0
        async with linli.db.transaction() as session:
            row = await session.get(InboxMessage, stored.inbox_id)
            replies = (await session.scalars(select(OutboxMessage).where(OutboxMessage.reply_to == stored.inbox_id))
                       ).all()
        assert row is not None and row.status == "done" and row.label == "query:today_activity"
        assert len(replies) == 1
    finally:
        await close()


async def test_a_process_that_does_not_handle_leaves_the_row_for_one_that_does(db_url: str, clock: FixedClock) -> None:
    await migrated(db_url)
    store_only, close_store_only = await start_live_bot(make_settings(db_url, handle_messages=False), clock,
                                                        understand=booking_understand)
    try:
        linli = store_only.linli
        assert linli.pipeline.handle is False
        message = Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang",
                          sender_name="张阿姨", text="今天有什么活动", msg_id="store-only-1", sent_at=clock.now())
        stored = await linli.inbox.store(message)
        assert linli.pipeline.submit(stored.inbox_id, message) is False
        await linli.pipeline.drain_background()
        async with linli.db.transaction() as session:
            row = await session.get(InboxMessage, stored.inbox_id)
        assert row is not None and row.status == "new"
    finally:
        await close_store_only()
    handling, close_handling = await start_live_bot(make_settings(db_url), clock, understand=booking_understand)
    try:
        assert handling.linli.pipeline.handle is True
        async with handling.linli.db.transaction() as session:
            row = await session.get(InboxMessage, stored.inbox_id)
            replies = (await session.scalars(select(OutboxMessage).where(OutboxMessage.reply_to == stored.inbox_id))
                       ).all()
        assert row is not None and row.status == "done"  # resumed at the handling process's start
        assert len(replies) == 1
    finally:
        await close_handling()
