"""The inbox's hot insert, one statement per batch on a connection of its own.

A callback is acknowledged only once its row is committed, so this insert is on every callback's
path (issue 8). Through the async ORM session a batch cost ≈ 0.9 ms of fixed CPU (session, pool
checkout and reset, a thread hop per statement) plus ≈ 45 µs a row; here it is one hop and one
statement: a dedicated sqlite3 connection (written to on the event loop itself when SQLite's write
lock is free, on its own thread when it has to wait for the lock), or a dedicated asyncpg
connection (one round trip, the statement prepared once).

Rows are tuples in `COLUMNS` order, datetimes aware. `insert` returns the ids of the new rows and
of rows already there (retries), by (channel, msg_id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

COLUMNS = ("channel", "msg_id", "community", "group_id", "sender_id", "sender_name", "sender_role", "text",
           "mentions_bot", "sent_at", "received_at", "status")
_SENT_AT = COLUMNS.index("sent_at")
_RECEIVED_AT = COLUMNS.index("received_at")

Key = tuple[str, str]


class InboxRows(Protocol):
    async def insert(self, rows: list[tuple[Any, ...]]) -> tuple[dict[Key, int], dict[Key, int]]: ...

    async def close(self) -> None: ...


def inbox_rows_for(url: str) -> InboxRows | None:
    """The fast writer for this database URL, or None (e.g. an in-memory SQLite database)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return SqliteInboxRows(path)
    if backend == "postgresql":
        return PostgresInboxRows(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    return None


def _sqlite_time(value: dt.datetime) -> str:
    # What storage.types.UTCDateTime stores on SQLite: naive UTC, microseconds always written.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteInboxRows:
    """A second connection to the same SQLite file, used only by the inbox writer.

    A batch is written on the event loop itself when SQLite's write lock is free (the usual case
    unless the pipeline's transaction holds it): a WAL commit without fsync costs tens of
    microseconds, less than handing the batch to a thread and waking the loop again (≈ 150 µs,
    and the GIL the thread then shares with the loop). When the lock is held, the batch goes to
    the connection's thread, which polls for the lock without stopping the loop. The writer
    sends one batch at a time, so the two never use the connection at once.
    """

    # Checkpoints (they fsync the database file) run on the thread, never on the loop: every this
    # many commits on the loop, the next batch goes through the thread and checkpoints after it.
    CHECKPOINT_EVERY = 500

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._insert_sql: dict[int, str] = {}
        self._loop_commits = 0

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: the transaction below is explicit. BEGIN IMMEDIATE takes the write
            # lock first, so it never fails half-way on a stale read snapshot. Used from the loop
            # and from the thread in turn (never at once), hence check_same_thread=False.
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None, cached_statements=256,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # No busy handler: SQLite's sleeps 1, 2, 5, 10 … 100 ms between tries, far longer than
            # the other connection's transactions; `_begin` polls every half millisecond instead
            # (on the thread), and on the loop one try tells whether the lock is free.
            conn.execute("PRAGMA busy_timeout=0")
            # No automatic checkpoint inside a commit made on the loop: `insert` runs them on the thread.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._conn = conn
        return self._conn

    def _insert(self, rows: list[tuple[Any, ...]], *, wait: bool = True,
                checkpoint: bool = False) -> tuple[dict[Key, int], dict[Key, int]] | None:
        """Inserts and commits the batch; with wait=False, returns None at once if the lock is held."""
        conn = self._connection()
        values = []
        for row in rows:
            row = list(row)
            row[_SENT_AT] = _sqlite_time(row[_SENT_AT])
            row[_RECEIVED_AT] = _sqlite_time(row[_RECEIVED_AT])
            values.extend(row)
        sql = self._insert_sql.get(len(rows))
        if sql is None:
            one = "(" + ",".join("?" * len(COLUMNS)) + ")"
            sql = self._insert_sql[len(rows)] = (
                f"INSERT INTO inbox ({', '.join(COLUMNS)}) VALUES {','.join([one] * len(rows))} "
                "ON CONFLICT (channel, msg_id) DO NOTHING RETURNING id, channel, msg_id")
        if wait:
            _begin(conn)
        elif not _try_begin(conn):
            return None
        try:
            new = {(channel, msg_id): row_id for row_id, channel, msg_id in conn.execute(sql, values).fetchall()}
            old: dict[Key, int] = {}
            for row in rows:
                key = (row[0], row[1])
                if key not in new and key not in old:  # a retry of a message stored earlier
                    found = conn.execute("SELECT id FROM inbox WHERE channel = ? AND msg_id = ?", key).fetchone()
                    if found is not None:
                        old[key] = found[0]
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        if checkpoint:
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # copies what no reader still needs
            except sqlite3.Error as exc:  # the rows are committed; the next checkpoint catches up
                log.warning("inbox WAL checkpoint failed: %s", exc)
        return new, old

    async def insert(self, rows: list[tuple[Any, ...]]) -> tuple[dict[Key, int], dict[Key, int]]:
        if self._loop_commits < self.CHECKPOINT_EVERY:
            done = self._insert(rows, wait=False)
            if done is not None:
                self._loop_commits += 1
                return done
            checkpoint = False
        else:
            checkpoint, self._loop_commits = True, 0
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(self._executor, partial(self._insert, rows, checkpoint=checkpoint))
        assert done is not None  # the thread waits for the lock
        return done

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


def _try_begin(conn: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE if the write lock is free now; False if another connection holds it."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return False


def _begin(conn: sqlite3.Connection, wait: float = 10.0) -> None:
    """BEGIN IMMEDIATE, retried while another connection (the bot's main one) holds the write lock."""
    deadline = time.monotonic() + wait
    while not _try_begin(conn):
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked (inbox waited 10 s for the write lock)")
        time.sleep(0.0005)  # this thread only; the event loop goes on


class PostgresInboxRows:
    """A dedicated asyncpg connection; each batch is one autocommitted INSERT … SELECT FROM unnest."""

    INSERT = (
        f"INSERT INTO inbox ({', '.join(COLUMNS)}) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
        "$7::text[], $8::text[], $9::boolean[], $10::timestamptz[], $11::timestamptz[], $12::text[]) "
        "ON CONFLICT (channel, msg_id) DO NOTHING RETURNING id, channel, msg_id"
    )
    FIND = ("SELECT i.id, i.channel, i.msg_id FROM inbox i "
            "JOIN unnest($1::text[], $2::text[]) AS k(channel, msg_id) USING (channel, msg_id)")

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            import asyncpg

            self._conn = await asyncpg.connect(self._dsn, timeout=10)
        return self._conn

    async def insert(self, rows: list[tuple[Any, ...]]) -> tuple[dict[Key, int], dict[Key, int]]:
        try:
            conn = await self._connection()
            columns = list(zip(*rows, strict=True))
            new = {(r[1], r[2]): r[0] for r in await conn.fetch(self.INSERT, *columns)}
            missing = [(row[0], row[1]) for row in rows if (row[0], row[1]) not in new]
            old: dict[Key, int] = {}
            if missing:  # retries of messages stored earlier (or by another process just now)
                channels, msg_ids = zip(*missing, strict=True)
                old = {(r[1], r[2]): r[0] for r in await conn.fetch(self.FIND, list(channels), list(msg_ids))}
            return new, old
        except BaseException:
            await self._discard()  # the connection may be broken (server restarted): a new one next time
            raise

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.terminate()
            except Exception:  # already gone
                pass

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()
