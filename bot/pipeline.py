"""From stored inbox rows to outbox rows: understand, route, handle.

Messages are handled by one worker per process, in arrival order (so one resident's "明天上午"
can never race the same resident's "取消"). Concurrent messages are handled in one transaction
with a savepoint each: a failing handler rolls back only its own message, and the batch pays one
commit instead of one per message (DESIGN.md: a commit per message caps a process at a few hundred
messages a second).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.inbox import message_from_row
from bot.routing import Dispatched, HandlerFailed, Router, dispatch
from bot.stopping import pause
from config.community import Community, Directory
from core.clock import Clock
from core.message import Message, Outgoing
from handlers.base import QUESTION_TTL
from nlp.understanding import Understanding
from storage.attachments_repo import attachments_of_messages
from storage.conversations import Conversations
from storage.db import Database
from storage.models import InboxMessage, OutboxMessage
from storage.outbox_repo import enqueue, enqueue_rows, outbox_row

log = logging.getLogger("linli.pipeline")

Understand = Callable[[str, dt.datetime], Understanding]


@dataclass
class _Job:
    inbox_id: int
    message: Message | None
    future: asyncio.Future[list[Outgoing]] | None  # None: submitted, nobody waits for the answers
    started: float = field(default_factory=time.perf_counter)
    # Read once, before the transaction (`Pipeline._read`).
    community: Community | None = None
    now: dt.datetime | None = None  # in the community's time zone
    understanding: Understanding | None = None


class Pipeline:
    """Handles stored messages, in order, in grouped transactions."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        router: Router,
        understand: Understand,
        clock: Clock,
        *,
        conversation_ttl: dt.timedelta = QUESTION_TTL,
        on_outbox: Callable[[], None] | None = None,
        max_batch: int = 100,
        max_backlog: int = 1000,
        handle: bool = True,
    ) -> None:
        """`handle=False` (LINLI_HANDLE_MESSAGES=false) makes `submit` leave the stored row "new" for
        a process that handles: its `resume_pending` at start or its `sweep`."""
        self.db = db
        self.directory = directory
        self.router = router
        self.understand = understand
        self.clock = clock
        self.conversation_ttl = conversation_ttl
        self._on_outbox = on_outbox
        self._max_batch = max_batch
        self.handle = handle
        self._max_backlog = max_backlog
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._room = asyncio.Event()  # set while the queue is shorter than max_backlog
        self._room.set()
        self._worker: asyncio.Task[None] | None = None
        # Told each handled message's seconds from queued to answers committed (bot/metrics.py).
        self.on_handled: Callable[[float], None] | None = None

    # -- public API -------------------------------------------------------------------------

    async def process(self, inbox_id: int, message: Message | None = None) -> list[Outgoing]:
        """Handles one stored message once; returns what the bot said in answer to it."""
        future: asyncio.Future[list[Outgoing]] = asyncio.get_running_loop().create_future()
        self._enqueue(_Job(inbox_id, message, future))
        return await future

    def submit(self, inbox_id: int, message: Message | None = None) -> bool:
        """Queues a stored message for handling in the background (channels that acknowledge
        first); False without `handle`: the row waits for a process that handles."""
        if not self.handle:
            return False
        self._enqueue(_Job(inbox_id, message, None))
        return True

    async def room(self) -> None:
        """Waits while `max_backlog` messages wait for handling (callbacks call it before they
        submit). Acknowledging is cheaper than handling, so under a flood the acknowledgments
        would outrun handling without bound: memory grows and each message waits longer for its
        answer. Holding the acknowledgment back instead keeps handling abreast of them; WeChat
        waits 5 s for an answer, and the backlog is a fraction of a second of work."""
        while self.handle and self._queue.qsize() >= self._max_backlog:
            self._ensure_worker()
            self._room.clear()
            await self._room.wait()

    @property
    def queued(self) -> int:
        """Messages waiting in this process's queue for the worker."""
        return self._queue.qsize()

    def _enqueue(self, job: _Job) -> None:
        self._ensure_worker()
        self._queue.put_nowait(job)  # unbounded: `room` is where callbacks wait

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="pipeline-worker")

    async def drain_background(self) -> None:
        """Waits until every message queued so far is handled."""
        if self._worker is not None and not self._worker.done():
            await self._queue.join()

    async def stop(self) -> None:
        await self.drain_background()
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def resume_pending(self) -> int:
        """Handles messages stored but not handled before the last stop (crash recovery)."""
        async with self.db.transaction() as session:
            ids = (
                await session.scalars(
                    select(InboxMessage.id).where(InboxMessage.status == "new").order_by(InboxMessage.id)
                )
            ).all()
        await asyncio.gather(*(self.process(inbox_id) for inbox_id in ids))
        return len(ids)

    async def sweep(self, *, older_than: dt.timedelta = dt.timedelta(seconds=30)) -> int:
        """Handles stored messages that nobody handled: their handling failed while the database
        was unreachable (they were acknowledged, so WeChat will not send them again), or the
        process that stored them died. The claim in `_handle_batch` keeps this exactly-once even
        when another process is handling the same rows right now."""
        cutoff = dt.datetime.now(dt.UTC) - older_than  # received_at is the real arrival time
        async with self.db.transaction() as session:
            ids = (
                await session.scalars(
                    select(_INBOX.c.id)
                    .where(_INBOX.c.status == "new", _INBOX.c.received_at < cutoff)
                    .order_by(_INBOX.c.id)
                    .limit(1000)
                )
            ).all()
        if ids:
            log.warning("handling %d stored message(s) left unhandled for over %s", len(ids), older_than)
            await asyncio.gather(*(self.process(inbox_id) for inbox_id in ids), return_exceptions=True)
        return len(ids)

    async def sweep_forever(self, stopping: asyncio.Event, every: float = 10.0) -> None:
        while not await pause(stopping, every):
            try:
                await self.sweep()
            except Exception as exc:  # the database is still down: try again later
                log.warning("sweep for unhandled messages failed: %s", exc)

    # -- the worker ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if self._queue.qsize() < self._max_backlog:
                self._room.set()
            try:
                await self._handle_and_answer(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _handle_and_answer(self, batch: list[_Job]) -> None:
        try:
            results = await self._handle_batch_with_retries(batch)
        except Exception as exc:
            # The database itself failed (connection lost, commit refused): nothing was
            # committed, the rows stay "new" and the sweep (or the next start) handles them.
            log.error("handling %d message(s) failed: %s", len(batch), exc)
            for job in batch:
                if job.future is not None and not job.future.done():
                    job.future.set_exception(exc)
            return
        if self.on_handled is not None:
            done = time.perf_counter()
            for job in batch:
                self.on_handled(done - job.started)
        if any(results) and self._on_outbox is not None:
            self._on_outbox()
        for job, outgoing in zip(batch, results, strict=True):
            if job.future is not None and not job.future.done():
                job.future.set_result(outgoing)

    async def _handle_batch_with_retries(self, batch: list[_Job]) -> list[list[Outgoing]]:
        """A batch whose transaction fails (e.g. a PostgreSQL deadlock between two processes
        locking booking sessions in opposite order) is retried message by message, each a few
        times, so one conflict never costs the others their answers.

        The first attempt runs without savepoints (two statements less per handled message); if
        any handler raises, that attempt is rolled back whole and the batch is handled again with
        a savepoint per message, so the failure still costs only its own message."""
        try:
            return await self._handle_batch(batch, isolate=False)
        except HandlerFailed:
            pass
        except DBAPIError as exc:
            if len(batch) == 1 and not _is_transient(exc):
                raise
            log.warning("batch of %d message(s) rolled back (%s); retrying one by one", len(batch), exc)
            return await self._one_by_one(batch)
        try:
            return await self._handle_batch(batch, isolate=True)
        except DBAPIError as exc:
            if len(batch) == 1 and not _is_transient(exc):
                raise
            log.warning("batch of %d message(s) rolled back (%s); retrying one by one", len(batch), exc)
            return await self._one_by_one(batch)

    async def _one_by_one(self, batch: list[_Job]) -> list[list[Outgoing]]:
        results: list[list[Outgoing]] = []
        for job in batch:
            for attempt in range(1, 4):
                try:
                    results += await self._handle_batch([job], isolate=True)
                    break
                except DBAPIError as exc:
                    if attempt == 3 or not _is_transient(exc):
                        raise
                    await asyncio.sleep(0.05 * attempt)
        return results

    async def _handle_batch(self, batch: list[_Job], *, isolate: bool) -> list[list[Outgoing]]:
        results: list[list[Outgoing]] = [[] for _ in batch]
        # Understanding is pure CPU: done before the transaction, so the database connection
        # (SQLite's only one, which the inbox needs to acknowledge callbacks) is held less long.
        await self._read_all(batch)
        async with self.db.transaction() as session:
            missing = [j.inbox_id for j in batch if j.message is None]
            if missing:  # jobs resumed after a restart: their messages in one query
                rows = {r.id: r for r in (await session.execute(select(_INBOX).where(_INBOX.c.id.in_(missing))))}
                resumed = [j for j in batch if j.message is None and j.inbox_id in rows]
                for job in resumed:
                    job.message = message_from_row(rows[job.inbox_id])  # type: ignore[arg-type]
                await _with_attachments(session, resumed)
            # One statement claims the whole batch; a row already handled (by another process,
            # or before a crash) is not claimed, and its earlier answers are returned instead.
            claimed = set(
                (
                    await session.execute(
                        update(_INBOX)
                        .where(_INBOX.c.id.in_([j.inbox_id for j in batch]), _INBOX.c.status == "new")
                        .values(status="done", processed_at=self.clock.now())
                        .returning(_INBOX.c.id)
                    )
                ).scalars()
            )
            conversations = await Conversations.load(session, [j.message for j in batch if j.message])
            outcomes: list[dict[str, object]] = []
            queued: list[dict[str, object]] = []  # outbox rows of the batch, in order, inserted at the end
            for i, job in enumerate(batch):
                if i and i % 16 == 0:
                    await asyncio.sleep(0)  # let waiting callbacks be acknowledged between long stretches
                if job.message is None:
                    log.error("no inbox row %s", job.inbox_id)
                elif job.inbox_id not in claimed:
                    results[i] = await self.existing_replies(session, job.inbox_id)
                else:
                    results[i], outcome = await self._handle_one(session, job, conversations, isolate=isolate)
                    outcomes.append(outcome)
                    if not isolate and results[i]:
                        now = self.clock.now()
                        queued += [outbox_row(o, now, job.inbox_id) for o in results[i]]
            await enqueue_rows(session, queued)
            if outcomes:  # labels, handlers and failures of the batch in one executemany
                await session.execute(_RECORD_OUTCOME, [{"row_id": o["row_id"], **{f"b_{k}": o[k] for k in
                                                         ("label", "handler", "status", "error")}} for o in outcomes])
        return results

    async def _handle_one(
        self, session: AsyncSession, job: _Job, conversations: Conversations, *, isolate: bool
    ) -> tuple[list[Outgoing], dict[str, object]]:
        message = job.message
        assert message is not None
        outcome: dict[str, object] = {"row_id": job.inbox_id, "label": None, "handler": None}
        outgoing: list[Outgoing] = []
        try:
            if job.understanding is None:  # resumed after a restart, or reading it failed: once more
                self._read(job)
            if job.community is None:
                raise LookupError(f"unknown community {message.community!r}")
            assert job.understanding is not None
            outcome["label"] = job.understanding.label
            if isolate:
                # The savepoint confines a failing handler's changes to its own message.
                async with session.begin_nested():
                    done = await self._dispatch(session, job, conversations)
                    await enqueue(session, done.outgoing, now=self.clock.now(), reply_to=job.inbox_id)
            else:
                done = await self._dispatch(session, job, conversations)
            outcome["handler"] = done.handler
            outgoing = done.outgoing
        except Exception as exc:
            if isinstance(exc, HandlerFailed):
                if not isolate:
                    raise  # roll the batch back; it is redone with a savepoint per message
                outcome["handler"] = exc.handler
            conversations.forget(message)  # what the handler asked or answered was rolled back
            log.exception("handling message %s failed", message.msg_id)
            cause = exc.__cause__ if isinstance(exc, HandlerFailed) and exc.__cause__ else exc
            outcome.update(status="failed", error=f"{type(cause).__name__}: {cause}"[:2000])
            outgoing = []
        outcome.setdefault("status", "done")
        outcome.setdefault("error", None)
        self._log(message, str(outcome["label"] or "?"), outcome["handler"], job.started)  # type: ignore[arg-type]
        return outgoing, outcome

    async def _dispatch(self, session: AsyncSession, job: _Job, conversations: Conversations) -> Dispatched:
        assert job.message is not None and job.understanding is not None
        assert job.community is not None and job.now is not None
        return await dispatch(self.router, session, job.message, job.understanding, job.community, job.now,
                              conversations=conversations, conversation_ttl=self.conversation_ttl)

    def _read(self, job: _Job) -> None:
        """The message's community (its group's, else the one it names), the local time there, and
        what the message means: read once a job."""
        message = job.message
        assert message is not None
        found = self.directory.find_group(message.group_id) if message.group_id else None
        job.community = found[0] if found else self.directory.community(message.community)
        if job.community is not None:
            job.now = self.clock.now().astimezone(ZoneInfo(job.community.timezone))
            job.understanding = self.understand(message.text, job.now)

    async def _read_all(self, batch: list[_Job]) -> None:
        for i, job in enumerate(batch):
            if i and i % 16 == 0:
                # A batch of 100 new texts is ≈ 10 ms of CPU: callbacks waiting for their
                # acknowledgment get the loop between stretches (p99 latency, BENCHMARKS.md).
                await asyncio.sleep(0)
            if job.message is None or job.understanding is not None:
                continue
            try:
                self._read(job)
            except Exception:
                continue  # _handle_one tries again and records the failure with the message

    async def existing_replies(self, session: AsyncSession, inbox_id: int) -> list[Outgoing]:
        """What the bot answered to an inbox row (the outbox rows that reply to it), in order."""
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.reply_to == inbox_id).order_by(OutboxMessage.id)
            )
        ).all()
        return [
            Outgoing(r.channel, r.community, r.audience, r.target, r.text, mentions=tuple(r.mentions or ()))  # type: ignore[arg-type]
            for r in rows
        ]

    def _log(self, message: Message, label: str, handler: str | None, started: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        log.info(
            json.dumps(
                {
                    "event": "message",
                    "msg_id": message.msg_id,
                    "channel": message.channel,
                    "label": label,
                    "handler": handler,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
                ensure_ascii=False,
            )
        )


_INBOX = InboxMessage.__table__
# Core statements, not the ORM: the hot path pays SQLAlchemy's per-statement cost once a batch.
_RECORD_OUTCOME = (
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("row_id"))
    .values(label=bindparam("b_label"), handler=bindparam("b_handler"), status=bindparam("b_status"),
            error=bindparam("b_error"))
)


async def _with_attachments(session: AsyncSession, jobs: list[_Job]) -> None:
    """Messages read back from the inbox get their photos and locations again (stored apart)."""
    found = await attachments_of_messages(session, [(j.message.channel, j.message.msg_id) for j in jobs if j.message])
    for job in jobs:
        if job.message is not None and (key := (job.message.channel, job.message.msg_id)) in found:
            job.message = dataclasses.replace(job.message, attachments=found[key])


def _is_transient(exc: DBAPIError) -> bool:
    """Deadlocks, serialization failures and a busy SQLite file are worth another try."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)
