"""Where every channel hands what it receives: the inbox stores it durably, then the pipeline handles it.

A WeChat callback is acknowledged once its message is stored, and handled in the background
(`hand_off`). The simulator's page shows the answers right after its POST, so it has a message
handled at once and waits, briefly, until the answers are delivered into its chat (`answer`):
waiting for answers is the app's business, not a channel's.

A message with photos or locations has them recorded in the same transaction as its inbox row
(storage/attachments_repo.add_received), so a reference is never lost; the images are fetched by
the media fetcher (bot/media_fetcher.py), which is woken once the message is stored, never on the
acknowledgment path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.inbox import InboxWriter, OnNew, Stored
from bot.outbox import OutboxDrainer
from bot.pipeline import Pipeline
from core.clock import Clock, SystemClock
from core.message import Message, Outgoing
from storage import attachments_repo
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.media_fetcher import MediaFetcher

log = logging.getLogger("linli.intake")

# How long `answer` waits for delivery: another process's drainer may be the one to deliver.
ANSWER_WAIT_SECONDS = 2.0


class Intake:
    def __init__(self, inbox: InboxWriter, pipeline: Pipeline, drainer: OutboxDrainer, *,
                 clock: Clock | None = None, media: MediaFetcher | None = None) -> None:
        self.inbox = inbox
        self.pipeline = pipeline
        self.drainer = drainer
        self.clock = clock or SystemClock()
        self.media = media

    async def store(self, message: Message, on_new: OnNew | None = None) -> Stored:
        """Returns once the message is committed (or found to be a retry of a stored one, which
        is dropped there: `Stored.duplicate`); `on_new` runs in the same transaction as a new row,
        and so does the recording of the message's attachments."""
        if message.attachments:
            on_new = self._recording_attachments(message, on_new)
        return await self.inbox.store(message, on_new)

    def _recording_attachments(self, message: Message, on_new: OnNew | None) -> OnNew:
        now = self.clock.now()

        async def record(session: AsyncSession, inbox_id: int) -> None:
            await attachments_repo.add_received(session, message, now=now)
            if on_new is not None:
                await on_new(session, inbox_id)

        return record

    async def hand_off(self, stored: Stored, message: Message) -> None:
        """Queues a newly stored message for handling in the background. Under a flood it first
        waits until the backlog has room, so acknowledgments never outrun handling."""
        if message.attachments and self.media is not None:
            self.media.wake()  # its photos are fetched while it waits for handling
        await self.pipeline.room()
        self.pipeline.submit(stored.inbox_id, message)

    async def answer(self, stored: Stored, message: Message) -> list[Outgoing]:
        """Handles a newly stored message now and returns what the bot said, once that was
        delivered (or after ANSWER_WAIT_SECONDS)."""
        if message.attachments and self.media is not None:
            return await self._answer_with_attachments(stored, message)
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

    async def _answer_with_attachments(self, stored: Stored, message: Message) -> list[Outgoing]:
        """The simulator's photo: fetched and checked first (a refused image never joins a
        request, and "图片太大了" is among the answers), then handled; returns every answer to it
        once delivered. The answers come from two transactions, so they are waited for in the
        outbox itself rather than counted."""
        assert self.media is not None
        await self.media.settle(message)
        await self.pipeline.process(stored.inbox_id, message)
        self.drainer.wake()
        deadline = time.monotonic() + ANSWER_WAIT_SECONDS
        while True:
            async with self.pipeline.db.transaction() as session:
                pending = await session.scalar(select(func.count()).where(OutboxMessage.reply_to == stored.inbox_id,
                                                                          OutboxMessage.status == "pending"))
                if not pending or time.monotonic() > deadline:
                    if pending:
                        log.warning("replies to %s not delivered within %s s", message.msg_id, ANSWER_WAIT_SECONDS)
                    return await self.pipeline.existing_replies(session, stored.inbox_id)
            await asyncio.sleep(0.02)
