"""Fetching the photos residents send, in the background: off the callbacks' acknowledgment path, with retries.

A message's images are recorded (pending) with its inbox row; this task fetches each through its
channel's media source (bot/channels/media_sources.py), checks it (handlers/image_check.py, in a
thread: decoding is CPU work), and stores the bytes and a thumbnail in the database, or refuses
it (too large, not an image) and tells the sender why in the same transaction, through the outbox.
A network or platform error is retried with growing pauses (the AI bot's image URL lives only
minutes, hence the short first ones); after `max_attempts` the image is given up and the sender is
asked to send it again. Every process runs one: a row is claimed before it is fetched
(storage/attachments_repo.claim), so no two fetch the same image, and one whose fetcher died is
fetched again when its lease is over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable

from bot.channels.media_sources import MediaSource, Unreadable
from bot.channels.wecom_api import TooLarge
from bot.stopping import finish_or_cancel
from core.clock import Clock
from core.delivery import PermanentError, TemporaryError
from core.message import Message
from handlers.attachments import refusal_text, tell_sender
from handlers.image_check import CheckedImage, Refused, check_image
from storage import attachments_repo as repo
from storage.db import Database
from storage.models_attachments import RequestAttachment
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.media")

# How long a claim keeps other processes off a row (a download gets the HTTP timeout, far less).
LEASE = dt.timedelta(minutes=2)
# Pauses before the 2nd, 3rd … attempt.
BACKOFF_SECONDS = (5.0, 15.0, 45.0, 120.0, 300.0)
CONCURRENCY = 4


class MediaFetcher:
    def __init__(self, db: Database, sources: dict[str, MediaSource], clock: Clock, *, max_bytes: int,
                 max_attempts: int = 5, poll_seconds: float = 2.0,
                 on_outbox: Callable[[], None] | None = None) -> None:
        self.db = db
        self.sources = sources
        self.clock = clock
        self.max_bytes = max_bytes
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.on_outbox = on_outbox
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._running: dict[int, asyncio.Task[None]] = {}  # row id -> its fetch in this process
        self._limit = asyncio.Semaphore(CONCURRENCY)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="media-fetcher")

    async def stop(self) -> None:
        if self._task is not None:
            # Woken and told to stop rather than cancelled: a round in the middle of its query ends it.
            self._stopping = True
            self._wake.set()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            self._stopping = False
        # Fetches under way are let finish (a download and a short transaction each): cancelling one in
        # the middle of a database call leaves the driver's worker (aiosqlite's thread) finishing for a
        # loop that is gone. Only those still running after the grace (bot/stopping.py) are cancelled;
        # a lease expires and another process (or the next start) fetches them again.
        await finish_or_cancel(list(self._running.values()))

    def wake(self) -> None:
        self._wake.set()

    @property
    def fetching(self) -> int:
        """Fetches running in this process now."""
        return len(self._running)

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.run_once()
            except Exception as exc:  # the database is down: the rows wait for the next round
                log.warning("looking for photos to fetch failed: %s", exc)

    async def run_once(self, keys: Iterable[tuple[str, str]] | None = None) -> int:
        """Starts fetching what is due (of these messages only, if given); returns how many started."""
        async with self.db.transaction() as session:
            ids = await repo.due(session, self.clock.now(), keys=keys)
        started = 0
        for row_id in ids:
            if row_id not in self._running:
                task = asyncio.create_task(self._fetch(row_id), name=f"media-{row_id}")
                self._running[row_id] = task
                task.add_done_callback(lambda _t, i=row_id: self._running.pop(i, None))
                started += 1
        return started

    async def settle(self, message: Message) -> None:
        """Fetches the message's images now and waits for them (the simulator's page shows the
        answers to a message right after posting it, including "图片太大了")."""
        await self.run_once([(message.channel, message.msg_id)])
        async with self.db.transaction() as session:
            ids = [r.id for r in await repo.of_message(session, message.channel, message.msg_id)]
        await asyncio.gather(*(t for i, t in list(self._running.items()) if i in ids), return_exceptions=True)

    async def _fetch(self, row_id: int) -> None:
        async with self._limit:
            try:
                await self._attempt(row_id)
            except Exception:  # a bug of ours, or the database failed: the lease expires, it is retried
                log.exception("fetching attachment %s failed", row_id)

    async def _attempt(self, row_id: int) -> None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await repo.claim(session, row_id, now, LEASE)
            if row is None:
                return  # another process has it, or it is done
            attachment, channel, attempts = repo.as_attachment(row), row.channel, row.attempts
        source = self.sources.get(channel)
        verdict: CheckedImage | Refused | None = None
        data = b""
        error: Exception | None = None
        try:
            if source is None:
                raise PermanentError(f"no media source for channel {channel!r} (its API is not configured)")
            data = await source.fetch(attachment, self.max_bytes)
        except TooLarge as exc:
            verdict = Refused("too_large", str(exc))
        except Unreadable as exc:
            verdict = Refused("not_image", str(exc))
        except (TemporaryError, PermanentError) as exc:
            error = exc
        except Exception as exc:  # unexpected: counted as an attempt, so it is given up in the end
            log.exception("fetching attachment %s raised", row_id)
            error = TemporaryError(f"{type(exc).__name__}: {exc}")
        if verdict is None and error is None:
            verdict = await asyncio.to_thread(check_image, data, self.max_bytes)
        await self._record(row_id, attempts, data, verdict, error)

    async def _record(self, row_id: int, attempts: int, data: bytes, verdict: CheckedImage | Refused | None,
                      error: Exception | None) -> None:
        now = self.clock.now()
        told = False
        async with self.db.transaction() as session:
            row = await session.get(RequestAttachment, row_id, populate_existing=True)
            if row is None or row.status != "pending":
                return
            if isinstance(verdict, CheckedImage):
                await repo.store_image(session, row, data=data, thumbnail=verdict.thumbnail,
                                       content_type=verdict.content_type, width=verdict.width,
                                       height=verdict.height, now=now)
                log.info("attachment %s (%s %s): stored %d bytes, %dx%d", row.id, row.channel, row.msg_id,
                         len(data), verdict.width, verdict.height)
                return
            if isinstance(verdict, Refused):
                log.warning("attachment %s (%s %s) refused: %s", row.id, row.channel, row.msg_id, verdict.detail)
                await repo.refuse(session, row, verdict.reason, verdict.detail,
                                  size=len(data) or None, now=now)
                reason = verdict.reason
            else:
                assert error is not None
                if isinstance(error, TemporaryError) and attempts < self.max_attempts:
                    pause = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
                    log.warning("attachment %s attempt %d failed (%s); again in %g s", row.id, attempts, error, pause)
                    await repo.retry_later(session, row, str(error), now + dt.timedelta(seconds=pause))
                    return
                log.error("attachment %s (%s %s) given up after %d attempt(s): %s", row.id, row.channel,
                          row.msg_id, attempts, error)
                await repo.give_up(session, row, f"{type(error).__name__}: {error}", now=now)
                reason = None
            answer = tell_sender(row, refusal_text(row, reason, self.max_bytes), reason)
            reply_to = await repo.inbox_id_of(session, row.channel, row.msg_id)
            told = bool(await enqueue(session, [answer], now=now, reply_to=reply_to))
        if told and self.on_outbox is not None:
            self.on_outbox()
