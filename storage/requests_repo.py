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

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_requests import OPEN_STATUSES, Request, RequestEvent, RequestReporter

# Which statuses a request may come from, for each status it may go to.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"new"}),
    "in_progress": frozenset({"new", "acknowledged", "resolved", "closed"}),  # from resolved/closed: reopened
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
                                channel=request.channel, group_id=request.group_id, at=now, text=request.text))
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="created", to_value="new", note=request.text))
    await session.flush()
    return request


async def find_same_problem(session: AsyncSession, community: str, category: str, object_: str, building: int,
                            unit: int | None, since: dt.datetime) -> Request | None:
    """The newest open request about the same object of this category at this building (and unit, where
    both name one) filed since `since`."""
    query = select(Request).where(
        Request.community == community, Request.created_at >= since, Request.category == category,
        Request.object == object_, Request.building == building, Request.status.in_(OPEN_STATUSES))
    if unit is not None:
        query = query.where(or_(Request.unit.is_(None), Request.unit == unit))
    return await session.scalar(query.order_by(Request.created_at.desc(), Request.id.desc()).limit(1))


async def latest_in_group(session: AsyncSession, group_id: str, since: dt.datetime,
                          category: str | None = None) -> Request | None:
    """The newest open request filed in this group since `since` (optionally of one category)."""
    query = select(Request).where(Request.group_id == group_id, Request.created_at >= since,
                                  Request.status.in_(OPEN_STATUSES))
    if category is not None:
        query = query.where(Request.category == category)
    return await session.scalar(query.order_by(Request.created_at.desc(), Request.id.desc()).limit(1))


@dataclass(frozen=True)
class Reported:
    """An open request reported in a group, with when it was last reported there and what was said."""

    request: Request
    last_at: dt.datetime
    texts: tuple[str, ...]


async def reported_in_group(session: AsyncSession, community: str, group_id: str, since: dt.datetime,
                            limit: int = 20) -> list[Reported]:
    """Open requests reported (filed or joined) in this group since `since`, the latest reported first:
    what a "+1" or "我家也是" there may answer."""
    rows = (await session.execute(
        select(RequestReporter.request_id, RequestReporter.at, RequestReporter.text)
        .join(Request, Request.id == RequestReporter.request_id)
        .where(Request.community == community, RequestReporter.group_id == group_id, RequestReporter.at >= since,
               Request.status.in_(OPEN_STATUSES))
        .order_by(RequestReporter.at.desc()).limit(limit * 5))).all()
    latest: dict[int, dt.datetime] = {}
    said: dict[int, list[str]] = {}
    for request_id, at, text in rows:
        latest.setdefault(request_id, at)
        if text:
            said.setdefault(request_id, []).append(text)
    found = {r.id: r for r in (await session.scalars(select(Request).where(Request.id.in_(list(latest))))).all()}
    ordered = sorted(latest, key=lambda i: (latest[i], i), reverse=True)[:limit]
    return [Reported(found[i], latest[i], (found[i].text, *said.get(i, ()))) for i in ordered if i in found]


async def open_request_of_sender(session: AsyncSession, community: str, person_id: str,
                                 since: dt.datetime) -> Request | None:
    """The sender's newest open request that they reported (filed or joined) since `since`: what a
    photo or a location sent right after a report belongs to."""
    return await session.scalar(
        select(Request).join(RequestReporter, RequestReporter.request_id == Request.id)
        .where(Request.community == community, RequestReporter.person_id == person_id,
               RequestReporter.at >= since, Request.status.in_(OPEN_STATUSES))
        .order_by(RequestReporter.at.desc(), Request.id.desc()).limit(1))


async def requests_of_reporter(session: AsyncSession, community: str, person_id: str, *,
                               closed_since: dt.datetime, limit: int = 10) -> list[Request]:
    """What a resident reported: open ones, and those finished since `closed_since`, newest first."""
    return list((await session.scalars(
        select(Request).join(RequestReporter, RequestReporter.request_id == Request.id)
        .where(Request.community == community, RequestReporter.person_id == person_id,
               or_(Request.status.in_(OPEN_STATUSES), Request.updated_at >= closed_since))
        .order_by(Request.created_at.desc(), Request.id.desc()).limit(limit))).all())


async def is_reporter(session: AsyncSession, request_id: int, person_id: str) -> bool:
    return await session.get(RequestReporter, (request_id, person_id)) is not None


async def owned_by(session: AsyncSession, community: str, owner_id: str, limit: int = 30) -> list[Request]:
    """A staff member's open requests (我的工单), the oldest deadline first."""
    rows = (await session.scalars(
        select(Request).where(Request.community == community, Request.owner_id == owner_id,
                              Request.status.in_(OPEN_STATUSES))
        .order_by(Request.created_at, Request.id).limit(limit))).all()
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(rows, key=lambda r: (r.due_at or far, r.id))


async def team_requests(session: AsyncSession, community: str, teams: set[str], limit: int = 30) -> list[Request]:
    """The open requests given to these volunteer teams, oldest first."""
    if not teams:
        return []
    return list((await session.scalars(
        select(Request).where(Request.community == community, Request.team.in_(teams),
                              Request.status.in_(OPEN_STATUSES))
        .order_by(Request.created_at, Request.id).limit(limit))).all())


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
                                group_id=group_id, at=now, text=text))
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
                      note: str, due_at: dt.datetime | None = None) -> None:
    """The request became urgent (a neighbour added a hazard); its deadline becomes the urgent one
    when that is sooner."""
    values: dict[str, object] = {"urgent": True, "updated_at": now}
    if due_at is not None and (request.due_at is None or due_at < request.due_at):
        values["due_at"] = due_at
    await session.execute(
        update(Request).where(Request.id == request.id).values(**values)
        .execution_options(synchronize_session=False)
    )
    session.add(RequestEvent(request_id=request.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action="urgent", from_value="no", to_value="yes", note=note))
    await session.flush()
    await session.refresh(request)


# The history actions that move a request's version (a change made on a stale page loses to them).
VERSIONED_ACTIONS = ("status", "tier", "assigned", "category", "reopened")


async def last_actor(session: AsyncSession, request_id: int) -> str | None:
    return await session.scalar(
        select(RequestEvent.actor_name).where(RequestEvent.request_id == request_id,
                                              RequestEvent.action.in_(VERSIONED_ACTIONS))
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


async def apply_guarded_change(session: AsyncSession, community: str, req: Request, read_version: int,
                        values: dict[str, object], *, action: str, before: str, after: str, actor: Actor,
                        now: dt.datetime, note: str | None) -> ChangeResult:
    """The shared end of every lifecycle change: the guarded update (or Stale when another change
    got there first), its history row in the same transaction, and the request as it is now."""
    if not await _guarded_update(session, req, read_version, values):
        current = await get_request(session, community, req.id)
        assert current is not None
        return Stale(current, await last_actor(session, req.id))
    session.add(RequestEvent(request_id=req.id, at=now, actor_id=actor.id, actor_name=actor.name,
                             action=action, from_value=before, to_value=after, note=note))
    await session.flush()
    changed = await get_request(session, community, req.id)
    assert changed is not None
    return Changed(changed, before)


async def change_status(session: AsyncSession, community: str, request_id: int, to_status: str, *,
                        actor: Actor, now: dt.datetime, note: str | None = None,
                        expected_version: int | None = None, reopened_due: dt.datetime | None = None,
                        action: str = "status") -> ChangeResult:
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
        return Stale(req, await last_actor(session, req.id))
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
    elif to_status == "in_progress" and before in ("resolved", "closed"):
        # Reopened: a new deadline from now, and a new 回访 once it is resolved again.
        values.update(resolved_at=None, closed_at=None, due_at=reopened_due, overdue_at=None, followup_at=None)
    if to_status == "closed":
        values["closed_at"] = now
    return await apply_guarded_change(session, community, req, read_version, values, action=action,
                               before=before, after=to_status, actor=actor, now=now, note=note)


async def change_tier(session: AsyncSession, community: str, request_id: int, tier: str, *, actor: Actor,
                      now: dt.datetime, note: str | None = None,
                      expected_version: int | None = None) -> ChangeResult:
    """Escalates (or hands back) a request: grid / community / street, with its history row."""
    req = await get_request(session, community, request_id)
    if req is None:
        return NotFound(request_id)
    if expected_version is not None and req.version != expected_version:
        return Stale(req, await last_actor(session, req.id))
    if req.tier == tier:
        return Unchanged(req)
    if req.status not in OPEN_STATUSES:
        return NotAllowed(req)
    return await apply_guarded_change(session, community, req, req.version, {"tier": tier, "updated_at": now},
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
    owner: str | None = None  # a staff id, or UNASSIGNED
    overdue: bool = False  # open and past its deadline


UNASSIGNED = "-"


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
    if filters.owner == UNASSIGNED:
        conditions.append(Request.owner_id.is_(None))
    elif filters.owner:
        conditions.append(Request.owner_id == filters.owner)
    if filters.overdue:
        conditions += [Request.status.in_(OPEN_STATUSES), Request.due_at < now]
    total = await session.scalar(select(func.count()).select_from(Request).where(*conditions)) or 0
    rows = (await session.scalars(
        select(Request).where(*conditions).order_by(Request.created_at.desc(), Request.id.desc())
        .limit(limit).offset(offset)
    )).all()
    return rows, total
