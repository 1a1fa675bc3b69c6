"""Timed work — the day's theme post and every other daily job — run once per day through the outbox.

Why a post goes out exactly once:

- every run writes outbox rows with an idempotency key (`theme:{group}:{date}` …), inserted with
  ON CONFLICT DO NOTHING, so a rerun, a start-up catch-up or a second process adds nothing;
- jobs are re-created from config at every start, never pickled: one APScheduler cron job per
  (daily job, community), in the community's time zone, that fans out to all its groups in one
  transaction (ten thousand groups are one job and one batched insert, not ten thousand jobs);
- when a process becomes the scheduler leader (at start-up, or when it takes over) it catches up:
  a job whose latest run time passed less than its grace ago and that has not run for that day runs
  now, late; an older miss is recorded as skipped and logged;
- on PostgreSQL only the process holding an advisory lock runs jobs; the others retry the lock
  every `scheduler_retry_seconds`, so one takes over soon after the leader's connection drops.

Capabilities add their timed posts as `DailyJob`s to `default_daily_jobs()` (one line each).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select, text, tuple_
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from config.community import Community, Directory
from core.clock import Clock
from core.message import Outgoing
from handlers import texts
from handlers.themes import DayPlan, calendar_known_until, package_calendar_ends, plan_for
from storage.db import Database
from storage.models_scheduler import SchedulerRun
from storage.outbox_repo import enqueue
from storage.upsert import dialect_insert

if TYPE_CHECKING:
    from bot.app import Linli

log = logging.getLogger("linli.scheduler")

DEFAULT_GRACE = dt.timedelta(hours=2)
# A run that starts within this of its time is on time, whatever the grace (even a grace of 0):
# APScheduler wakes a little after the second it aimed at, more so under load.
ON_TIME = dt.timedelta(minutes=1)
# A trigger this much before its time is that run (clock jitter), not yesterday's run very late.
EARLY = dt.timedelta(seconds=5)
# Any constant works as long as every linli process uses the same one (and it differs from the
# migration lock in storage/migrate.py). Advisory locks are per database.
SCHEDULER_LOCK_KEY = 0x6C696E6C6953  # "linliS"

# Warn operators this long before the holiday calendar runs out (a new chinesecalendar release
# follows the State Council's notice for the next year, usually published in October-December).
CALENDAR_WARNING = dt.timedelta(days=45)

Build = Callable[[AsyncSession, Community, dt.date], Awaitable[list[Outgoing]]]


@dataclass(frozen=True)
class DailyJob:
    """A job that runs once a day for each community at a local time of that community.

    Attributes:
        name: what operators type: `linli jobs run <name> --date D`.
        at: the local time, or a function of the community giving it (from config).
        build: `async (session, community, day) -> [Outgoing]` — the posts for that community on
            `day` (the community's local date of the run; a reminder job the evening before looks
            at `day + 1`). Every Outgoing must carry an idempotency key that names the thing posted
            and its date (e.g. `remind:{booking}`); rows are inserted in the session's transaction.
        grace: how late a run may still happen (after downtime); later it is skipped and logged.
    """

    name: str
    at: dt.time | Callable[[Community], dt.time]
    build: Build
    grace: dt.timedelta | Callable[[Community], dt.timedelta] = DEFAULT_GRACE

    def time_for(self, community: Community) -> dt.time:
        return self.at(community) if callable(self.at) else self.at

    def grace_for(self, community: Community) -> dt.timedelta:
        return self.grace(community) if callable(self.grace) else self.grace


# ---------------------------------------------------------------------------------------------
# The theme of the day


def theme_post_text(community: Community, plan: DayPlan) -> str | None:
    """What residents' groups are told in the morning, or None when nothing is posted that day."""
    if plan.kind == "theme" and plan.theme is not None:
        if plan.makeup_workday:
            return texts.makeup_morning_post(plan.date, plan.theme, community.bot_name)
        return texts.morning_post(plan.date, plan.theme, community.bot_name)
    if plan.kind == "holiday":
        greeting = community.themes.holiday_greeting
        return texts.holiday_morning_post(greeting, plan.holiday_name) if greeting else None
    if plan.kind == "cancelled":
        return texts.cancelled_morning_post(plan.date, plan.note)
    return None  # an ordinary weekend, or a weekday without a configured theme


async def build_theme_posts(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """The morning post to every residents' group that has not opted out (`theme_posts: false`)."""
    plan = plan_for(community, day)
    body = theme_post_text(community, plan)
    if body is None:
        log.info("no theme post for %s on %s (%s)", community.id, day, plan.kind)
        return []
    return [
        Outgoing(channel=group.channel, community=community.id, to="group", target=group.id, text=body,
                 idempotency_key=f"theme:{group.id}:{day.isoformat()}")
        for group in community.groups
        if group.kind == "residents" and group.theme_posts
    ]


THEME_JOB = DailyJob(
    name="theme",
    at=lambda c: c.themes.post_time,
    build=build_theme_posts,
    grace=lambda c: dt.timedelta(minutes=c.themes.grace_minutes),
)


def holiday_calendar_known_until(communities: Iterable[Community] = ()) -> dt.date:
    """The last day with official holiday data for all `communities`: each community's is the later
    of chinesecalendar's end and the last year its file's `themes.calendar` has entries in."""
    return min((calendar_known_until(c) for c in communities), default=package_calendar_ends())


def warn_if_calendar_runs_out(today: dt.date, communities: Iterable[Community] = ()) -> bool:
    """Logs a warning when the holiday calendar ends soon; True if it did."""
    from importlib.metadata import version

    communities = list(communities)
    until = holiday_calendar_known_until(communities)
    if today + CALENDAR_WARNING < until:
        return False
    short = [c.id for c in communities if calendar_known_until(c) == until]
    log.warning("the holiday calendar%s ends on %s (chinesecalendar %s ends on %s): once the State Council "
                "publishes next year's holidays, enter them under themes.calendar in the community file or "
                "upgrade the package (pip install -U chinesecalendar); after that date weekends count as "
                "rest days and weekdays as workdays, with no holidays or make-up workdays",
                f" of {', '.join(short[:5])}{' …' if len(short) > 5 else ''}" if short else "", until,
                version("chinesecalendar"), package_calendar_ends())
    return True


def default_daily_jobs() -> list[DailyJob]:
    """Every timed job of a running bot. Capabilities append theirs here (imported lazily)."""
    from handlers.booking_schedule import reminders_due, team_day_lists
    from handlers.digest import daily_digest

    async def tomorrows_reminders(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
        return await reminders_due(session, community, day + dt.timedelta(days=1))

    return [
        THEME_JOB,
        # The evening before a session, each booked resident is reminded privately.
        DailyJob("reminders", at=lambda c: c.reminder_time, build=tomorrows_reminders),
        # Each session morning, the volunteer team gets the day's list.
        DailyJob("day_lists", at=lambda c: c.day_list_time, build=team_day_lists),
        # The staff group's summary of requests.
        DailyJob("digest", at=lambda c: c.digest_time, build=daily_digest),
    ]


# ---------------------------------------------------------------------------------------------
# Planning and running


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


class Leadership(Protocol):
    async def hold(self) -> bool:
        """Takes the leadership if free, or checks it is still ours; True while we lead."""
        ...

    async def release(self) -> None: ...


class SoleProcess:
    """SQLite: one process per database file by design, so it always leads.

    A lease row would only guard against a second process on the same file, which SQLite
    deployments do not run; even then the idempotency keys keep posts single.
    """

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLock:
    """PostgreSQL: leadership is a session advisory lock held on a dedicated connection.

    The lock lives as long as that connection: when the process dies, PostgreSQL ends the session
    and frees the lock, and the next follower to retry takes it. TCP keepalives on the connection
    make the server notice a vanished host (not only a dead process) within about half a minute.
    """

    def __init__(self, url: str, *, key: int = SCHEDULER_LOCK_KEY, timeout: float = 10.0) -> None:
        self.key = key
        self.timeout = timeout
        self._engine = create_async_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "timeout": timeout,
                "server_settings": {
                    "application_name": "linli-scheduler-lock",
                    "tcp_keepalives_idle": "10",
                    "tcp_keepalives_interval": "5",
                    "tcp_keepalives_count": "3",
                },
            },
        )
        self._conn: AsyncConnection | None = None
        self._held = False

    async def hold(self) -> bool:
        try:
            return await asyncio.wait_for(self._hold(), timeout=self.timeout)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            if self._held:
                log.error("lost the scheduler lock's database connection: %s", exc)
            else:
                log.warning("cannot reach PostgreSQL for the scheduler lock: %s", exc)
            await self._discard()
            return False

    async def _hold(self) -> bool:
        if self._conn is None:
            self._conn = await self._engine.connect()
            self._held = False
        if self._held:
            # Same session, same lock: a query that succeeds proves the session is alive.
            await self._conn.execute(text("SELECT 1"))
            return True
        result = await self._conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        self._held = bool(result.scalar())
        return self._held

    async def _discard(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # the connection is already gone; nothing left to free
                log.debug("closing the scheduler lock connection failed", exc_info=True)

    async def release(self) -> None:
        await self._discard()  # ending the session frees the lock
        await self._engine.dispose()


def leadership_for(db: Database) -> Leadership:
    return AdvisoryLock(db.url) if db.is_postgres else SoleProcess()


class Scheduler:
    """Runs the daily jobs of every community: on APScheduler while leader, or on demand."""

    def __init__(
        self,
        db: Database,
        directory: Directory,
        clock: Clock,
        *,
        jobs: Iterable[DailyJob] | None = None,
        leadership: Leadership | None = None,
        retry_seconds: float = 15.0,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.jobs = list(default_daily_jobs() if jobs is None else jobs)
        names = [j.name for j in self.jobs]
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

    @classmethod
    def for_linli(cls, linli: Linli) -> Scheduler:
        return cls(linli.db, linli.directory, linli.clock, retry_seconds=linli.settings.scheduler_retry_seconds,
                   on_outbox=linli.drainer.wake)

    # -- what is scheduled

    def planned(self) -> list[PlannedJob]:
        return [
            PlannedJob(job, community, job.time_for(community), ZoneInfo(community.timezone),
                       job.grace_for(community))
            for job in self.jobs
            for community in self.directory.communities
        ]

    def job(self, name: str) -> DailyJob:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"no daily job {name!r} (known: {', '.join(j.name for j in self.jobs)})")

    # -- running

    async def run(self, name: str, day: dt.date | None = None, *, community: str | None = None) -> list[JobRun]:
        """Runs a job now for `day` (default: each community's today), as the scheduler would.

        No grace applies: an operator asked for it. Rows queued earlier are not queued again.
        """
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

    async def catch_up(self) -> list[JobRun]:
        """Runs what should have run since the latest run time and is still within its grace."""
        now = self.clock.now()
        plans = [(p, p.latest_occurrence(now)) for p in self.planned()]
        done = await self._done_days({(p.job.name, p.community.id, o.date()) for p, o in plans})
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
            posts = await planned.job.build(session, planned.community, day)
            unkeyed = [o for o in posts if not o.idempotency_key]
            if unkeyed:
                raise ValueError(f"scheduled posts need an idempotency key; {len(unkeyed)} have none "
                                 f"(first to {unkeyed[0].target!r})")
            queued = await enqueue(session, posts, now=now)
            await self._record(session, planned, day, "done", now, queued=queued)
        if queued and self.on_outbox is not None:
            self.on_outbox()
        log.info("%s for %s on %s: %d post(s), %d newly queued", planned.job.name, planned.community.id,
                 day, len(posts), queued)
        return JobRun(planned.job.name, planned.community.id, day, "done", len(posts), queued)

    async def _skip(self, planned: PlannedJob, day: dt.date, now: dt.datetime, late: dt.timedelta) -> JobRun:
        minutes = late // dt.timedelta(minutes=1)
        grace = planned.grace // dt.timedelta(minutes=1)
        note = (f"missed the run at {planned.occurrence(day).isoformat()} (bot down or busy); {minutes} min late "
                f"at {now.astimezone(planned.zone).isoformat()} exceeds the grace of {grace} min")
        log.warning("%s for %s on %s skipped: %s", planned.job.name, planned.community.id, day, note)
        async with self.db.transaction() as session:
            await self._record(session, planned, day, "skipped", now, note=note)
        return JobRun(planned.job.name, planned.community.id, day, "skipped", note=note)

    async def _record(self, session: AsyncSession, planned: PlannedJob, day: dt.date, status: RunStatus,
                      now: dt.datetime, *, queued: int = 0, note: str | None = None) -> None:
        stmt = dialect_insert(self.db)(SchedulerRun).values(
            job=planned.job.name, community=planned.community.id, day=day, status=status,
            runs=1 if status == "done" else 0, queued=queued, last_run_at=now, note=note)
        keys = ["job", "community", "day"]
        if status == "done":
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_={
                "status": "done",
                "runs": SchedulerRun.runs + 1,
                "queued": SchedulerRun.queued + stmt.excluded.queued,
                "last_run_at": stmt.excluded.last_run_at,
                "note": None,
            })
        else:  # never turn a day that ran into a skipped one
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        await session.execute(stmt)

    async def _done_days(self, keys: set[tuple[str, str, dt.date]]) -> set[tuple[str, str, dt.date]]:
        if not keys:
            return set()
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(SchedulerRun.job, SchedulerRun.community, SchedulerRun.day).where(
                    SchedulerRun.status == "done",
                    SchedulerRun.day.in_(sorted({day for _, _, day in keys})),
                )
            )
            return {tuple(row) for row in rows} & keys  # type: ignore[misc]

    async def last_runs(self) -> dict[tuple[str, str], SchedulerRun]:
        """The latest recorded run of each (job, community)."""
        async with self.db.transaction() as session:
            latest = (select(SchedulerRun.job, SchedulerRun.community, func.max(SchedulerRun.day).label("day"))
                      .group_by(SchedulerRun.job, SchedulerRun.community).subquery())
            rows = await session.scalars(select(SchedulerRun).where(
                tuple_(SchedulerRun.job, SchedulerRun.community, SchedulerRun.day).in_(
                    select(latest.c.job, latest.c.community, latest.c.day))))
            return {(r.job, r.community): r for r in rows}

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
        aps.add_listener(self._on_missed, EVENT_JOB_MISSED)
        aps.start()
        self._aps = aps
        log.info("this process is the scheduler leader: %d job(s)", len(aps.get_jobs()))
        warn_if_calendar_runs_out(self.clock.now().date(), self.directory.communities)
        try:
            await self.catch_up()
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
