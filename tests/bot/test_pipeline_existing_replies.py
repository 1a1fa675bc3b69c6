"""A message handled already (by another process, or before a crash) gets its stored answers back."""

from __future__ import annotations

from sqlalchemy import update

from core.clock import FixedClock
from core.message import Message, Outgoing
from storage.models import InboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import make_settings, start_live_bot
from tests.handlers.booking_support import booking_understand, migrated


async def test_the_answers_of_a_message_handled_elsewhere_keep_their_mentions(db_url: str, clock: FixedClock) -> None:
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=booking_understand)
    try:
        linli = bot.linli
        message = Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang",
                          sender_name="张阿姨", text="今天有什么活动", msg_id="handled-elsewhere-1",
                          sent_at=clock.now())
        stored = await linli.inbox.store(message)
        answers = [
            Outgoing("sim", "xingfuli", "group", "g-res-1", "@张阿姨 今天下午有书法课", mentions=("r-zhang",)),
            Outgoing("sim", "xingfuli", "group", "g-res-1", "请大家留意", mentions=("@all", "r-li")),
            Outgoing("sim", "xingfuli", "user", "r-zhang", "已记下"),
        ]
        async with linli.db.transaction() as session:  # what the process that handled it left
            await session.execute(update(InboxMessage).where(InboxMessage.id == stored.inbox_id)
                                  .values(status="done"))
            await enqueue(session, answers, now=clock.now(), reply_to=stored.inbox_id)
        assert await linli.pipeline.process(stored.inbox_id, message) == answers
    finally:
        await close()
