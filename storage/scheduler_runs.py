"""The scheduler's record of its runs: one row per (job, community, day) that ran or was skipped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_scheduler import SchedulerRun
from storage.upsert import dialect_insert

_KEY = ["job", "community", "day"]


async def record_run(session: AsyncSession, job: str, community: str, day: dt.date, status: str, now: dt.datetime,
                     *, queued: int = 0, note: str | None = None) -> None:
    """Records a run ("done": counted, with the rows it queued) or a skipped day ("skipped": never
    over a day that ran)."""
    stmt = dialect_insert(session)(SchedulerRun).values(
        job=job, community=community, day=day, status=status, runs=1 if status == "done" else 0, queued=queued,
        last_run_at=now, note=note)
    if status == "done":
        stmt = stmt.on_conflict_do_update(index_elements=_KEY, set_={
            "status": "done",
            "runs": SchedulerRun.runs + 1,
            "queued": SchedulerRun.queued + stmt.excluded.queued,
            "last_run_at": stmt.excluded.last_run_at,
            "note": None,
        })
    else:  # never turn a day that ran into a skipped one
        stmt = stmt.on_conflict_do_nothing(index_elements=_KEY)
    await session.execute(stmt)


async def done_days(session: AsyncSession, keys: set[tuple[str, str, dt.date]]) -> set[tuple[str, str, dt.date]]:
    """Those of the (job, community, day) `keys` that ran."""
    if not keys:
        return set()
    rows = await session.execute(
        select(SchedulerRun.job, SchedulerRun.community, SchedulerRun.day).where(
            SchedulerRun.status == "done",
            SchedulerRun.day.in_(sorted({day for _, _, day in keys})),
        )
    )
    return {tuple(row) for row in rows} & keys  # type: ignore[misc]


async def last_runs(session: AsyncSession) -> dict[tuple[str, str], SchedulerRun]:
    """The latest recorded run of each (job, community)."""
    latest = (select(SchedulerRun.job, SchedulerRun.community, func.max(SchedulerRun.day).label("day"))
              .group_by(SchedulerRun.job, SchedulerRun.community).subquery())
    rows = await session.scalars(select(SchedulerRun).where(
        tuple_(SchedulerRun.job, SchedulerRun.community, SchedulerRun.day).in_(
            select(latest.c.job, latest.c.community, latest.c.day))))
    return {(r.job, r.community): r for r in rows}
