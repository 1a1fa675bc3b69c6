"""The timed jobs of a running bot, one line each: what is built for each community, and at what local time
(daily jobs), or how often (periodic jobs: the requests' overdue and 回访 checks).

A job's `build` lives with its capability in handlers/ (the morning theme post in themes.py, booking
reminders and volunteer lists in booking_schedule.py, the staff digest in digest.py); bot/scheduler.py
runs them once a day per community, through the outbox, exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Outgoing
from handlers.themes import build_theme_posts

DEFAULT_GRACE = dt.timedelta(hours=2)

Build = Callable[[AsyncSession, Community, dt.date], Awaitable[list[Outgoing]]]
BuildDue = Callable[[AsyncSession, Community, dt.datetime], Awaitable[list[Outgoing]]]


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
        with_now: `build` also takes `now=` (the moment it runs): the digest measures ages with it.
    """

    name: str
    at: dt.time | Callable[[Community], dt.time]
    build: Build
    grace: dt.timedelta | Callable[[Community], dt.timedelta] = DEFAULT_GRACE
    with_now: bool = False

    def time_for(self, community: Community) -> dt.time:
        return self.at(community) if callable(self.at) else self.at

    def grace_for(self, community: Community) -> dt.timedelta:
        return self.grace(community) if callable(self.grace) else self.grace


@dataclass(frozen=True)
class PeriodicJob:
    """A job that runs every so often on the scheduler leader, for each community: what has come due
    by now (staff notices scheduled for a time, requests past their deadline, 回访 questions). Also
    run once when a process becomes the leader (what fell due while no process led).

    Attributes:
        name: what operators type: `linli jobs run <name>` (runs it once, now).
        every: how often: a duration, or a function of the community giving it (from config). The
            scheduler runs the job at the shortest interval any community asks for.
        build: `async (session, community, now) -> [Outgoing]` — what is due at `now` (aware). It must
            claim what it acts on in the database in the session's transaction (a mark set, an
            `UPDATE … WHERE mark IS NULL` that only one run can win) and key every Outgoing (e.g.
            `overdue:{request}`), so that a rerun, two overlapping runs or a second process never
            tell anyone twice.
        due_in: `async (session, now) -> {community id}` — the communities with something due, in
            one query, so a tick over a district's communities costs one query, not one each.
    """

    name: str
    every: dt.timedelta | Callable[[Community], dt.timedelta]
    build: BuildDue
    due_in: Callable[[AsyncSession, dt.datetime], Awaitable[set[str]]] | None = None

    def every_for(self, community: Community) -> dt.timedelta:
        return self.every(community) if callable(self.every) else self.every


THEME_JOB = DailyJob(
    name="theme",
    at=lambda c: c.themes.post_time,
    build=build_theme_posts,
    grace=lambda c: dt.timedelta(minutes=c.themes.grace_minutes),
)


def default_daily_jobs() -> list[DailyJob]:
    """Every timed job of a running bot. Capabilities append theirs here (imported lazily)."""
    from handlers.booking_schedule import reminders_due, team_day_lists
    from handlers.digest import daily_digest
    from handlers.service_hours import close_out_sessions
    from handlers.themes import provisional_calendar_notice
    from handlers.unsure import prune_unsure_job
    from handlers.weekly_report import weekly_report

    async def tomorrows_reminders(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
        return await reminders_due(session, community, day + dt.timedelta(days=1))

    return [
        THEME_JOB,
        # The evening before a session, each booked resident is reminded privately.
        DailyJob("reminders", at=lambda c: c.reminder_time, build=tomorrows_reminders),
        # Each session morning, the volunteer team gets the day's list.
        DailyJob("day_lists", at=lambda c: c.day_list_time, build=team_day_lists),
        # The staff group's summary of requests.
        DailyJob("digest", at=lambda c: c.digest_time, build=daily_digest, with_now=True),
        # Once a year, staff are told that the coming year's official holiday schedule is missing.
        DailyJob("calendar_notice", at=lambda c: c.digest_time, build=provisional_calendar_notice),
        # Messages kept for staff (待确认) older than unsure.keep_days, or beyond unsure.max_pending, go.
        DailyJob("unsure_prune", at=lambda c: c.unsure.prune_time, build=prune_unsure_job),
        # After the day's sessions: no-shows recorded (repeated ones flagged to staff), service hours credited.
        DailyJob("attendance", at=lambda c: c.attendance.close_time, build=close_out_sessions,
                 grace=dt.timedelta(hours=3)),
        # The weekly post to residents, where the community file enables it (holiday-aware, once a week).
        DailyJob("weekly_report", at=lambda c: c.weekly_report.time, build=weekly_report),
    ]


def default_periodic_jobs() -> list[PeriodicJob]:
    """Jobs that run every so often on the scheduler leader (imported lazily, like the daily ones)."""
    from handlers.notices import due_notices
    from handlers.request_followup import followups_due
    from handlers.request_overdue import overdue_check
    from storage.notices_repo import communities_due

    def every(community: Community) -> dt.timedelta:
        return dt.timedelta(minutes=community.requests.check_every_minutes)

    return [
        # Staff notices scheduled for a time ("定时 明天 8:00") go out within a minute of it.
        PeriodicJob("notices", every=dt.timedelta(seconds=30), build=due_notices, due_in=communities_due),
        # Open requests past their deadline climb one tier; staff and the owner are told, once.
        PeriodicJob("overdue", every=every, build=overdue_check),
        # 回访: resolved requests' reporters are asked whether it is really solved, once.
        PeriodicJob("followup", every=every, build=followups_due),
    ]
