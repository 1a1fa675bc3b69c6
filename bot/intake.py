"""Where every channel hands what it receives: the inbox stores it durably, then the pipeline handles it.

A WeChat callback is acknowledged once its message is stored, and handled in the background
(`hand_off`). The simulator's page shows the answers right after its POST, so it has a message
handled at once and waits, briefly, until the answers are delivered into its chat (`answer`):
waiting for answers is the app's business, not a channel's.
"""

from __future__ import annotations

import asyncio
import logging

from bot.inbox import InboxWriter, OnNew, Stored
from bot.outbox import OutboxDrainer
from bot.pipeline import Pipeline
from core.message import Message, Outgoing

log = logging.getLogger("linli.intake")

# How long `answer` waits for delivery: another process's drainer may be the one to deliver.
ANSWER_WAIT_SECONDS = 2.0


class Intake:
    def __init__(self, inbox: InboxWriter, pipeline: Pipeline, drainer: OutboxDrainer) -> None:
        self.inbox = inbox
        self.pipeline = pipeline
        self.drainer = drainer

    async def store(self, message: Message, on_new: OnNew | None = None) -> Stored:
        """Returns once the message is committed (or found to be a retry of a stored one, which
        is dropped there: `Stored.duplicate`); `on_new` runs in the same transaction as a new row."""
        return await self.inbox.store(message, on_new)

    async def hand_off(self, stored: Stored, message: Message) -> None:
        """Queues a newly stored message for handling in the background. Under a flood it first
        waits until the backlog has room, so acknowledgments never outrun handling."""
        await self.pipeline.room()
        self.pipeline.submit(stored.inbox_id, message)

    async def answer(self, stored: Stored, message: Message) -> list[Outgoing]:
        """Handles a newly stored message now and returns what the bot said, once that was
        delivered (or after ANSWER_WAIT_SECONDS)."""
        try:
            outgoing = await self.pipeline.process(stored.inbox_id, message)
            if outgoing:
                delivered = self.drainer.expect(stored.inbox_id, len(outgoing))
                self.drainer.wake()
                try:
                    await asyncio.wait_for(delivered.wait(), timeout=ANSWER_WAIT_SECONDS)
                except TimeoutError:
                    log.warning("replies to %s not delivered within %s s", message.msg_id, ANSWER_WAIT_SECONDS)
        finally:
            self.drainer.forget(stored.inbox_id)
        return outgoing
