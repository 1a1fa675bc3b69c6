"""The inbox stores each message once under (channel, msg_id), under concurrency, on SQLite and on
PostgreSQL, and acknowledges only once the row is committed."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.inbox import InboxWriter
from core.message import Message
from storage.db import Database
from storage.migrate import upgrade
from storage.models import InboxMessage
from tests.conftest import REFERENCE_NOW


def _message(msg_id: str, text: str = "今天有什么活动") -> Message:
    return Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang",
                   sender_name="张秀兰", text=text, msg_id=msg_id, sent_at=REFERENCE_NOW)


async def test_concurrent_retries_of_one_message_store_one_row(db: Database) -> None:
    writer = InboxWriter(db)
    writer.start()
    try:
        results = await asyncio.gather(*(writer.store(_message("dup-1")) for _ in range(20)),
                                       *(writer.store(_message(f"other-{i}")) for i in range(30)))
    finally:
        await writer.stop()
    dup = results[:20]
    assert sum(not r.duplicate for r in dup) == 1
    assert len({r.inbox_id for r in dup}) == 1
    assert all(not r.duplicate for r in results[20:])
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 31


async def test_two_writers_racing_like_two_processes_store_one_row(db: Database) -> None:
    a, b = InboxWriter(db), InboxWriter(db)
    a.start()
    b.start()
    try:
        results = await asyncio.gather(*(w.store(_message(f"m-{i}")) for i in range(25) for w in (a, b)))
    finally:
        await a.stop()
        await b.stop()
    assert sum(not r.duplicate for r in results) == 25
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 25


async def test_timestamps_come_back_timezone_aware(db: Database) -> None:
    writer = InboxWriter(db)
    stored = await writer.store(_message("tz-1"))
    await writer.stop()
    async with db.transaction() as session:
        row = await session.get(InboxMessage, stored.inbox_id)
    assert row is not None and row.sent_at == REFERENCE_NOW and row.sent_at.utcoffset() == dt.timedelta(0)


async def test_the_lean_inbox_path_stores_exactly_what_the_orm_path_stores(db: Database) -> None:
    """Callbacks from known senders take storage/inbox_rows.py; the row must read back the same."""
    sent_at = dt.datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    def message(msg_id: str) -> Message:
        return Message(channel="wecom", community="xingfuli", group_id=None, sender_id="wx-王", sender_name="王 ' 阿姨",
                       text="热水壶坏了\n'; DROP TABLE inbox; --", msg_id=msg_id, sent_at=sent_at, mentions_bot=True,
                       sender_role="volunteer")

    lean, orm = InboxWriter(db), InboxWriter(db, fast=False)
    assert lean._rows is not None and orm._rows is None
    try:
        stored = [await lean.store(message("lean")), await orm.store(message("orm")), await lean.store(message("orm"))]
    finally:
        await lean.stop()
        await orm.stop()
    assert [s.duplicate for s in stored] == [False, False, True]
    assert stored[2].inbox_id == stored[1].inbox_id  # a retry finds the row the other path stored
    async with db.transaction() as session:
        rows = {r.msg_id: r for r in (await session.scalars(select(InboxMessage))).all()}
    columns = ("channel", "community", "group_id", "sender_id", "sender_name", "sender_role", "text", "mentions_bot",
               "sent_at", "status")
    assert {c: getattr(rows["lean"], c) for c in columns} == {c: getattr(rows["orm"], c) for c in columns}
    assert rows["lean"].sent_at == sent_at
    assert abs(rows["lean"].received_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.fixture
async def sqlite_db(tmp_path):  # type: ignore[no-untyped-def]
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await upgrade(database)
    yield database
    await database.dispose()


async def test_a_callback_waits_for_a_held_sqlite_write_lock_without_stopping_the_bot(sqlite_db: Database) -> None:
    """While another connection holds SQLite's write lock (the pipeline's transaction), the inbox
    must neither fail nor acknowledge early, and the event loop must keep serving other work."""
    import sqlite3

    path = sqlite_db.url.split("///", 1)[1]
    writer = InboxWriter(sqlite_db)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        assert (await writer.store(_message("before"))).duplicate is False  # the lock is free: stored at once
        holder.execute("BEGIN IMMEDIATE")
        store = asyncio.create_task(writer.store(_message("during")))
        ticks = 0
        for _ in range(20):  # 0.2 s of other work on the loop while the lock is held
            await asyncio.sleep(0.01)
            ticks += 1
        assert not store.done()  # not acknowledged before its row is committed
        holder.execute("COMMIT")
        stored = await asyncio.wait_for(store, 5)
        assert stored.duplicate is False and ticks == 20
    finally:
        holder.close()
        await writer.stop()
    async with sqlite_db.transaction() as session:
        assert sorted((await session.scalars(select(InboxMessage.msg_id))).all()) == ["before", "during"]


async def test_the_sqlite_inbox_checkpoints_its_log_so_it_does_not_grow_without_bound(sqlite_db: Database,
                                                                                  monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Commits made on the event loop never checkpoint; every few of them one batch goes through
    the inbox thread and checkpoints there, so an acknowledge-only process keeps its WAL small."""
    from storage.inbox_rows import SqliteInboxRows

    monkeypatch.setattr(SqliteInboxRows, "CHECKPOINT_EVERY", 5)
    path = sqlite_db.url.split("///", 1)[1]
    writer = InboxWriter(sqlite_db)
    await writer.store(_message("first"))
    wal_before = _wal_size(path)  # what the migrations left there
    try:
        for i in range(200):  # one batch each, ≈ 2 pages of text a row
            await writer.store(_message(f"m{i}", text="楼道灯不亮了" * 700))
    finally:
        await writer.stop()
    # Without checkpoints the log would hold every page written: ≈ 200 × 2 pages × 4 KiB > 1.5 MiB.
    assert _wal_size(path) - wal_before < 256 * 1024
    async with sqlite_db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 201


def _wal_size(database_path: str) -> int:
    return Path(database_path + "-wal").stat().st_size
