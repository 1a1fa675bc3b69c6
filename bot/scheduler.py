"""The scheduler: runs every daily job (bot/daily_jobs.py) once per day and community, through the outbox.

Why a post goes out exactly once:

- every run writes outbox rows with an idempotency key (`theme:{group}:{date}` …), inserted with
  ON CONFLICT DO NOTHING, so a rerun, a start-up catch-up or a second process adds nothing;
- jobs are re-created from config at every start, never pickled: one APScheduler cron job per
  (daily job, community), in the community's time zone, that fans out to all its groups in one
  transaction (ten thousand groups are one job and one batched insert, not ten thousand jobs);
- when a process becomes the scheduler leader (at start-up, or when it takes over) it catches up:
  a job whose latest run time passed less than its grace ago and that has not run for that day runs
  now, late; an older miss is recorded as skipped and logged (storage/scheduler_runs.py);
- on PostgreSQL only the process holding an advisory lock runs jobs (bot/leader_lock.py); the
  others retry the lock every `scheduler_retry_seconds`, so one takes over soon after the
  leader's connection drops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.daily_jobs import DailyJob, PeriodicJob, default_daily_jobs, default_periodic_jobs
from bot.leader_lock import Leadership, leadership_for
from config.community import Community, Directory
from core.clock import Clock
from handlers.themes import warn_if_calendar_runs_out
from storage import scheduler_runs as runs
from storage.db import Database
from storage.models_scheduler import SchedulerRun
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.scheduler")

# A run that starts within this of its time is on time, whatever the grace (even a grace of 0):
# APScheduler wakes a little after the second it aimed at, more so under load.
ON_TIME = dt.timedelta(minutes=1)
# A trigger this much before its time is that run (clock jitter), not yesterday's run very late.
EARLY = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class PlannedJob:
    """One daily job for one community: what APScheduler schedules as one cron job."""

    job: DailyJob
    community: Community
    at: dt.time
    zone: ZoneInfo
    grace: dt.timedelta

    @property
    def id(self) -> str:
        return f"{self.job.name}:{self.community.id}"

    def trigger(self) -> CronTrigger:
        return CronTrigger(hour=self.at.hour, minute=self.at.minute, second=self.at.second, timezone=self.zone)

    def occurrence(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.at, tzinfo=self.zone)

    def latest_occurrence(self, now: dt.datetime) -> dt.datetime:
        """The most recent run time at or before `now` (a trigger a hair early counts as that run)."""
        today = now.astimezone(self.zone).date()
        occurrence = self.occurrence(today)
        if occurrence > now + EARLY:
            occurrence = self.occurrence(today - dt.timedelta(days=1))
        return occurrence

    def next_run(self, now: dt.datetime) -> dt.datetime:
        """The next run APScheduler will make after `now`, in the community's zone."""
        fire = self.trigger().get_next_fire_time(None, now.astimezone(self.zone))
        return fire.astimezone(self.zone)

    def within_grace(self, late: dt.timedelta) -> bool:
        return late <= ON_TIME or late < self.grace


RunStatus = Literal["done", "skipped", "already_done", "failed"]


@dataclass(frozen=True)
class JobRun:
    """The outcome of one job for one community and day."""

    job: str
    community: str
    day: dt.date
    status: RunStatus
    posts: int = 0  # rows the job produced
    queued: int = 0  # of which newly added to the outbox (the rest were queued by an earlier run)
    note: str = ""


class Scheduler:
    """Runs the daily jobs of every community: on APScheduler while leader, or on demand."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        clock: Clock,
        *,
        jobs: Iterable[DailyJob] | None = None,
        periodic: Iterable[PeriodicJob] | None = None,
        leadership: Leadership | None = None,
        retry_seconds: float = 15.0,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.jobs = list(default_daily_jobs() if jobs is None else jobs)
        # Periodic jobs run unless the caller names its own (an empty list: none).
        self.periodic = list(default_periodic_jobs() if periodic is None else periodic)
        names = [j.name for j in self.jobs] + [j.name for j in self.periodic]
        if len(set(names)) != len(names):
            raise ValueError(f"daily job names must be unique: {names}")
        self.leadership = leadership or leadership_for(db)
        self.retry_seconds = retry_seconds
        self.on_outbox = on_outbox
        self.is_leader = False
        self._aps: AsyncIOScheduler | None = None
        self._elector: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[JobRun]] = set()
        self._said_follower = False

    # -- what is scheduled

    def planned(self) -> list[PlannedJob]:
        return [
            PlannedJob(job, community, job.time_for(community), ZoneInfo(community.timezone),
                       job.grace_for(community))
            for job in self.jobs
            for community in self.directory.communities
        ]

    def job_names(self) -> list[str]:
        return [j.name for j in self.jobs] + [j.name for j in self.periodic]

    def job(self, name: str) -> DailyJob:
        for job in self.jobs:
            if job.name == name:
                return job
        known = ", ".join(self.job_names())
        raise KeyError(f"no daily job {name!r} (known: {known})")

    def periodic_job(self, name: str) -> PeriodicJob | None:
        return next((j for j in self.periodic if j.name == name), None)

    # -- running

    async def run(self, name: str, day: dt.date | None = None, *, community: str | None = None) -> list[JobRun]:
        """Runs a job now for `day` (default: each community's today), as the scheduler would.

        No grace applies: an operator asked for it. Rows queued earlier are not queued again.
        A periodic job (`notices`) runs once, for now (`day` does not apply).
        """
        if self.periodic_job(name) is not None:
            return await self.tick(name, community=community)
        job = self.job(name)
        targets = [p for p in self.planned() if p.job is job and community in (None, p.community.id)]
        if community is not None and not targets:
            raise KeyError(f"no community {community!r}")
        now = self.clock.now()
        return [await self._run(p, day or now.astimezone(p.zone).date(), now) for p in targets]

    async def fire(self, name: str, community_id: str) -> JobRun | None:
        """What the cron trigger calls: runs the latest occurrence if it is not too late."""
        planned = next((p for p in self.planned() if p.job.name == name and p.community.id == community_id), None)
        if planned is None:
            log.error("scheduled job %s:%s is no longer configured", name, community_id)
            return None
        task = asyncio.create_task(self._fire(planned), name=f"job-{planned.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        # Shielded: stepping down or stopping APScheduler cancels its jobs; let the transaction finish.
        return await asyncio.shield(task)

    async def _fire(self, planned: PlannedJob) -> JobRun:
        now = self.clock.now()
        occurrence = planned.latest_occurrence(now)
        late = max(now - occurrence, dt.timedelta(0))
        if not planned.within_grace(late):
            return await self._skip(planned, occurrence.date(), now, late)
        return await self._run(planned, occurrence.date(), now)

    async def tick(self, name: str, *, community: str | None = None) -> list[JobRun]:
        """Runs a periodic job now for each community (what the interval trigger calls): what has
        come due is queued, each community in its own transaction."""
        job = self.periodic_job(name)
        if job is None:
            raise KeyError(f"no periodic job {name!r}")
        communities = [c for c in self.directory.communities if community in (None, c.id)]
        if community is not None and not communities:
            raise KeyError(f"no community {community!r}")
        if job.due_in is not None:
            async with self.db.transaction() as session:
                due = await job.due_in(session, self.clock.now())
            communities = [c for c in communities if c.id in due]
        results = []
        for target in communities:
            try:
                results.append(await self.run_periodic(job, target))
            except Exception as exc:  # one community's failure must not hold up the others
                log.exception("%s for %s failed", name, target.id)
                now = self.clock.now().astimezone(ZoneInfo(target.timezone))
                results.append(JobRun(name, target.id, now.date(), "failed", note=repr(exc)))
        return results

    async def catch_up(self) -> list[JobRun]:
        """Runs what should have run since the latest run time and is still within its grace."""
        now = self.clock.now()
        plans = [(p, p.latest_occurrence(now)) for p in self.planned()]
        async with self.db.transaction() as session:
            done = await runs.done_days(session, {(p.job.name, p.community.id, o.date()) for p, o in plans})
        results = []
        for planned, occurrence in plans:
            day = occurrence.date()
            if (planned.job.name, planned.community.id, day) in done:
                results.append(JobRun(planned.job.name, planned.community.id, day, "already_done"))
                continue
            late = max(now - occurrence, dt.timedelta(0))
            try:
                if planned.within_grace(late):
                    if late > ON_TIME:
                        log.warning("%s for %s: catching up the run of %s, %d min late", planned.job.name,
                                    planned.community.id, occurrence.isoformat(), late // dt.timedelta(minutes=1))
                    results.append(await self._run(planned, day, now))
                elif day == now.astimezone(planned.zone).date():
                    # Today's run was missed by more than the grace: too stale to post now.
                    results.append(await self._skip(planned, day, now, late))
            except Exception as exc:  # one broken job must not keep the others from catching up
                log.exception("%s for %s on %s failed", planned.job.name, planned.community.id, day)
                results.append(JobRun(planned.job.name, planned.community.id, day, "failed", note=repr(exc)))
        return results

    async def _run(self, planned: PlannedJob, day: dt.date, now: dt.datetime) -> JobRun:
        async with self.db.transaction() as session:
            if planned.job.with_now:
                posts = await planned.job.build(session, planned.community, day, now=now)  # type: ignore[call-arg]
            else:
                posts = await planned.job.build(session, planned.community, day)
            unkeyed = [o for o in posts if not o.idempotency_key]
            if unkeyed:
                raise ValueError(f"scheduled posts need an idempotency key; {len(unkeyed)} have none "
                                 f"(first to {unkeyed[0].target!r})")
            queued = await enqueue(session, posts, now=now)
            await runs.record_run(session, planned.job.name, planned.community.id, day, "done", now, queued=queued)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        log.info("%s for %s on %s: %d post(s), %d newly queued", planned.job.name, planned.community.id,
                 day, len(posts), queued)
        return JobRun(planned.job.name, planned.community.id, day, "done", len(posts), queued)

    async def run_periodic(self, job: PeriodicJob, community: Community) -> JobRun:
        """One run of a periodic job for one community, now (in the community's time zone)."""
        now = self.clock.now().astimezone(ZoneInfo(community.timezone))
        async with self.db.transaction() as session:
            posts = await job.build(session, community, now)
            unkeyed = [o for o in posts if not o.idempotency_key]
            if unkeyed:
                raise ValueError(f"periodic posts need an idempotency key; {len(unkeyed)} have none")
            queued = await enqueue(session, posts, now=now)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        if posts:
            log.info("%s for %s: %d post(s), %d newly queued", job.name, community.id, len(posts), queued)
        return JobRun(job.name, community.id, now.date(), "done", len(posts), queued)

    async def _skip(self, planned: PlannedJob, day: dt.date, now: dt.datetime, late: dt.timedelta) -> JobRun:
        minutes = late // dt.timedelta(minutes=1)
        grace = planned.grace // dt.timedelta(minutes=1)
        note = (f"missed the run at {planned.occurrence(day).isoformat()} (bot down or busy); {minutes} min late "
                f"at {now.astimezone(planned.zone).isoformat()} exceeds the grace of {grace} min")
        log.warning("%s for %s on %s skipped: %s", planned.job.name, planned.community.id, day, note)
        async with self.db.transaction() as session:
            await runs.record_run(session, planned.job.name, planned.community.id, day, "skipped", now, note=note)
        return JobRun(planned.job.name, planned.community.id, day, "skipped", note=note)

    async def last_runs(self) -> dict[tuple[str, str], SchedulerRun]:
        """The latest recorded run of each (job, community)."""
        async with self.db.transaction() as session:
            return await runs.last_runs(session)

    # -- leadership and APScheduler

    async def start(self) -> None:
        """Tries to lead once now (catching up if it does), then keeps trying in the background."""
        await self._elect()
        self._elector = asyncio.create_task(self._elect_forever(), name="scheduler-election")

    async def stop(self) -> None:
        if self._elector is not None:
            self._elector.cancel()
            try:
                await self._elector
            except asyncio.CancelledError:
                pass
            self._elector = None
        self._step_down()
        if self._running:
            await asyncio.wait(list(self._running), timeout=30)
        await self.leadership.release()

    async def _elect_forever(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self._elect()
            except Exception:
                log.exception("scheduler election failed; retrying in %s s", self.retry_seconds)

    async def _elect(self) -> None:
        leading = await self.leadership.hold()
        if leading and not self.is_leader:
            await self._take_lead()
        elif not leading and self.is_leader:
            log.error("this process is no longer the scheduler leader; another process will run the jobs")
            self._step_down()
        elif not leading and not self._said_follower:
            log.info("another process runs the scheduler; retrying the leader lock every %s s", self.retry_seconds)
            self._said_follower = True

    async def _take_lead(self) -> None:
        self.is_leader = True
        self._said_follower = False
        aps = AsyncIOScheduler(timezone=ZoneInfo("UTC"))
        for planned in self.planned():
            aps.add_job(
                self.fire, planned.trigger(), args=[planned.job.name, planned.community.id], id=planned.id,
                name=planned.id, coalesce=True, max_instances=1,
                misfire_grace_time=max(int(planned.grace.total_seconds()), int(ON_TIME.total_seconds())),
            )
        for periodic in self.periodic:
            # One interval job per periodic job, at the shortest interval any community asks for.
            every = min((periodic.every_for(c) for c in self.directory.communities), default=None)
            if every is not None:
                aps.add_job(self.tick, IntervalTrigger(seconds=every.total_seconds()), args=[periodic.name],
                            id=periodic.name, name=periodic.name, coalesce=True, max_instances=1)
        aps.add_listener(self._on_missed, EVENT_JOB_MISSED)
        aps.start()
        self._aps = aps
        log.info("this process is the scheduler leader: %d job(s)", len(aps.get_jobs()))
        warn_if_calendar_runs_out(self.clock.now().date(), self.directory.communities)
        try:
            await self.catch_up()
            for periodic in self.periodic:  # what came due while no process was leader
                await self.tick(periodic.name)
        except Exception:  # the bot must keep answering messages even if the catch-up fails
            log.exception("scheduler catch-up failed")

    def _step_down(self) -> None:
        self.is_leader = False
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None

    def _on_missed(self, event: JobExecutionEvent) -> None:
        """APScheduler gave up on a run (the loop was blocked past the grace): record why."""
        name, _, community_id = event.job_id.partition(":")
        planned = next((p for p in self.planned() if p.id == event.job_id), None)
        if planned is None:
            return
        now = self.clock.now()
        when = event.scheduled_run_time
        task = asyncio.get_running_loop().create_task(
            self._skip(planned, when.astimezone(planned.zone).date(), now, now - when),
            name=f"missed-{name}-{community_id}",
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def scheduled_jobs(self) -> list[tuple[str, dt.datetime | None]]:
        """(id, next run) of the jobs APScheduler holds right now (empty when not leader)."""
        if self._aps is None:
            return []
        return [(job.id, job.next_run_time) for job in self._aps.get_jobs()]
