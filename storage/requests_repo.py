"""Reading and changing requests. Every change writes its history row in the caller's transaction.

Status and tier changes are optimistic: `UPDATE … WHERE id = ? AND version = <read>`. Two staff
members changing the same request at once cannot both win; the loser gets `Stale` with the
current state, never a silent overwrite (on PostgreSQL the second UPDATE waits for the first
commit's row lock and then finds the version moved on; SQLite has one writer at a time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_requests import OPEN_STATUSES, Request, RequestEvent, RequestReporter

# Which statuses a request may come from, for each status it may go to.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"new"}),
    "in_progress": frozenset({"new", "acknowledged", "resolved"}),  # from resolved: reopened
    "resolved": frozenset(OPEN_STATUSES),
    "closed": frozenset({"resolved"}),
    "rejected": frozenset(OPEN_STATUSES),
}


@dataclass(frozen=True)
class Actor:
    id: str
    name: str


@dataclass(frozen=True)
class Changed:
    request: Request
    before: str


@dataclass(frozen=True)
class Unchanged:
    request: Request


@dataclass(frozen=True)
class NotAllowed:
    request: Request


@dataclass(frozen=True)
class Stale:
    """Someone else changed the request since it was read; `by` is who did it last."""

    request: Request
    by: str | None


@dataclass(frozen=True)
class NotFound:
    request_id: int


ChangeResult = Changed | Unchanged | NotAllowed | Stale | NotFound


async def get_request(session: AsyncSession, community: str, request_id: int) -> Request | None:
    req = await session.get(Request, request_id, populate_existing=True)
    return req if req is not None and req.community == community else None


async def create_request(session: AsyncSession, request: Request, *, actor: Actor, now: dt.datetime) -> Request:
    """Stores a new request with its first reporter and its "created" history row."""
    request.created_at = request.updated_at = now
    request.status, request.version, request.affected = "new", 1, 1
    session.add(request)
    await session.flush()
    session.add(RequestReporter(request_id=request.id, person_id=request.sender_id, name=request.sender_name,
                                channel=request.channel, group_id=request.group_id, at=now))
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="created", to_value="new", note=request.text))
    await session.flush()
    return request


async def find_same_problem(session: AsyncSession, community: str, category: str, building: int,
                            since: dt.datetime) -> Request | None:
    """The newest open request of this category and building filed since `since`."""
    return await session.scalar(
        select(Request)
        .where(Request.community == community, Request.created_at >= since, Request.category == category,
               Request.building == building, Request.status.in_(OPEN_STATUSES))
        .order_by(Request.created_at.desc(), Request.id.desc())
        .limit(1)
    )


async def latest_in_group(session: AsyncSession, group_id: str, since: dt.datetime,
                          category: str | None = None) -> Request | None:
    """The newest open request filed in this group since `since` (optionally of one category)."""
    query = select(Request).where(Request.group_id == group_id, Request.created_at >= since,
                                  Request.status.in_(OPEN_STATUSES))
    if category is not None:
        query = query.where(Request.category == category)
    return await session.scalar(query.order_by(Request.created_at.desc(), Request.id.desc()).limit(1))


async def add_reporter(session: AsyncSession, request: Request, *, person_id: str, name: str, channel: str,
                       group_id: str | None, text: str, now: dt.datetime) -> bool:
    """Counts one more resident affected; False if this person had reported it already.

    `affected` is incremented in SQL so that two merges at once both count; a merge does not
    move the version, so it never makes a staff member's status change stale.
    """
    known = await session.get(RequestReporter, (request.id, person_id))
    if known is not None:
        return False
    session.add(RequestReporter(request_id=request.id, person_id=person_id, name=name, channel=channel,
                                group_id=group_id, at=now))
    await session.execute(
        update(Request).where(Request.id == request.id)
        .values(affected=Request.affected + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=person_id, actor_name=name,
                             action="merged", note=text))
    await session.flush()
    await session.refresh(request)
    return True


async def mark_urgent(session: AsyncSession, request: Request, *, actor: Actor, now: dt.datetime,
                      note: str) -> None:
    await session.execute(
        update(Request).where(Request.id == request.id).values(urgent=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="urgent", from_value="no", to_value="yes", note=note))
    await session.flush()
    await session.refresh(request)


async def _last_actor(session: AsyncSession, request_id: int) -> str | None:
    return await session.scalar(
        select(RequestEvent.actor_name).where(RequestEvent.request_id == request_id,
                                              RequestEvent.action.in_(("status", "tier")))
        .order_by(RequestEvent.id.desc()).limit(1)
    )


async def _guarded_update(session: AsyncSession, request: Request, read_version: int,
                          values: dict[str, object]) -> bool:
    result = await session.execute(
        update(Request)
        .where(Request.id == request.id, Request.version == read_version)
        .values(version=read_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def _apply_change(session: AsyncSession, community: str, req: Request, read_version: int,
                        values: dict[str, object], *, action: str, before: str, after: str, actor: Actor,
                        now: dt.datetime, note: str | None) -> ChangeResult:
    """The shared end of every lifecycle change: the guarded update (or Stale when another change
    got there first), its history row in the same transaction, and the request as it is now."""
    if not await _guarded_update(session, req, read_version, values):
        current = await get_request(session, community, req.id)
        assert current is not None
        return Stale(current, await _last_actor(session, req.id))
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action=action, from_value=before, to_value=after, note=note))
    await session.flush()
    changed = await get_request(session, community, req.id)
    assert changed is not None
    return Changed(changed, before)


async def change_status(session: AsyncSession, community: str, request_id: int, to_status: str, *,
                        actor: Actor, now: dt.datetime, note: str | None = None,
                        expected_version: int | None = None) -> ChangeResult:
    """Moves a request to `to_status` and writes the history row, or says why not.

    `expected_version` is the version the staff member saw (the web form); without it the
    version read here is used, which still refuses a change that raced another one.
    """
    if to_status not in ALLOWED_FROM:
        raise ValueError(f"unknown status {to_status!r}")
    req = await get_request(session, community, request_id)
    if req is None:
        return NotFound(request_id)
    if expected_version is not None and req.version != expected_version:
        return Stale(req, await _last_actor(session, req.id))
    if req.status == to_status:
        return Unchanged(req)
    if req.status not in ALLOWED_FROM[to_status]:
        return NotAllowed(req)
    before, read_version = req.status, req.version
    values: dict[str, object] = {"status": to_status, "updated_at": now}
    if to_status in ("resolved", "rejected"):
        values["note"] = note
    if to_status == "resolved":
        values["resolved_at"] = now
    elif to_status == "in_progress" and before == "resolved":
        values["resolved_at"] = None
    if to_status == "closed":
        values["closed_at"] = now
    return await _apply_change(session, community, req, read_version, values, action="status",
                               before=before, after=to_status, actor=actor, now=now, note=note)


async def change_tier(session: AsyncSession, community: str, request_id: int, tier: str, *, actor: Actor,
                      now: dt.datetime, note: str | None = None,
                      expected_version: int | None = None) -> ChangeResult:
    """Escalates (or hands back) a request: grid / community / street, with its history row."""
    req = await get_request(session, community, request_id)
    if req is None:
        return NotFound(request_id)
    if expected_version is not None and req.version != expected_version:
        return Stale(req, await _last_actor(session, req.id))
    if req.tier == tier:
        return Unchanged(req)
    if req.status not in OPEN_STATUSES:
        return NotAllowed(req)
    return await _apply_change(session, community, req, req.version, {"tier": tier, "updated_at": now},
                               action="tier", before=req.tier, after=tier, actor=actor, now=now, note=note)


async def history(session: AsyncSession, request_id: int) -> Sequence[RequestEvent]:
    return (await session.scalars(
        select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
    )).all()


async def reporters(session: AsyncSession, request_id: int) -> Sequence[RequestReporter]:
    return (await session.scalars(
        select(RequestReporter).where(RequestReporter.request_id == request_id).order_by(RequestReporter.at)
    )).all()


@dataclass(frozen=True)
class Filters:
    status: str | None = None  # a status, or "open"
    category: str | None = None
    grid: str | None = None
    tier: str | None = None
    min_age_days: int | None = None  # created at least this many days ago


async def list_requests(session: AsyncSession, community: str, filters: Filters, *, now: dt.datetime,
                        limit: int = 100, offset: int = 0) -> tuple[Sequence[Request], int]:
    """One page of requests, newest first, and how many match in all."""
    conditions = [Request.community == community]
    if filters.status == "open":
        conditions.append(Request.status.in_(OPEN_STATUSES))
    elif filters.status:
        conditions.append(Request.status == filters.status)
    if filters.category:
        conditions.append(Request.category == filters.category)
    if filters.grid:
        conditions.append(Request.grid == filters.grid)
    if filters.tier:
        conditions.append(Request.tier == filters.tier)
    if filters.min_age_days:
        conditions.append(Request.created_at <= now - dt.timedelta(days=filters.min_age_days))
    total = await session.scalar(select(func.count()).select_from(Request).where(*conditions)) or 0
    rows = (await session.scalars(
        select(Request).where(*conditions).order_by(Request.created_at.desc(), Request.id.desc())
        .limit(limit).offset(offset)
    )).all()
    return rows, total
