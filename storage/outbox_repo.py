"""Writing outbox rows: plain inserts for replies, insert-once for rows with an idempotency key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from core.message import Outgoing
from storage.models import OutboxMessage
from storage.upsert import dialect_insert


def outbox_values(out: Outgoing, now: dt.datetime, reply_to: int | None) -> dict[str, object]:
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


_values = outbox_values  # the name bot/scheduler.py imports


async def enqueue(
    session: AsyncSession, outgoing: list[Outgoing], *, now: dt.datetime, reply_to: int | None = None
) -> int:
    """Adds rows to the outbox; a row whose idempotency key exists already is skipped.

    Returns how many rows were added.
    """
    added = 0
    for out in outgoing:
        values = outbox_values(out, now, reply_to)
        if out.idempotency_key is None:
            session.add(OutboxMessage(**values))
            added += 1
            continue
        stmt = (dialect_insert(session)(OutboxMessage).values(**values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"]))
        result = await session.execute(stmt)
        added += result.rowcount or 0
    await session.flush()
    return added
