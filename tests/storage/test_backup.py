"""`linli backup` / `linli restore` on SQLite and PostgreSQL: a backup taken while the bot takes
messages brings back every message it acknowledged before; a restore never silently replaces data,
and migrates an older backup."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.clock import FixedClock
from storage.backup import BackupError, _libpq, backup, restore
from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import InboxMessage, Member
from tests.conftest import REPO_ROOT, _admin, make_settings, start_live_bot
from tests.handlers.requests_support import keyword_understand, migrated


async def linli(*args: str) -> tuple[int, str, str]:
    """The `linli` command in its own process, as an operator (or cron) runs it beside the bot."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def other_url(db_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A second, empty database of the same kind as `db_url`, to restore into."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    url = make_url(db_url)
    name = f"linli_r_{uuid.uuid4().hex[:12]}"
    admin = url.render_as_string(hide_password=False)
    await _admin(admin, f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def sim_msg_ids(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return set((await session.scalars(select(InboxMessage.msg_id).where(InboxMessage.channel == "sim"))).all())
    finally:
        await db.dispose()


async def test_a_backup_taken_during_traffic_restores_every_acknowledged_message(
        db_url: str, other_url: str, clock: FixedClock, tmp_path: Path) -> None:
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=keyword_understand)
    acked: list[tuple[float, str]] = []  # (when the 200 came back, msg_id)
    stop = asyncio.Event()
    progress = asyncio.Condition()

    async def acked_at_least(count: int) -> None:
        async with progress:
            await progress.wait_for(lambda: len(acked) >= count)

    async def resident(n: int, user: str, group: str) -> None:
        i = 0
        while not stop.is_set():
            msg_id = f"bk-{n}-{i}"
            status, body = await bot.client.post(
                {"group": group, "user": user, "text": f"第{i}条 今天天气不错", "msg_id": msg_id})
            assert status == 200, body
            async with progress:
                acked.append((time.monotonic(), msg_id))
                progress.notify_all()
            i += 1

    senders = [asyncio.create_task(resident(n, user, group)) for n, (user, group) in
               enumerate([("r-zhang", "g-res-1"), ("r-chen", "g-res-2"), ("r-sun", "g-res-3")])]
    try:
        await acked_at_least(100)
        started = time.monotonic()
        before = {msg_id for at, msg_id in acked if at < started}
        code, out, err = await linli("backup", str(tmp_path / "linli.backup"), "--database-url", db_url)
        finished = time.monotonic()
        during = [msg_id for at, msg_id in acked if started <= at <= finished]
        await acked_at_least(len(before) + len(during) + 10)  # traffic goes on after the backup too
    finally:
        stop.set()
        await asyncio.gather(*senders)
        await close()
    assert code == 0, err
    assert "backup written to" in out
    assert during, "no message was acknowledged while the backup ran"

    code, out, err = await linli("restore", str(tmp_path / "linli.backup"), "--database-url", other_url)
    assert code == 0, err
    restored = await sim_msg_ids(other_url)
    assert before <= restored  # every message acknowledged before the backup started
    assert restored <= {msg_id for _, msg_id in acked}
    assert len(restored) < len(acked)  # and the later ones are not: it is a copy of a moment
    db = Database(other_url)
    try:
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def add_member(url: str, person_id: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            session.add(Member(community="xingfuli", person_id=person_id, name="新邻居", role="resident",
                               created_at=dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)))
    finally:
        await db.dispose()


async def member_ids(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.transaction() as session:
            return set((await session.scalars(select(Member.person_id))).all())
    finally:
        await db.dispose()


async def test_restore_refuses_a_database_that_holds_data_unless_forced(db_url: str, other_url: str,
                                                                        tmp_path: Path) -> None:
    for url, person in ((db_url, "from-backup"), (other_url, "already-there")):
        db = Database(url)
        await upgrade(db)
        await db.dispose()
        await add_member(url, person)
    path = tmp_path / "one.backup"
    await backup(db_url, path)

    code, _, err = await linli("restore", str(path), "--database-url", other_url)
    assert code == 1 and "not empty" in err and "members" in err and "--force" in err
    assert await member_ids(other_url) == {"already-there"}  # untouched

    done = await restore(other_url, path, force=True)
    assert await member_ids(other_url) == {"from-backup"}
    assert done.revision == head_revision()


async def test_restoring_an_older_backup_runs_the_migrations(db_url: str, other_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    try:
        await upgrade(db, "0001")
    finally:
        await db.dispose()
    await add_member(db_url, "r-old")
    path = tmp_path / "old.backup"
    done = await backup(db_url, path)
    assert done.revision == "0001"

    done = await restore(other_url, path)
    assert done.revision == head_revision()
    assert await member_ids(other_url) == {"r-old"}


async def test_a_sqlite_backup_is_one_self_contained_file_named_by_the_time_in_a_directory(
        sqlite_url: str, tmp_path: Path) -> None:
    db = Database(sqlite_url)
    await upgrade(db)
    await db.dispose()
    await add_member(sqlite_url, "r-1")
    folder = tmp_path / "backups"
    folder.mkdir()
    done = await backup(sqlite_url, folder, now=dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC))
    assert done.path == folder / "linli-20261125-030000.sqlite3"
    assert [p.name for p in folder.iterdir()] == [done.path.name]  # no -wal beside it, no partial file left
    conn = sqlite3.connect(done.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT person_id FROM members").fetchall() == [("r-1",)]
    finally:
        conn.close()


async def test_clear_errors_without_pg_dump_for_a_wrong_kind_and_a_missing_file(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump / pg_restore here
    with pytest.raises(BackupError, match=r"pg_dump was not found on PATH: .*postgresql-client"):
        await backup("postgresql://linli:secret@127.0.0.1:5432/linli", tmp_path / "x.pgdump")
    assert not (tmp_path / "x.pgdump").exists()

    db = Database(sqlite_url)
    await upgrade(db)
    await db.dispose()
    done = await backup(sqlite_url, tmp_path / "a.sqlite3")
    with pytest.raises(BackupError, match="is a sqlite backup and the database is postgresql"):
        await restore("postgresql://linli:secret@127.0.0.1:5432/linli", done.path)
    with pytest.raises(BackupError, match="no backup at"):
        await restore(sqlite_url, tmp_path / "missing.sqlite3")
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(BackupError, match="neither a SQLite database nor a pg_dump archive"):
        await restore(sqlite_url, tmp_path / "junk")
    with pytest.raises(BackupError, match="no SQLite database at"):
        await backup(f"sqlite:///{tmp_path / 'nothing.db'}", tmp_path / "b.sqlite3")


def test_pg_tools_get_the_password_in_the_environment_not_on_the_command_line() -> None:
    uri, env = _libpq(make_url("postgresql+asyncpg://linli:p%40ss w0rd@db.example:5433/linli?ssl=require"))
    assert uri == "postgresql://linli@db.example:5433/linli?sslmode=require"
    assert env["PGPASSWORD"] == "p@ss w0rd"
