"""Writing outbox rows: the one writer of replies, staff changes' messages and timed posts.

Rows go in through one cached Core statement, `INSERT … ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id`, run as an executemany of at most INSERT_BATCH rows (SQLAlchemy sends multi-row
INSERTs): a row whose key exists already is skipped (a rerun of a timed post, a second process),
rows without a key never conflict, and ten thousand morning posts are ten statements, not ten
thousand. Everything happens in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.message import Outgoing
from storage.models import OutboxMessage
from storage.upsert import dialect_insert

INSERT_BATCH = 1000  # rows per statement
_OUTBOX = OutboxMessage.__table__


def outbox_row(out: Outgoing, now: dt.datetime, reply_to: int | None) -> dict[str, object]:
    """The row of `out`, due now; `reply_to` is the inbox row it answers, if any."""
    return {
        "channel": out.channel,
        "community": out.community,
        "audience": out.to,
        "target": out.target,
        "text": out.text,
        "idempotency_key": out.idempotency_key,
        "reply_to": reply_to,
        "mentions": list(out.mentions) or None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def enqueue(
    session: AsyncSession, outgoing: Sequence[Outgoing], *, now: dt.datetime, reply_to: int | None = None
) -> int:
    """Adds rows to the outbox; a row whose idempotency key exists already is skipped.

    Returns how many rows were added.
    """
    return await enqueue_rows(session, [outbox_row(out, now, reply_to) for out in outgoing])


async def enqueue_rows(session: AsyncSession, rows: Sequence[dict[str, object]]) -> int:
    """Adds rows made by `outbox_row` (the answers of many inbox messages at once), in order;
    returns how many were added (rows whose key exists already are not)."""
    statement = _insert_once(dialect_insert(session))
    added = 0
    for start in range(0, len(rows), INSERT_BATCH):
        added += len((await session.execute(statement, rows[start:start + INSERT_BATCH])).all())
    return added


@functools.cache
def _insert_once(insert: Any) -> Any:
    return insert(_OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_OUTBOX.c.id)
