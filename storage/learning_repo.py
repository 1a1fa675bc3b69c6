"""Reading and writing what staff teach the bot: label corrections and the unsure messages (待确认).

Corrections are append-only. An unsure message is resolved once: `resolve_unsure` is a guarded
`UPDATE … WHERE status = 'pending'`, so two staff members clicking at once cannot both file it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_learning import LabelCorrection, UnsureMessage
from storage.models_requests import RequestReporter
from storage.upsert import dialect_insert

_UNSURE = UnsureMessage.__table__


# --- corrections ----------------------------------------------------------------------------------

async def add_correction(session: AsyncSession, correction: LabelCorrection) -> LabelCorrection:
    session.add(correction)
    await session.flush()
    return correction


@dataclass(frozen=True)
class Fingerprint:
    """How many corrections there are and the newest one's id: changes whenever one is added."""

    count: int
    last_id: int | None


async def fingerprint(session: AsyncSession) -> Fingerprint:
    row = (await session.execute(select(func.count(LabelCorrection.id), func.max(LabelCorrection.id)))).one()
    return Fingerprint(int(row[0] or 0), row[1])


async def corrections(session: AsyncSession, *, since: dt.datetime | None = None,
                      community: str | None = None) -> Sequence[LabelCorrection]:
    """Corrections, oldest first (optionally from `since` on, or of one community)."""
    query = select(LabelCorrection)
    if since is not None:
        query = query.where(LabelCorrection.created_at >= since)
    if community is not None:
        query = query.where(LabelCorrection.community == community)
    return (await session.scalars(query.order_by(LabelCorrection.created_at, LabelCorrection.id))).all()


# --- unsure messages (待确认) -----------------------------------------------------------------------

async def keep_unsure(session: AsyncSession, values: dict[str, object], now: dt.datetime) -> None:
    """Stores an unsure message, or counts it once more when the same sender said the same before
    (whatever staff made of it then: a duplicate is never listed twice)."""
    insert = dialect_insert(session)
    stmt = insert(_UNSURE).values(**values, status="pending", seen=1, created_at=now, last_seen_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[_UNSURE.c.community, _UNSURE.c.sender_id, _UNSURE.c.text_key],
        set_={"seen": _UNSURE.c.seen + 1, "last_seen_at": now}))


async def pending_unsure(session: AsyncSession, community: str, *, limit: int = 100,
                         offset: int = 0) -> tuple[Sequence[UnsureMessage], int]:
    """One page of the community's pending unsure messages, newest first, and how many there are."""
    where = (UnsureMessage.community == community, UnsureMessage.status == "pending")
    total = await session.scalar(select(func.count()).select_from(UnsureMessage).where(*where)) or 0
    rows = (await session.scalars(select(UnsureMessage).where(*where)
                                  .order_by(UnsureMessage.last_seen_at.desc(), UnsureMessage.id.desc())
                                  .limit(limit).offset(offset))).all()
    return rows, total


async def get_unsure(session: AsyncSession, community: str, unsure_id: int) -> UnsureMessage | None:
    row = await session.get(UnsureMessage, unsure_id, populate_existing=True)
    return row if row is not None and row.community == community else None


async def resolve_unsure(session: AsyncSession, row: UnsureMessage, status: str, *, by: str,
                         now: dt.datetime) -> bool:
    """Marks a pending unsure message filed or chit-chat; False when someone resolved it first."""
    done = await session.execute(
        update(UnsureMessage).where(UnsureMessage.id == row.id, UnsureMessage.status == "pending")
        .values(status=status, resolved_by=by, resolved_at=now).execution_options(synchronize_session=False))
    return done.rowcount == 1  # type: ignore[attr-defined]


async def link_request(session: AsyncSession, unsure_id: int, request_id: int) -> None:
    await session.execute(update(UnsureMessage).where(UnsureMessage.id == unsure_id)
                          .values(request_id=request_id).execution_options(synchronize_session=False))


async def latest_reported(session: AsyncSession, person_id: str, at: dt.datetime) -> int | None:
    """The request this person was recorded as reporting at `at` (just filed or merged), if any."""
    return await session.scalar(
        select(RequestReporter.request_id).where(RequestReporter.person_id == person_id, RequestReporter.at == at)
        .order_by(RequestReporter.request_id.desc()).limit(1))


async def prune_unsure(session: AsyncSession, community: str, *, older_than: dt.datetime, keep: int) -> int:
    """Deletes the community's unsure messages last seen before `older_than`, and the oldest pending
    ones beyond the newest `keep`; how many were deleted."""
    deleted = (await session.execute(
        delete(UnsureMessage).where(UnsureMessage.community == community, UnsureMessage.last_seen_at < older_than)
    )).rowcount or 0  # type: ignore[attr-defined]
    cutoff = await session.scalar(
        select(UnsureMessage.last_seen_at).where(UnsureMessage.community == community,
                                                 UnsureMessage.status == "pending")
        .order_by(UnsureMessage.last_seen_at.desc(), UnsureMessage.id.desc()).offset(keep).limit(1))
    if cutoff is not None:
        deleted += (await session.execute(
            delete(UnsureMessage).where(UnsureMessage.community == community, UnsureMessage.status == "pending",
                                        UnsureMessage.last_seen_at <= cutoff)
        )).rowcount or 0  # type: ignore[attr-defined]
    return deleted


