"""Outbox delivery: claims due rows, hands them to the channel's sender, retries with backoff.

A row is claimed by pushing its `next_attempt_at` forward by a lease (with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several processes never claim the same row), then sent, then marked
sent. A crash between sending and marking lets the lease run out and the row is sent again:
at-least-once, never lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Mapping

from sqlalchemy import select, update

from bot.channels.base import Delivery, PermanentError, Sender, TemporaryError
from bot.clock import Clock
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("linli.outbox")

LEASE = dt.timedelta(seconds=60)


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> dt.timedelta:
    """Exponential backoff with full jitter (attempt 1 -> up to 2 s, 2 -> 4 s, … capped)."""
    return dt.timedelta(seconds=random.uniform(0.5, 1.0) * min(cap, base**attempt))


class OutboxDrainer:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        poll_seconds: float = 0.5,
        max_attempts: int = 8,
        batch: int = 100,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-drainer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed; retrying")
                sent = 0
            if sent == 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _claim(self, reply_to: int | None = None) -> list[Delivery]:
        now = self.clock.now()
        async with self.db.transaction() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            if reply_to is not None:
                query = query.where(OutboxMessage.reply_to == reply_to)
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            if not rows:
                return []
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + LEASE, attempts=OutboxMessage.attempts + 1)
            )
            return [Delivery(r.id, r.channel, r.community, r.audience, r.target, r.text) for r in rows]

    async def drain_once(self, *, reply_to: int | None = None) -> int:
        """Sends what is due now (only the answers to one inbox message, if `reply_to`).

        Returns the number of rows handled (sent or failed).
        """
        deliveries = await self._claim(reply_to)
        handled = 0
        blocked_targets: set[tuple[str, str]] = set()
        for d in deliveries:
            target = (d.channel, d.target)
            if target in blocked_targets:
                # Keep per-target order: a later row waits until the earlier one got through.
                await self._release(d.id)
                continue
            sender = self.senders.get(d.channel)
            try:
                if sender is None:
                    raise PermanentError(f"no sender for channel {d.channel!r}")
                await sender.send(d)
            except PermanentError as exc:
                log.error("outbox row %s to %s failed permanently: %s", d.id, d.target, exc)
                await self._finish(d.id, "failed", str(exc))
                handled += 1
            except (TemporaryError, OSError, TimeoutError) as exc:
                blocked_targets.add(target)
                await self._retry_later(d.id, str(exc) or type(exc).__name__)
            else:
                await self._finish(d.id, "sent", None)
                handled += 1
        return handled

    async def _finish(self, row_id: int, status: str, error: str | None) -> None:
        async with self.db.transaction() as session:
            values: dict[str, object] = {"status": status, "last_error": error}
            if status == "sent":
                values["sent_at"] = self.clock.now()
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))

    async def _release(self, row_id: int) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(next_attempt_at=self.clock.now(), attempts=OutboxMessage.attempts - 1)
            )

    async def _retry_later(self, row_id: int, error: str) -> None:
        async with self.db.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            if row.attempts >= self.max_attempts:
                log.error("outbox row %s gave up after %d attempts: %s", row_id, row.attempts, error)
                row.status, row.last_error = "failed", f"gave up after {row.attempts} attempts: {error}"
            else:
                log.warning("outbox row %s attempt %d failed (%s); retrying", row_id, row.attempts, error)
                row.last_error = error
                row.next_attempt_at = self.clock.now() + backoff(row.attempts)
