"""Staff notices in the database: a draft, its confirmation (now or for a time), cancelling, the
scheduled ones that are due, and the list the staff page shows.

Every change takes the notice row's lock first (`FOR UPDATE` on PostgreSQL; on SQLite a no-op
UPDATE takes the database's write lock), so two 确认 at once — two processes, a double click —
move a notice out of "draft" once: only one of them gets `Changed`, the other `NotAllowed`. The
outbox rows a sent notice becomes carry the key notice:{id}:{group} besides (handlers/notices.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_notices import Notice
from storage.row_lock import locked

MAX_TEXT = 2000  # characters of a notice; a WeChat text message holds 2,048 bytes of UTF-8 in some routes


async def create(
    session: AsyncSession,
    *,
    community_id: str,
    author_id: str,
    author_name: str,
    text: str,
    targets: Sequence[str],
    audience: str,
    via: str,
    now: dt.datetime,
) -> Notice:
    """A draft notice, waiting for its author's 确认."""
    notice = Notice(community=community_id, author_id=author_id, author_name=author_name[:64], text=text[:MAX_TEXT],
                    targets=list(targets), audience=audience[:200], status="draft", via=via, created_at=now)
    session.add(notice)
    await session.flush()
    return notice


async def get(session: AsyncSession, community_id: str, notice_id: int) -> Notice | None:
    notice = await session.get(Notice, notice_id, populate_existing=True)
    return notice if notice is not None and notice.community == community_id else None


async def lock(session: AsyncSession, community_id: str, notice_id: int) -> Notice | None:
    """The notice, freshly read and locked until the end of the transaction."""
    rows = await locked(session, Notice, Notice.id == notice_id, Notice.community == community_id)
    return rows[0] if rows else None


@dataclass(frozen=True)
class Changed:
    notice: Notice


@dataclass(frozen=True)
class NotAllowed:
    """The notice is not in a state that allows the change (sent, cancelled meanwhile …)."""

    notice: Notice | None  # None: no such notice in this community


Change = Changed | NotAllowed


async def send_now(session: AsyncSession, community_id: str, notice_id: int, *, by: str, now: dt.datetime) -> Change:
    """A draft (or a scheduled notice whose time came) is sent: its rows go into the outbox now."""
    notice = await lock(session, community_id, notice_id)
    if notice is None or notice.status not in ("draft", "scheduled"):
        return NotAllowed(notice)
    if notice.status == "draft":
        notice.confirmed_by, notice.confirmed_at = by, now
    notice.status, notice.sent_at = "sent", now
    await session.flush()
    return Changed(notice)


async def schedule(session: AsyncSession, community_id: str, notice_id: int, *, send_at: dt.datetime, by: str,
                   now: dt.datetime) -> Change:
    """A draft (or a scheduled notice, to move it) is to go out at `send_at`."""
    notice = await lock(session, community_id, notice_id)
    if notice is None or notice.status not in ("draft", "scheduled"):
        return NotAllowed(notice)
    notice.status, notice.send_at = "scheduled", send_at
    notice.confirmed_by, notice.confirmed_at = by, now
    await session.flush()
    return Changed(notice)


async def cancel(session: AsyncSession, community_id: str, notice_id: int, *, now: dt.datetime) -> Change:
    """A draft or a scheduled notice is dropped; a sent one cannot be."""
    notice = await lock(session, community_id, notice_id)
    if notice is None or notice.status not in ("draft", "scheduled"):
        return NotAllowed(notice)
    notice.status, notice.cancelled_at = "cancelled", now
    await session.flush()
    return Changed(notice)


async def mark_missed(session: AsyncSession, notice: Notice) -> None:
    notice.status = "missed"
    await session.flush()


async def due(session: AsyncSession, community_id: str, now: dt.datetime) -> list[Notice]:
    """Scheduled notices of a community whose time has come, oldest first, locked (another process
    sending notices at the same moment skips them on PostgreSQL, and waits on SQLite)."""
    return await locked(session, Notice, Notice.community == community_id, Notice.status == "scheduled",
                        Notice.send_at <= now, order_by=(Notice.send_at, Notice.id), skip_locked=True)


async def communities_due(session: AsyncSession, now: dt.datetime) -> set[str]:
    """The communities with a scheduled notice whose time has come (one indexed query)."""
    rows = await session.scalars(select(Notice.community).distinct()
                                 .where(Notice.status == "scheduled", Notice.send_at <= now))
    return set(rows.all())


async def recent(session: AsyncSession, community_id: str, *, limit: int = 100, offset: int = 0
                 ) -> tuple[list[Notice], int]:
    """The community's notices, newest first, and how many there are."""
    rows = (await session.scalars(select(Notice).where(Notice.community == community_id)
                                  .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit).offset(offset))
            ).all()
    total = await session.scalar(select(func.count()).select_from(Notice).where(Notice.community == community_id))
    return list(rows), total or 0
