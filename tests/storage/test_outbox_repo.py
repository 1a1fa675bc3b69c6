"""Outbox rows are written once per idempotency key, however often they are enqueued."""

from __future__ import annotations

from sqlalchemy import func, select

from core.message import Outgoing
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import REFERENCE_NOW


async def test_outbox_rows_with_the_same_key_are_written_once(db: Database) -> None:
    post = Outgoing("sim", "xingfuli", "group", "g-res-1", "早上好", idempotency_key="theme:g-res-1:2026-11-25")
    added = 0
    for _ in range(3):
        async with db.transaction() as session:
            added += await enqueue(session, [post], now=REFERENCE_NOW)
    assert added == 1
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
