"""Deleting what the callbacks left behind once it can no longer matter: handled inbox rows, recorded
callback events and spent AI-bot reply addresses older than the retention period.

Why it is safe for replays: a callback is refused when its signed timestamp is further than the
freshness window from the clock (minutes), and the retention period is far longer (days; the
settings refuse anything else), so a replay either is too old for the timestamp check or finds its
inbox row (or event row) still there. Rows still `new` (not handled yet) are never deleted.

Safe with several processes on one database: each batch is its own short transaction, and on
PostgreSQL its rows are taken with `FOR UPDATE SKIP LOCKED`, so two processes pruning at once
delete different rows and never wait for each other. Outbox rows keep their text and status; their
link to a deleted inbox row (`reply_to`) is cleared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from storage.db import Database
from storage.models import InboxMessage, OutboxMessage
from storage.models_channels import AibotReplyUrl, ChannelEvent

BATCH = 500


@dataclass(frozen=True)
class Pruned:
    inbox: int = 0
    events: int = 0
    reply_urls: int = 0

    @property
    def total(self) -> int:
        return self.inbox + self.events + self.reply_urls


async def _prune_inbox_batch(db: Database, before: dt.datetime, batch: int) -> tuple[int, int]:
    """(rows selected, rows this transaction deleted): on SQLite another process may delete some first."""
    async with db.transaction() as session:
        doomed = (select(InboxMessage.id)
                  .where(InboxMessage.status != "new", InboxMessage.received_at < before)
                  .order_by(InboxMessage.id).limit(batch))
        if db.is_postgres:
            doomed = doomed.with_for_update(skip_locked=True)
        ids = list((await session.scalars(doomed)).all())
        if not ids:
            return 0, 0
        await session.execute(update(OutboxMessage).where(OutboxMessage.reply_to.in_(ids)).values(reply_to=None))
        deleted = await session.execute(delete(InboxMessage).where(InboxMessage.id.in_(ids)))
        return len(ids), int(deleted.rowcount or 0)  # type: ignore[attr-defined]


async def _prune_reply_urls_batch(db: Database, before: dt.datetime, batch: int) -> tuple[int, int]:
    async with db.transaction() as session:
        doomed = select(AibotReplyUrl.msg_id).where(AibotReplyUrl.expires_at < before).limit(batch)
        if db.is_postgres:
            doomed = doomed.with_for_update(skip_locked=True)
        keys = list((await session.scalars(doomed)).all())
        if not keys:
            return 0, 0
        deleted = await session.execute(delete(AibotReplyUrl).where(AibotReplyUrl.msg_id.in_(keys)))
        return len(keys), int(deleted.rowcount or 0)  # type: ignore[attr-defined]


async def _prune_events(db: Database, before: dt.datetime) -> int:
    """Events (subscribe, enter_agent …) are few beside messages: one statement."""
    async with db.transaction() as session:
        result = await session.execute(delete(ChannelEvent).where(ChannelEvent.received_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune(db: Database, *, before: dt.datetime, batch: int = BATCH) -> Pruned:
    """Deletes handled inbox rows received, callback events recorded, and AI-bot reply addresses
    expired before `before`, a batch per transaction; returns how many of each."""
    inbox = urls = 0
    while True:
        selected, deleted = await _prune_inbox_batch(db, before, batch)
        inbox += deleted
        if selected < batch:
            break
    while True:
        selected, deleted = await _prune_reply_urls_batch(db, before, batch)
        urls += deleted
        if selected < batch:
            break
    return Pruned(inbox=inbox, events=await _prune_events(db, before), reply_urls=urls)
