"""Which bot process runs the timed jobs: the holder of a PostgreSQL advisory lock, or on SQLite
the one process there is. Followers retry the lock; when the leader dies, its session ends and
the lock is free for the next one."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database

log = logging.getLogger("linli.scheduler")

# Any constant works as long as every linli process uses the same one (and it differs from the
# migration lock in storage/migrate.py). Advisory locks are per database.
SCHEDULER_LOCK_KEY = 0x6C696E6C6953  # "linliS"


class Leadership(Protocol):
    async def hold(self) -> bool:
        """Takes the leadership if free, or checks it is still ours; True while we lead."""
        ...

    async def release(self) -> None: ...


class SoleProcess:
    """SQLite: one process per database file by design, so it always leads.

    A lease row would only guard against a second process on the same file, which SQLite
    deployments do not run; even then the idempotency keys keep posts single.
    """

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLock:
    """PostgreSQL: leadership is a session advisory lock held on a dedicated connection.

    The lock lives as long as that connection: when the process dies, PostgreSQL ends the session
    and frees the lock, and the next follower to retry takes it. TCP keepalives on the connection
    make the server notice a vanished host (not only a dead process) within about half a minute.
    """

    def __init__(self, url: str, *, key: int = SCHEDULER_LOCK_KEY, timeout: float = 10.0) -> None:
        self.key = key
        self.timeout = timeout
        self._engine = create_async_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "timeout": timeout,
                "server_settings": {
                    "application_name": "linli-scheduler-lock",
                    "tcp_keepalives_idle": "10",
                    "tcp_keepalives_interval": "5",
                    "tcp_keepalives_count": "3",
                },
            },
        )
        self._conn: AsyncConnection | None = None
        self._held = False

    async def hold(self) -> bool:
        try:
            return await asyncio.wait_for(self._hold(), timeout=self.timeout)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if self._held:
                log.error("lost the scheduler lock's database connection: %s", exc)
            else:
                log.warning("cannot reach PostgreSQL for the scheduler lock: %s", exc)
            await self._discard()
            return False

    async def _hold(self) -> bool:
        if self._conn is None:
            self._conn = await self._engine.connect()
            self._held = False
        if self._held:
            # Same session, same lock: a query that succeeds proves the session is alive.
            await self._conn.execute(text("SELECT 1"))
            return True
        result = await self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        self._held = bool(result.scalar())
        return self._held

    async def _discard(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # the connection is already gone; nothing left to free
                log.debug("closing the scheduler lock connection failed", exc_info=True)

    async def release(self) -> None:
        await self._discard()  # ending the session frees the lock
        await self._engine.dispose()


def leadership_for(db: Database) -> Leadership:
    return AdvisoryLock(db.url) if db.is_postgres else SoleProcess()
