"""The inbox: every received message is stored under its unique (channel, msg_id) before handling.

Writes are grouped: concurrent callers are written in one transaction and each is released once
its row is committed, so a callback is acknowledged only when its message is durable, without
paying one commit per message (DESIGN.md, "Where the time goes").

One bad message never fails another: a message whose values do not fit the inbox's columns is
refused before it is queued (`Unstorable`), and when a batch still fails, it is written again
with a savepoint per message: a message the database refuses while the others commit is
`Unstorable` (logged once, here; its channel answers 400), the others are stored. Only a failure
of the whole transaction (the database is down) reaches every caller of the batch (503: retry).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.message import Message
from storage.db import Database
from storage.inbox_rows import COLUMNS, InboxRows, inbox_rows_for
from storage.models import InboxMessage
from storage.upsert import dialect_insert

log = logging.getLogger(__name__)

# Work to do in the same transaction as a *new* inbox row (e.g. the simulator's timeline entry).
OnNew = Callable[[AsyncSession, int], Awaitable[None]]


class Unstorable(Exception):
    """A message the inbox can never store (a value longer than its column, a row the database
    refuses while the rest of its batch commits): retrying cannot help."""


@dataclass(frozen=True)
class Stored:
    inbox_id: int
    duplicate: bool


@dataclass
class _Pending:
    message: Message
    on_new: OnNew | None
    future: asyncio.Future[Stored]


class InboxWriter:
    """Groups the inserts of concurrent callers into one transaction (at most `max_batch` rows)."""

    def __init__(self, db: Database, *, max_batch: int = 200, fast: bool = True) -> None:
        self._db = db
        # Batches with no work besides the rows (every callback from a known sender) take the
        # lean path: one statement on a connection of the inbox's own (storage/inbox_rows.py).
        self._rows: InboxRows | None = inbox_rows_for(db.url) if fast else None
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._insert = (
            dialect_insert(db)(_INBOX)
            .on_conflict_do_nothing(index_elements=["channel", "msg_id"])
            .returning(_INBOX.c.id, _INBOX.c.channel, _INBOX.c.msg_id)
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._rows is not None:
            await self._rows.close()

    async def store(self, message: Message, on_new: OnNew | None = None) -> Stored:
        """Returns once the message is committed (or found to be a retry of a stored one).
        Raises Unstorable for a message the inbox can never hold, without delaying the others."""
        problem = _does_not_fit(message)
        if problem is not None:
            log.warning("inbox: message %.64r of %s not stored: %s", message.msg_id, message.channel, problem)
            raise Unstorable(problem)
        if self._task is None:
            self.start()
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(message, on_new, future))  # unbounded: never waits
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # Everything that queued up while the previous batch was committing goes together.
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            results: list[Stored | Unstorable]
            try:
                if self._rows is not None and all(item.on_new is None for item in batch):
                    results = list(await self._write_rows(batch))
                else:
                    results = list(await self._write(batch))
            except Exception as first:
                # One row (or one row's hook) may be at fault: again, a savepoint per message.
                try:
                    results = await self._write_isolated(batch)
                except Exception as exc:  # the database is down: every caller gets the error (-> 5xx)
                    log.error("inbox write failed for %d message(s): %s (first attempt: %s)", len(batch), exc,
                              _short(first))
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
            for item, result in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(result, Unstorable):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)

    async def _write_rows(self, batch: list[_Pending]) -> list[Stored]:
        assert self._rows is not None
        first = _first_per_key(batch)
        now = dt.datetime.now(dt.UTC)
        new_ids, old_ids = await self._rows.insert([_row(item.message, now) for item in first.values()])
        return _results(batch, first, new_ids, old_ids)

    async def _write(self, batch: list[_Pending]) -> list[Stored]:
        """One multi-row INSERT … ON CONFLICT DO NOTHING for the batch, then the hooks of new rows."""
        first = _first_per_key(batch)
        now = dt.datetime.now(dt.UTC)
        async with self._db.transaction() as session:
            # One executemany of a cached Core statement (SQLAlchemy turns it into multi-row
            # INSERTs): building a fresh multi-VALUES statement per batch cost more than the rows.
            inserted = await session.execute(
                self._insert, [dict(zip(COLUMNS, _row(item.message, now), strict=True)) for item in first.values()]
            )
            new_ids = {(channel, msg_id): row_id for row_id, channel, msg_id in inserted.all()}
            old_ids: dict[tuple[str, str], int] = {}
            missing = [key for key in first if key not in new_ids]
            if missing:  # retries of messages stored earlier (or by another process just now)
                for key in missing:
                    found = await _find(session, *key)
                    if found is not None:
                        old_ids[key] = found
            for key, item in first.items():
                if key in new_ids and item.on_new is not None:
                    await item.on_new(session, new_ids[key])
        return _results(batch, first, new_ids, old_ids)

    async def _write_isolated(self, batch: list[_Pending]) -> list[Stored | Unstorable]:
        """The batch again in one transaction, each message (its row and its hook) in a savepoint:
        a message that fails is rolled back alone and is `Unstorable` (logged here, once), as long
        as the transaction itself commits; if it does not, the caller sees that error."""
        first = _first_per_key(batch)
        now = dt.datetime.now(dt.UTC)
        new_ids: dict[tuple[str, str], int] = {}
        old_ids: dict[tuple[str, str], int] = {}
        refused: dict[tuple[str, str], Unstorable] = {}
        async with self._db.transaction() as session:
            for key, item in first.items():
                try:
                    async with session.begin_nested():
                        inserted = (await session.execute(
                            self._insert, [dict(zip(COLUMNS, _row(item.message, now), strict=True))])).all()
                        if inserted:
                            new_ids[key] = inserted[0][0]
                            if item.on_new is not None:
                                await item.on_new(session, new_ids[key])
                        else:
                            found = await _find(session, *key)
                            if found is not None:
                                old_ids[key] = found
                except Exception as exc:
                    new_ids.pop(key, None)
                    refused[key] = Unstorable(_short(exc))
        for (channel, msg_id), exc in refused.items():
            log.error("inbox: message %.64r of %s refused by the database, not stored (the rest of its batch "
                      "was): %s", msg_id, channel, exc)
        stored = _results(batch, first, new_ids, old_ids)
        return [refused.get((item.message.channel, item.message.msg_id), result)
                for item, result in zip(batch, stored, strict=True)]


def _short(exc: BaseException) -> str:
    """The first line of an error, without SQLAlchemy's statement and parameters (a resident's text)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0][:200] if text else ''}"


# The inbox's text columns and their lengths: a message whose values are longer is refused before
# it is queued (PostgreSQL enforces them; SQLite would store anything).
_LIMITS = {name: InboxMessage.__table__.c[name].type.length  # type: ignore[attr-defined]
           for name in ("channel", "msg_id", "community", "group_id", "sender_id", "sender_name", "sender_role")}


def _does_not_fit(m: Message) -> str | None:
    for name, limit in _LIMITS.items():
        value = getattr(m, name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return f"{name} is longer than {limit} characters" if isinstance(value, str) else f"{name} is not text"
    if not m.msg_id:
        return "msg_id is empty"
    return None


def _first_per_key(batch: list[_Pending]) -> dict[tuple[str, str], _Pending]:
    """The first caller of each (channel, msg_id) in the batch: the only one whose row is inserted."""
    first: dict[tuple[str, str], _Pending] = {}
    for item in batch:
        first.setdefault((item.message.channel, item.message.msg_id), item)
    return first


def _results(batch: list[_Pending], first: dict[tuple[str, str], _Pending], new_ids: dict[tuple[str, str], int],
             old_ids: dict[tuple[str, str], int]) -> list[Stored]:
    """Each caller's outcome: the first caller of a new key owns it; any other is a duplicate."""
    results: list[Stored] = []
    claimed: set[tuple[str, str]] = set()
    for item in batch:
        key = (item.message.channel, item.message.msg_id)
        if key in new_ids and key not in claimed and first[key] is item:
            claimed.add(key)
            results.append(Stored(new_ids[key], False))
        else:
            results.append(Stored(new_ids.get(key) or old_ids.get(key, 0), True))
    return results


_INBOX = InboxMessage.__table__


async def _find(session: AsyncSession, channel: str, msg_id: str) -> int | None:
    return await session.scalar(select(_INBOX.c.id).where(_INBOX.c.channel == channel, _INBOX.c.msg_id == msg_id))


def _row(m: Message, received_at: dt.datetime) -> tuple[object, ...]:
    """The row in storage.inbox_rows.COLUMNS order (both write paths store this)."""
    return (m.channel, m.msg_id, m.community, m.group_id, m.sender_id, m.sender_name, m.sender_role, m.text,
            m.mentions_bot, m.sent_at, received_at, "new")



def message_from_row(row: InboxMessage) -> Message:
    return Message(
        channel=row.channel,
        community=row.community,
        group_id=row.group_id,
        sender_id=row.sender_id,
        sender_name=row.sender_name,
        text=row.text,
        msg_id=row.msg_id,
        sent_at=row.sent_at,
        mentions_bot=row.mentions_bot,
        sender_role=row.sender_role,  # type: ignore[arg-type]
    )
