"""From a stored inbox row to outbox rows: understand, route, handle — one transaction per message."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.clock import Clock
from bot.inbox import message_from_row
from bot.message import Message, Outgoing
from bot.routing import Router
from config.community import Directory
from handlers.base import Context, load_conversation
from nlp.understanding import Understanding
from storage.db import Database
from storage.models import InboxMessage, OutboxMessage
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.pipeline")

Understand = Callable[[str, dt.datetime], Understanding]


class Pipeline:
    """Handles stored messages. Messages of one person in one chat are handled in arrival order."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        router: Router,
        understand: Understand,
        clock: Clock,
        *,
        conversation_ttl: dt.timedelta = dt.timedelta(minutes=10),
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.router = router
        self.understand = understand
        self.clock = clock
        self.conversation_ttl = conversation_ttl
        self._on_outbox = on_outbox
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._background: set[asyncio.Task[list[Outgoing]]] = set()

    def _lock_for(self, message: Message) -> asyncio.Lock:
        key = (message.channel, message.group_id or "", message.sender_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def submit(self, inbox_id: int) -> asyncio.Task[list[Outgoing]]:
        """Handles a stored message in the background (channels that acknowledge first)."""
        task = asyncio.create_task(self.process(inbox_id), name=f"handle-{inbox_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def drain_background(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def process(self, inbox_id: int) -> list[Outgoing]:
        """Handles one stored message once; returns what the bot said in answer to it."""
        async with self.db.transaction() as session:
            row = await session.get(InboxMessage, inbox_id)
        if row is None:
            raise LookupError(f"no inbox row {inbox_id}")
        message = message_from_row(row)
        lock = self._lock_for(message)
        async with lock:
            try:
                return await self._process_locked(inbox_id, message)
            finally:
                if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
                    self._locks.pop((message.channel, message.group_id or "", message.sender_id), None)

    async def _process_locked(self, inbox_id: int, message: Message) -> list[Outgoing]:
        started = time.perf_counter()
        found = self.directory.find_group(message.group_id) if message.group_id else None
        community = found[0] if found else self.directory.community(message.community)
        if community is None:
            await self._mark(inbox_id, "failed", error=f"unknown community {message.community!r}")
            return []
        tz = ZoneInfo(community.timezone)
        now = self.clock.now().astimezone(tz)
        understanding = self.understand(message.text, now)
        handler_name: str | None = None
        try:
            async with self.db.transaction() as session:
                # Lock-free "claim": a message already handled (e.g. after a crash mid-way through
                # a batch, or by another process) is skipped.
                claimed = await session.execute(
                    update(InboxMessage)
                    .where(InboxMessage.id == inbox_id, InboxMessage.status == "new")
                    .values(status="done", label=understanding.label, processed_at=self.clock.now())
                )
                if claimed.rowcount == 0:
                    return await self._existing_replies(inbox_id)
                conversation = await load_conversation(session, message)
                handler = self.router.route(message, understanding, conversation)
                outgoing: list[Outgoing] = []
                if handler is not None:
                    handler_name = handler.name
                    ctx = Context(
                        message=message,
                        understanding=understanding,
                        community=community,
                        session=session,
                        now=now,
                        conversation=conversation,
                        conversation_ttl=self.conversation_ttl,
                    )
                    await handler.handle(ctx)
                    outgoing = ctx.outgoing
                    await session.execute(
                        update(InboxMessage).where(InboxMessage.id == inbox_id).values(handler=handler.name)
                    )
                    await enqueue(session, outgoing, now=self.clock.now(), reply_to=inbox_id)
        except Exception as exc:
            log.exception("handling message %s failed", message.msg_id)
            await self._mark(inbox_id, "failed", error=f"{type(exc).__name__}: {exc}")
            outgoing = []
        self._log(message, understanding, handler_name, started)
        if outgoing and self._on_outbox is not None:
            self._on_outbox()
        return outgoing

    async def _existing_replies(self, inbox_id: int) -> list[Outgoing]:
        async with self.db.transaction() as session:
            rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.reply_to == inbox_id))).all()
        return [Outgoing(r.channel, r.community, r.audience, r.target, r.text) for r in rows]  # type: ignore[arg-type]

    async def _mark(self, inbox_id: int, status: str, *, error: str | None = None) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(InboxMessage)
                .where(InboxMessage.id == inbox_id)
                .values(status=status, error=error, processed_at=self.clock.now())
            )

    def _log(self, message: Message, understanding: Understanding, handler: str | None, started: float) -> None:
        log.info(
            json.dumps(
                {
                    "event": "message",
                    "msg_id": message.msg_id,
                    "channel": message.channel,
                    "label": understanding.label,
                    "handler": handler,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
                ensure_ascii=False,
            )
        )

    async def resume_pending(self) -> int:
        """Handles messages stored but not handled before the last stop (crash recovery)."""
        async with self.db.transaction() as session:
            ids = (await session.scalars(select(InboxMessage.id).where(InboxMessage.status == "new")
                                         .order_by(InboxMessage.id))).all()
        for inbox_id in ids:
            await self.process(inbox_id)
        return len(ids)
