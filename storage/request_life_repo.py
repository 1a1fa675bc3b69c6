"""Changes in a request's later life: an owner, another category, a wrong merge undone (split), the
overdue mark, 回访 and the residents' ratings. Each writes its history row in the caller's transaction.

Owner and category changes are optimistic like status changes (requests_repo: `version`). The
overdue and 回访 marks are claimed with `UPDATE … WHERE <mark> IS NULL`: of two processes (or two
runs) only the one whose UPDATE changed the row goes on to tell anyone, so each happens once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models_requests import OPEN_STATUSES, Request, RequestEvent, RequestReporter
from storage.requests_repo import (
    Actor,
    ChangeResult,
    NotAllowed,
    NotFound,
    Stale,
    Unchanged,
    apply_guarded_change,
    create_request,
    get_request,
    last_actor,
)

FINISHED = ("resolved", "closed")


async def _readable(session: AsyncSession, community: str, request_id: int,
                    expected_version: int | None) -> Request | NotFound | Stale:
    req = await get_request(session, community, request_id)
    if req is None:
        return NotFound(request_id)
    if expected_version is not None and req.version != expected_version:
        return Stale(req, await last_actor(session, req.id))
    return req


async def assign(session: AsyncSession, community: str, request_id: int, owner_id: str, *, actor: Actor,
                 now: dt.datetime, expected_version: int | None = None) -> ChangeResult:
    """Makes `owner_id` (a staff member) the request's owner."""
    req = await _readable(session, community, request_id, expected_version)
    if not isinstance(req, Request):
        return req
    if req.owner_id == owner_id:
        return Unchanged(req)
    if req.status not in OPEN_STATUSES:
        return NotAllowed(req)
    return await apply_guarded_change(session, community, req, req.version, {"owner_id": owner_id, "updated_at": now},
                               action="assigned", before=req.owner_id or "", after=owner_id, actor=actor, now=now,
                               note=None)


async def recategorize(session: AsyncSession, community: str, request_id: int, category: str, *, object_: str | None,
                       tier: str, team: str | None, due_at: dt.datetime | None, actor: Actor, now: dt.datetime,
                       expected_version: int | None = None) -> ChangeResult:
    """Moves the request to another category, with the tier, team and deadline that category gives."""
    req = await _readable(session, community, request_id, expected_version)
    if not isinstance(req, Request):
        return req
    if req.category == category:
        return Unchanged(req)
    values: dict[str, object] = {"category": category, "object": object_, "tier": tier, "team": team,
                                 "updated_at": now}
    if req.status in OPEN_STATUSES:
        values["due_at"] = due_at
    return await apply_guarded_change(session, community, req, req.version, values, action="category",
                               before=req.category, after=category, actor=actor, now=now, note=None)


async def split_reporter(session: AsyncSession, request: Request, person_id: str, new: Request, *, actor: Actor,
                         now: dt.datetime) -> Request:
    """Takes one merged reporter out of `request` into `new` (a request of its own, from what they wrote):
    their reporter row moves, `affected` goes down by one, and both histories say so."""
    moved = await session.get(RequestReporter, (request.id, person_id))
    assert moved is not None and person_id != request.sender_id
    reported_at = moved.at
    await session.execute(delete(RequestReporter).where(RequestReporter.request_id == request.id,
                                                        RequestReporter.person_id == person_id))
    await session.execute(
        update(Request).where(Request.id == request.id)
        .values(affected=Request.affected - 1, updated_at=now).execution_options(synchronize_session=False))
    created = await create_request(session, new, actor=Actor(person_id, moved.name), now=reported_at)
    created.updated_at = now
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="split", from_value=person_id, to_value=str(created.id), note=moved.text))
    session.add(RequestEvent(request_id=created.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="split", from_value=str(request.id), to_value=person_id,
                             note=f"从 #{request.id} 拆出"))
    await session.flush()
    await session.refresh(request)
    return created


# --- the periodic checks -------------------------------------------------------------------------

async def overdue_candidates(session: AsyncSession, community: str, now: dt.datetime, limit: int = 200
                             ) -> Sequence[Request]:
    """Open requests past their deadline that no check has marked yet."""
    return (await session.scalars(
        select(Request).where(Request.community == community, Request.status.in_(OPEN_STATUSES),
                              Request.due_at <= now, Request.overdue_at.is_(None))
        .order_by(Request.due_at, Request.id).limit(limit))).all()


async def _claim(session: AsyncSession, request_id: int, mark: InstrumentedAttribute[dt.datetime | None],
                 statuses: Sequence[str], action: str, now: dt.datetime) -> bool:
    """Sets `mark` to `now` where it is still empty and the request in one of `statuses`, with its
    history row; False when another run or process got there first (or the status moved on)."""
    result = await session.execute(
        update(Request).where(Request.id == request_id, mark.is_(None), Request.status.in_(statuses))
        .values({mark: now}).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.add(RequestEvent(request_id=request_id, at=now, actor_id="linli", actor_name="系统", action=action))
    await session.flush()
    return True


async def claim_overdue(session: AsyncSession, request_id: int, now: dt.datetime) -> bool:
    """Marks the request overdue, once (False if it was marked already, or is no longer open)."""
    return await _claim(session, request_id, Request.overdue_at, OPEN_STATUSES, "overdue", now)


async def followup_candidates(session: AsyncSession, community: str, resolved_before: dt.datetime,
                              limit: int = 200) -> Sequence[Request]:
    """Requests resolved before `resolved_before` whose reporters were not asked yet (回访)."""
    return (await session.scalars(
        select(Request).where(Request.community == community, Request.resolved_at <= resolved_before,
                              Request.status.in_(FINISHED), Request.followup_at.is_(None))
        .order_by(Request.resolved_at, Request.id).limit(limit))).all()


async def claim_followup(session: AsyncSession, request_id: int, now: dt.datetime) -> bool:
    """Marks the request as asked (回访), once (False if it was asked already, or was reopened)."""
    return await _claim(session, request_id, Request.followup_at, FINISHED, "followup", now)


async def rate(session: AsyncSession, request_id: int, person_id: str, mark: int, *, note: str,
               now: dt.datetime) -> bool:
    """Records a reporter's satisfaction (1-5); False if they are not a reporter of it."""
    reporter = await session.get(RequestReporter, (request_id, person_id))
    if reporter is None:
        return False
    reporter.satisfaction, reporter.rated_at = mark, now
    session.add(RequestEvent(request_id=request_id, at=now, actor_id=person_id, actor_name=reporter.name,
                             action="rated", to_value=str(mark), note=note))
    await session.flush()
    return True


async def latest_finished_of(session: AsyncSession, community: str, person_id: str,
                             since: dt.datetime) -> Request | None:
    """The newest request this resident reported that was resolved since `since` (what "没修好" is about)."""
    return await session.scalar(
        select(Request).join(RequestReporter, RequestReporter.request_id == Request.id)
        .where(Request.community == community, RequestReporter.person_id == person_id,
               Request.status.in_(FINISHED), Request.resolved_at >= since)
        .order_by(Request.resolved_at.desc(), Request.id.desc()).limit(1))


async def record(session: AsyncSession, request_id: int, action: str, *, actor: Actor, now: dt.datetime,
                 note: str | None = None, to_value: str | None = None) -> None:
    """A history row that changes nothing else (a volunteer's reply, a resident's comment)."""
    session.add(RequestEvent(request_id=request_id, at=now, actor_id=actor.id, actor_name=actor.name, action=action,
                             to_value=to_value, note=note))
    await session.flush()


async def satisfaction_of(session: AsyncSession, request_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
    """(how many rated, mean mark) of each of these requests that has a rating."""
    if not request_ids:
        return {}
    rows = (await session.execute(
        select(RequestReporter.request_id, func.count(RequestReporter.satisfaction),
               func.avg(RequestReporter.satisfaction))
        .where(RequestReporter.request_id.in_(list(request_ids)), RequestReporter.satisfaction.is_not(None))
        .group_by(RequestReporter.request_id))).all()
    return {request_id: (int(count), float(mean)) for request_id, count, mean in rows}
