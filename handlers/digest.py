"""The staff digest: overdue requests first, then urgent ones; new, resolved and open requests by
category, tier and grid (only the community's real grids) — counted by SQL; the share resolved on
time and the residents' satisfaction (回访).

Every number comes from a GROUP BY over an index that leads with the community and a time or
the status (storage/models_requests.py), so a day's digest stays well under a second over a
million requests (bench/bench_digest.py). Only the few listed requests are loaded as rows.
`daily_digest` is the scheduler's daily job; on the configured weekday it adds the week's
counts and a link to the weekly bar chart, which the staff web draws from `week_counts`
(bot/staff_web/charts.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from config.themes import WEEKDAYS
from core.message import Outgoing
from handlers import texts_requests as texts
from handlers.deadlines import due_text
from handlers.privacy import masked_excerpt
from handlers.requests import grid_name
from handlers.service_hours import week_hours_line
from nlp.location import Location
from storage.models_requests import OPEN_STATUSES, TIERS, Request, RequestReporter

URGENT_LISTED = 10
OVERDUE_LISTED = 10
SATISFACTION_DAYS = 7
# Requests whose grid is no grid of the community file (filed in a private chat, or from a group
# whose buildings span several grids) are counted under this key, never as a "grid" of their own.
NO_GRID = ""
CATEGORY_ORDER = tuple(texts.CATEGORY_NAMES)


@dataclass
class Counts:
    new: int = 0
    resolved: int = 0
    open: int = 0

    def text(self) -> str:
        return f"{self.new}/{self.resolved}/{self.open}"

    @property
    def any(self) -> bool:
        return bool(self.new or self.resolved or self.open)


@dataclass(frozen=True)
class Item:
    id: int
    category: str
    where: str
    age_seconds: float
    text: str  # masked excerpt
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class Satisfaction:
    """The residents' answers to 回访 over some days: how many, the mean mark, how many satisfied (4-5)."""

    count: int = 0
    mean: float = 0.0
    satisfied: int = 0


@dataclass
class Digest:
    community: Community
    day: dt.date
    as_of: dt.datetime
    total: Counts = field(default_factory=Counts)
    by_category: dict[str, Counts] = field(default_factory=dict)
    by_tier: dict[str, Counts] = field(default_factory=dict)
    by_grid: dict[str, Counts] = field(default_factory=dict)
    urgent: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)
    overdue_count: int = 0
    oldest: list[Item] = field(default_factory=list)
    on_time: int = 0  # of the requests resolved that day with a deadline, those resolved by it
    with_deadline: int = 0
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    week_start: dt.date | None = None
    week: dict[str, int] | None = None  # requests per category this week (weekly digest only)
    volunteer_hours: str | None = None  # the week's service hours per team (weekly digest only)


def day_bounds(community: Community, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(community.timezone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def is_weekly_day(community: Community, day: dt.date) -> bool:
    return WEEKDAYS[day.weekday()] == community.requests.weekly_digest_weekday


async def _grouped(session: AsyncSession, *conditions: object) -> Sequence[tuple[str, str, str, int]]:
    query = (select(Request.category, Request.tier, Request.grid, func.count())
             .where(*conditions).group_by(Request.category, Request.tier, Request.grid))
    return (await session.execute(query)).all()  # type: ignore[return-value]


async def _rows_in_order(session: AsyncSession, ids: Sequence[int]) -> list[Request]:
    if not ids:
        return []
    found = {r.id: r for r in (await session.scalars(select(Request).where(Request.id.in_(ids)))).all()}
    return [found[i] for i in ids if i in found]


async def _oldest_open(session: AsyncSession, limit: int, *conditions: object) -> list[Request]:
    """The `limit` oldest open requests: ids from ix_requests_community_status in order, then the rows."""
    ids = (await session.scalars(select(Request.id).where(*conditions)
                                 .order_by(Request.created_at, Request.id).limit(limit))).all()
    return await _rows_in_order(session, ids)


async def _oldest_urgent(session: AsyncSession, limit: int, *conditions: object) -> list[Request]:
    """The oldest urgent open requests (a handful). Sorted here, not by ORDER BY: given an ORDER BY,
    SQLite walks ix_requests_community_created over every request (0.4-0.8 s at 1M rows) instead of
    the covering ix_requests_community_urgent, whose skew (1 % urgent) its statistics do not show."""
    candidates = (await session.execute(select(Request.id, Request.created_at).where(*conditions))).all()
    ids = [i for i, _ in sorted(candidates, key=lambda row: (row[1], row[0]))[:limit]]
    return await _rows_in_order(session, ids)


def _item(request: Request, community: Community, as_of: dt.datetime) -> Item:
    """A listed request; its age counts from when it was reported."""
    where = Location(request.building, request.unit, None).describe() or (
        grid_name(community, request.grid) if _grid_key(community, request.grid) else texts.DIGEST_NO_GRID)
    return Item(request.id, request.category, where, max(0.0, (as_of - request.created_at).total_seconds()),
                masked_excerpt(request.text, 30), request.due_at)


def _grid_key(community: Community, grid: str) -> str:
    return grid if any(g.id == grid for g in community.grids) else NO_GRID


async def _overdue(session: AsyncSession, as_of: dt.datetime, *conditions: object) -> tuple[int, list[Request]]:
    """How many open requests are past their deadline at `as_of`, and the longest overdue of them."""
    late = (*conditions, Request.due_at < as_of)
    count = await session.scalar(select(func.count()).select_from(Request).where(*late)) or 0
    ids = (await session.scalars(select(Request.id).where(*late).order_by(Request.due_at, Request.id)
                                 .limit(OVERDUE_LISTED))).all() if count else []
    return count, await _rows_in_order(session, ids)


async def satisfaction(session: AsyncSession, community: Community, start: dt.datetime,
                       end: dt.datetime) -> Satisfaction:
    """The 回访 marks residents gave between `start` and `end`."""
    row = (await session.execute(
        select(func.count(RequestReporter.satisfaction), func.avg(RequestReporter.satisfaction),
               func.count(RequestReporter.satisfaction).filter(RequestReporter.satisfaction >= 4))
        .join(Request, Request.id == RequestReporter.request_id)
        .where(Request.community == community.id, RequestReporter.rated_at >= start,
               RequestReporter.rated_at < end))).one()
    count, mean, satisfied = row
    return Satisfaction(int(count or 0), float(mean or 0.0), int(satisfied or 0))


async def compute_digest(session: AsyncSession, community: Community, day: dt.date, *,
                         as_of: dt.datetime | None = None, now: dt.datetime | None = None,
                         weekly: bool | None = None) -> Digest:
    """The numbers of `day` (community-local). Open counts are those still open, filed by the end of `day`.

    Ages and overdue marks are as of `as_of`: by default the time the digest is posted that day, or
    `now` when that is earlier (a digest asked for in the morning says "5 分钟", not "7 小时")."""
    start, end = day_bounds(community, day)
    if as_of is None:
        as_of = dt.datetime.combine(day, community.digest_time, tzinfo=ZoneInfo(community.timezone))
        if now is not None and start <= now < as_of:
            as_of = now
    digest = Digest(community, day, as_of)
    cid = Request.community == community.id
    is_open = Request.status.in_(OPEN_STATUSES)
    parts = (
        ("new", await _grouped(session, cid, Request.created_at >= start, Request.created_at < end)),
        ("resolved", await _grouped(session, cid, Request.resolved_at >= start, Request.resolved_at < end)),
        ("open", await _grouped(session, cid, is_open, Request.created_at < end)),
    )
    for attr, rows in parts:
        for category, tier, grid, count in rows:
            for key, table in ((category, digest.by_category), (tier, digest.by_tier),
                               (_grid_key(community, grid), digest.by_grid)):
                counts = table.setdefault(key, Counts())
                setattr(counts, attr, getattr(counts, attr) + count)
            setattr(digest.total, attr, getattr(digest.total, attr) + count)
    # `urgent = true`, not `urgent IS 1`: SQLite only uses ix_requests_community_urgent for the former.
    urgent = await _oldest_urgent(session, URGENT_LISTED, cid, Request.urgent == True, is_open,  # noqa: E712
                                  Request.created_at < end)
    digest.urgent = [_item(r, community, as_of) for r in urgent]
    digest.overdue_count, overdue = await _overdue(session, as_of, cid, is_open, Request.created_at < end)
    digest.overdue = [_item(r, community, as_of) for r in overdue]
    resolved = (await session.execute(select(Request.resolved_at, Request.due_at).where(
        cid, Request.resolved_at >= start, Request.resolved_at < end, Request.due_at.is_not(None)))).all()
    digest.with_deadline = len(resolved)
    digest.on_time = sum(1 for done, due in resolved if done <= due)
    digest.satisfaction = await satisfaction(session, community, end - dt.timedelta(days=SATISFACTION_DAYS), end)
    listed = community.requests.oldest_open_in_digest
    if listed:
        oldest = await _oldest_open(session, listed, cid, is_open, Request.created_at < end)
        digest.oldest = [_item(r, community, as_of) for r in oldest]
    if weekly if weekly is not None else is_weekly_day(community, day):
        digest.week_start = day - dt.timedelta(days=6)
        digest.week = await week_counts(session, community, day)
        digest.volunteer_hours = await week_hours_line(session, community, day)
    return digest


async def week_counts(session: AsyncSession, community: Community, end_day: dt.date) -> dict[str, int]:
    """Requests filed per category in the seven days ending with `end_day`."""
    start, _ = day_bounds(community, end_day - dt.timedelta(days=6))
    _, end = day_bounds(community, end_day)
    rows = (await session.execute(
        select(Request.category, func.count())
        .where(Request.community == community.id, Request.created_at >= start, Request.created_at < end)
        .group_by(Request.category))).all()
    return {category: count for category, count in rows}


def _ordered(table: dict[str, Counts], order: Sequence[str]) -> list[tuple[str, Counts]]:
    known = [(k, table[k]) for k in order if k in table]
    return known + sorted((k, v) for k, v in table.items() if k not in order)


def weekly_chart_url(community: Community, week_start: dt.date) -> str:
    return f"{community.requests.web_url}/charts/weekly.png?end={week_start + dt.timedelta(days=6)}"


def render_digest(digest: Digest) -> str:
    """The staff group post. Free text is masked (phones, rooms): a group message, even for staff."""
    c = digest.community
    lines = [texts.digest_title(c.name, digest.day, digest.week is not None),
             texts.digest_totals(digest.total.new, digest.total.resolved, digest.total.open)]
    if not digest.total.any and not digest.urgent:
        lines.append(texts.DIGEST_NOTHING)
    if digest.overdue:
        lines.append(texts.digest_overdue_head(digest.overdue_count))
        lines += [texts.digest_overdue_item(i.id, i.category, i.where, due_text(c, i.due_at), i.text)
                  for i in digest.overdue]
    if digest.urgent:
        lines.append(texts.digest_urgent_head(len(digest.urgent)))
        lines += [texts.digest_item(i.id, i.category, i.where, texts.age_text(i.age_seconds), i.text)
                  for i in digest.urgent]
    if digest.total.any:
        cats = [f"{texts.category_name(k)} {v.text()}" for k, v in _ordered(digest.by_category, CATEGORY_ORDER)]
        tiers = [f"{texts.TIER_NAMES.get(k, k)} {v.text()}" for k, v in _ordered(digest.by_tier, TIERS)]
        grid_ids = [g.id for g in c.grids]
        grids = [f"{grid_name(c, k) if k != NO_GRID else texts.DIGEST_NO_GRID} {v.text()}"
                 for k, v in _ordered(digest.by_grid, [*grid_ids, NO_GRID])]
        lines.append(f"{texts.DIGEST_BY_CATEGORY}{texts.DIGEST_BREAKDOWN_HINT}：" + "；".join(cats))
        lines.append(f"{texts.DIGEST_BY_TIER}：" + "；".join(tiers))
        lines.append(f"{texts.DIGEST_BY_GRID}：" + "；".join(grids))
    if digest.with_deadline:
        lines.append(texts.digest_on_time(digest.on_time, digest.with_deadline))
    if digest.satisfaction.count:
        s = digest.satisfaction
        lines.append(texts.digest_satisfaction(SATISFACTION_DAYS, s.count, s.satisfied, s.mean))
    if digest.oldest:
        lines.append(texts.DIGEST_OLDEST_HEAD)
        lines += [texts.digest_item(i.id, i.category, i.where, texts.age_text(i.age_seconds), i.text, waited=True)
                  for i in digest.oldest]
    if digest.week is not None and digest.week_start is not None:
        parts = "；".join(f"{texts.category_name(k)} {digest.week[k]}"
                         for k in [*CATEGORY_ORDER, *sorted(set(digest.week) - set(CATEGORY_ORDER))]
                         if digest.week.get(k))
        lines.append(texts.digest_week(digest.week_start, digest.day, sum(digest.week.values()), parts or "0",
                                       weekly_chart_url(c, digest.week_start)))
    if digest.volunteer_hours:
        lines.append(digest.volunteer_hours)
    lines.append(texts.digest_footer(c.requests.web_url))
    return "\n".join(lines)


async def daily_digest(session: AsyncSession, community: Community, day: dt.date, *,
                       now: dt.datetime | None = None) -> list[Outgoing]:
    """The scheduler's daily job: one post to the staff group, once per community and day."""
    group = community.staff_group()
    if group is None:
        return []
    text = render_digest(await compute_digest(session, community, day, now=now))
    return [Outgoing(channel=group.channel, community=community.id, to="group", target=group.id, text=text,
                     idempotency_key=f"digest:{community.id}:{day.isoformat()}")]
