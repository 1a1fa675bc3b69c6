"""Outbox delivery: claims due rows, hands them to the channel's sender, retries with backoff.

A row is claimed by pushing its `next_attempt_at` forward by a lease (with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, so several processes never claim the same row), then sent, then marked
sent. Each target (chat or person) gets its rows in id order, across retries and processes: a row
is not claimed while an earlier row to the same target is leased or backing off.

Rows to different targets go out concurrently, in waves of at most WAVE rows (one per target);
each wave's outcomes are recorded in one transaction before the next wave starts. A crash between
sending and recording lets the lease run out and the rows are sent again: at-least-once, never
lost, and the repeats after a crash are bounded by the rows in flight (one wave, WAVE rows).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import Exists, Select, Table, Update, bindparam, select, tuple_, update

from bot.stopping import pause, stop_loops
from core.clock import Clock
from core.delivery import Delivery, PermanentError, Sender, SendNow, TemporaryError
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("linli.outbox")

LEASE = dt.timedelta(seconds=60)
WAVE = 16  # rows in flight at once (different targets), recorded together (see _send_in_waves)
_OUTBOX = OutboxMessage.__table__
# The statements of every record, built once.
_MARK_SENT = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("now", type_=_OUTBOX.c.sent_at.type), last_error=None))
_RELEASE = (update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))  # not an attempt
            .values(next_attempt_at=bindparam("now", type_=_OUTBOX.c.next_attempt_at.type),
                    attempts=_OUTBOX.c.attempts - 1))
_MARK_FAILED = (update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
                .values(status="failed", last_error=bindparam("error", type_=_OUTBOX.c.last_error.type)))


def _blocked(t: Table, now: dt.datetime, *, any_state: bool) -> Exists:
    """An earlier pending row to the same chat as `t`'s row (with `any_state` False: one that is
    leased or backing off). Served by the partial index ix_outbox_pending_chat."""
    earlier = _OUTBOX.alias("earlier")
    query = select(earlier.c.id).where(earlier.c.status == "pending", earlier.c.channel == t.c.channel,
                                       earlier.c.target == t.c.target, earlier.c.id < t.c.id)
    if not any_state:
        query = query.where(earlier.c.next_attempt_at > now)
    return query.exists()


def _heads_statement(batch: int, now: dt.datetime, reply_to: int | None) -> Select[tuple[str, str]]:
    """Locks the due heads (oldest pending row of their chat) of up to `batch` chats, skipping the
    heads another claim holds; returns their (channel, target)."""
    t = _OUTBOX
    heads = (select(t.c.channel, t.c.target)
             .where(t.c.status == "pending", t.c.next_attempt_at <= now, ~_blocked(t, now, any_state=True))
             .order_by(t.c.id).limit(batch).with_for_update(skip_locked=True))
    return heads if reply_to is None else heads.where(t.c.reply_to == reply_to)


def _claim_statement(batch: int, now: dt.datetime, reply_to: int | None, *, chats: bool) -> Update:
    """Leases up to `batch` due rows not behind a leased or backing-off row of their chat (with
    `chats`: only rows of the chats in the expanding parameter "chats", whose heads are locked)."""
    t = _OUTBOX
    due = (select(t.c.id)
           .where(t.c.status == "pending", t.c.next_attempt_at <= now, ~_blocked(t, now, any_state=False))
           .order_by(t.c.id).limit(batch))
    if reply_to is not None:
        due = due.where(t.c.reply_to == reply_to)
    if chats:
        due = due.where(tuple_(t.c.channel, t.c.target).in_(bindparam("chats", expanding=True)))
        due = due.with_for_update(skip_locked=True)
    return (update(t).where(t.c.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=now + LEASE, attempts=t.c.attempts + 1)
            .returning(t.c.id, t.c.channel, t.c.community, t.c.audience, t.c.target, t.c.text, t.c.reply_to,
                       t.c.mentions))


def backoff(attempt: int, *, base: float = 2.0, cap: float = 600.0) -> dt.timedelta:
    """Exponential backoff with jitter (attempt 1 -> 1-2 s, 2 -> 2-4 s, … capped at 10 min)."""
    return dt.timedelta(seconds=random.uniform(0.5, 1.0) * min(cap, base**attempt))


@dataclass
class _Outcome:
    delivery: Delivery
    status: str  # sent | failed | retry | released
    error: str | None = None
    # From a TemporaryError: wait at least this long (rate limit); a local rate-limit wait
    # (`counts_as_attempt=False`) does not use up one of the row's attempts.
    retry_after: float | None = None
    counts_as_attempt: bool = True


async def _attempt(d: Delivery, send: SendNow | Exception) -> _Outcome:
    """Runs one row's send (or takes the error that kept it from going out) and says how it went."""
    try:
        if isinstance(send, Exception):
            raise send
        await send()
    except PermanentError as exc:
        return _Outcome(d, "failed", str(exc))
    except (TemporaryError, OSError, TimeoutError) as exc:
        return _Outcome(d, "retry", str(exc) or type(exc).__name__,
                        getattr(exc, "retry_after", None), getattr(exc, "counts_as_attempt", True))
    return _Outcome(d, "sent")


class _Waiter:
    def __init__(self, expected: int) -> None:
        self.remaining = expected
        self.event = asyncio.Event()


class OutboxDrainer:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        poll_seconds: float = 0.5,
        max_attempts: int = 8,
        batch: int = 200,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.batch = batch
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waiters: dict[int, _Waiter] = {}
        self._local_channels = {name for name, sender in self.senders.items() if hasattr(sender, "deliver_in")}
        self._local_sent = 0  # rows delivered inside the claim transaction, counted for drain_once
        # Outcomes since start, by channel (GET /metrics): sent, retry, failed, released.
        self.counts: Counter[tuple[str, str]] = Counter()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="outbox-drainer")

    async def stop(self) -> None:
        """Ends the drain loop after the round under way (bot/stopping.py: cutting one off inside a
        transaction can leave SQLite locked); rows still leased are sent after their lease."""
        if self._task is not None:
            self._wake.set()
            await stop_loops([self._task], self._stopping)
            self._task = None

    def expect(self, inbox_id: int, count: int) -> asyncio.Event:
        """An event set once `count` answers to `inbox_id` were delivered (or gave up) here."""
        waiter = self._waiters[inbox_id] = _Waiter(count)
        if count <= 0:
            waiter.event.set()
        return waiter.event

    def forget(self, inbox_id: int) -> None:
        self._waiters.pop(inbox_id, None)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed; retrying")
                handled = 0
                if await pause(self._stopping, self.poll_seconds):
                    return
            if handled == 0 and not self._stopping.is_set():
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _claim(self, reply_to: int | None = None) -> list[Delivery]:
        """Leases up to `batch` due rows.

        A row waits while an earlier row to the same chat is leased or backing off after a
        failure, so each chat gets its messages in order even with several drainers and retries.
        On PostgreSQL, several processes claim at once without any lock shared by all of them:
        first each takes the row lock of the oldest pending row of the chats it will serve (their
        "heads", `FOR UPDATE SKIP LOCKED`: a chat whose head another claim holds is left to that
        claim), then, in a second statement whose snapshot is taken after those locks are held,
        leases the due rows of those chats. A claim of the same chat by another process either
        holds the head first (this one skips the chat) or committed its leases before this
        statement's snapshot (this one sees them and waits). SQLite has one writer: one statement.
        """
        now = self.clock.now()
        claim = _claim_statement(self.batch, now, reply_to, chats=self.db.is_postgres)
        async with self.db.transaction() as session:
            if self.db.is_postgres:
                heads = (await session.execute(_heads_statement(self.batch, now, reply_to))).all()
                if not heads:
                    return []
                rows = (await session.execute(claim, {"chats": [tuple(h) for h in heads]})).all()
            else:
                rows = (await session.execute(claim)).all()
            claimed = [Delivery(*row[:-1], mentions=tuple(row[-1] or ())) for row in sorted(rows, key=lambda r: r[0])]
            # A channel that delivers into the database (the simulator's timeline) delivers in
            # this very transaction: delivered and marked sent together, exactly once.
            local = [d for d in claimed if hasattr(self.senders.get(d.channel), "deliver_in")]
            if local:
                by_channel: dict[str, list[Delivery]] = defaultdict(list)
                for d in local:
                    by_channel[d.channel].append(d)
                for channel, items in by_channel.items():
                    await self.senders[channel].deliver_in(session, items)  # type: ignore[attr-defined]
                await session.execute(_MARK_SENT, {"ids": [d.id for d in local], "now": now})
        self._delivered([_Outcome(d, "sent") for d in local])
        done = {d.id for d in local}
        return [d for d in claimed if d.id not in done]

    async def drain_once(self, *, reply_to: int | None = None) -> int:
        """Sends what is due now (only the answers to one inbox message, if `reply_to`).

        Returns the number of rows that reached a final state (sent or failed).
        """
        before = self._local_sent
        deliveries = await self._claim(reply_to)
        if not deliveries:
            return self._local_sent - before
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for d in deliveries:
            by_channel[d.channel].append(d)
        final = 0
        claimed_at = time.monotonic()
        for channel, items in by_channel.items():
            sender = self.senders.get(channel)
            if sender is None:
                outcomes = [_Outcome(d, "failed", f"no sender for channel {channel!r}") for d in items]
            elif hasattr(sender, "send_batch"):
                outcomes = await self._send_batch(sender, items)
            else:
                final += await self._send_in_waves(sender, items, claimed_at)
                continue
            await self._record(outcomes)
            final += sum(o.status in ("sent", "failed") for o in outcomes)
        return self._local_sent - before + final

    async def _send_in_waves(self, sender: Sender, items: list[Delivery], claimed_at: float) -> int:
        """Sends one channel's rows of a claim, WAVE at a time, each wave recorded in one transaction.

        A wave holds the next row of up to WAVE different targets, sent concurrently; the rows of
        one target go out one per wave, in order, and once one of them fails the rest of that
        target waits (released) until it got through. A process killed in the middle of a wave
        sends at most that wave's rows again after the lease (at-least-once, bounded by WAVE).
        """
        lanes: dict[str, deque[Delivery]] = {}
        for d in items:  # in id order: so is each lane, and the lanes in order of their first row
            lanes.setdefault(d.target, deque()).append(d)
        final = 0
        while lanes:
            if time.monotonic() - claimed_at > LEASE.total_seconds() / 2:
                # A slow API: give the rest back before the lease runs out, or another process
                # would claim and send them too.
                await self._record([_Outcome(d, "released") for lane in lanes.values() for d in lane])
                break
            targets = list(islice(lanes, WAVE))
            wave = [lanes[t].popleft() for t in targets]
            results = await self._send_wave(sender, wave)
            outcomes = [r for r in results if isinstance(r, _Outcome)]
            for target, result in zip(targets, results, strict=True):
                if isinstance(result, _Outcome) and result.status == "retry":
                    # Keep per-target order: the later rows wait until this one got through.
                    outcomes.extend(_Outcome(d, "released") for d in lanes.pop(target))
                elif not lanes[target]:
                    del lanes[target]
            await self._record(outcomes)
            final += sum(o.status in ("sent", "failed") for o in outcomes)
            crash = next((r for r in results if isinstance(r, BaseException)), None)
            if crash is not None:
                # Not an answer from the channel (a bug, or the process stopping): the row stays
                # leased and is sent again after the lease, like after a crash.
                raise crash
        return final

    async def _send_wave(self, sender: Sender, wave: list[Delivery]) -> list[_Outcome | BaseException]:
        """Sends rows of different targets concurrently: an outcome per row, or what a send raised
        that is neither a TemporaryError nor a PermanentError."""
        prepare = getattr(sender, "prepare", None)
        if prepare is not None:
            ready: list[SendNow | Exception] = await prepare(wave)
        else:
            ready = [functools.partial(sender.send, d) for d in wave]
        if len(wave) == 1:
            try:
                return [await _attempt(wave[0], ready[0])]
            except Exception as exc:
                return [exc]
        return list(await asyncio.gather(*(_attempt(d, r) for d, r in zip(wave, ready, strict=True)),
                                         return_exceptions=True))

    async def _send_batch(self, sender: Sender, items: list[Delivery]) -> list[_Outcome]:
        try:
            await sender.send_batch(items)  # type: ignore[attr-defined]
        except PermanentError as exc:
            return [_Outcome(d, "failed", str(exc)) for d in items]
        except (TemporaryError, OSError, TimeoutError) as exc:
            return [_Outcome(d, "retry", str(exc) or type(exc).__name__) for d in items]
        return [_Outcome(d, "sent") for d in items]

    async def _record(self, outcomes: list[_Outcome]) -> None:
        """Stores the outcomes of one wave in one transaction (Core statements, built once)."""
        if not outcomes:
            return
        now = self.clock.now()
        sent = [o.delivery.id for o in outcomes if o.status == "sent"]
        released = [o.delivery.id for o in outcomes if o.status == "released"]
        retry = {o.delivery.id: o for o in outcomes if o.status == "retry"}
        async with self.db.engine.begin() as conn:
            if sent:
                await conn.execute(_MARK_SENT, {"ids": sent, "now": now})
            if released:
                await conn.execute(_RELEASE, {"ids": released, "now": now})
            for o in outcomes:
                if o.status == "failed":
                    log.error("outbox row %s to %s failed permanently: %s", o.delivery.id, o.delivery.target, o.error)
                    await conn.execute(_MARK_FAILED, {"row_id": o.delivery.id, "error": o.error})
            if retry:
                rows = (await conn.execute(select(_OUTBOX.c.id, _OUTBOX.c.attempts)
                                           .where(_OUTBOX.c.id.in_(list(retry))))).all()
                for row_id, attempts in sorted(rows):
                    o = retry[row_id]
                    if not o.counts_as_attempt:
                        attempts -= 1
                    if attempts >= self.max_attempts:
                        log.error("outbox row %s gave up after %d attempts: %s", row_id, attempts, o.error)
                        await conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
                            attempts=attempts, status="failed",
                            last_error=f"gave up after {attempts} attempts: {o.error}"))
                        o.status = "failed"
                    else:
                        log.warning("outbox row %s attempt %d failed (%s); retrying", row_id, attempts, o.error)
                        await conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
                            attempts=attempts, last_error=o.error,
                            next_attempt_at=now + max(backoff(attempts), dt.timedelta(seconds=o.retry_after or 0))))
        self._delivered(outcomes)

    def _delivered(self, outcomes: list[_Outcome]) -> None:
        """Wakes whoever waits for the answers to an inbox message (the simulator's POST)."""
        for o in outcomes:
            self.counts[(o.delivery.channel, o.status)] += 1
        for o in outcomes:
            if o.status == "sent" and o.delivery.channel in self._local_channels:
                self._local_sent += 1
        for o in outcomes:
            if o.status in ("sent", "failed") and o.delivery.reply_to is not None:
                waiter = self._waiters.get(o.delivery.reply_to)
                if waiter is not None:
                    waiter.remaining -= 1
                    if waiter.remaining <= 0:
                        waiter.event.set()
