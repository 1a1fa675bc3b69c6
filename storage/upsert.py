"""INSERT … ON CONFLICT for the database in use, and the rate counters' upsert that two packages share.

SQLite and PostgreSQL spell ON CONFLICT DO NOTHING / DO UPDATE alike, but SQLAlchemy builds them
with each dialect's own `insert`: `dialect_insert` picks it, so no caller branches on the backend.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models_channels import ChannelRateCount


def dialect_insert(on: AsyncSession | Database):  # type: ignore[no-untyped-def]
    """`insert` (with `on_conflict_do_nothing` / `on_conflict_do_update`) for the backend that `on`
    (a session, or the database handle) talks to."""
    if isinstance(on, Database):
        postgres = on.is_postgres
    else:
        postgres = on.bind is not None and on.bind.dialect.name == "postgresql"
    return pg_insert if postgres else sqlite_insert


_RATE = ChannelRateCount.__table__


def rate_count_upsert(insert: Any) -> Any:
    """Adds `count` to each (key, window_start) row of `channel_rate_counts` and returns the new
    counts: the outbox rate limiter's statement, and the staff login throttle's. `insert` is the
    backend's (`dialect_insert(db)`). Built once per user (Core, no ORM entity): run with one
    parameter set per key, SQLAlchemy sends them as one multi-row INSERT."""
    stmt = insert(_RATE)
    return (stmt.on_conflict_do_update(index_elements=[_RATE.c.key, _RATE.c.window_start],
                                       set_={"count": _RATE.c.count + stmt.excluded["count"]})
            .returning(_RATE.c.key, _RATE.c.count))
