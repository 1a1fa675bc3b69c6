"""`linli jobs list` and `linli jobs run <job> --date D`: the scheduler's jobs for operators."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path

from config.community import ConfigError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options, _parse_now

    p = sub.add_parser("jobs", help="the scheduled jobs (morning theme, digests, reminders)")
    jobs = p.add_subparsers(dest="jobs_command", required=True)
    ls = jobs.add_parser("list", help="each job per community, its time and zone, next and last run")
    ls.add_argument("--now", type=_parse_now, help="reference time, ISO 8601 (default: now)")
    _add_db_options(ls)
    run = jobs.add_parser("run", help="run a job now for a date, as the scheduler would (posts once per group)")
    run.add_argument("job", help="job name, e.g. theme (see `linli jobs list`)")
    run.add_argument("--date", type=_date, help="YYYY-MM-DD (default: today in each community's time zone)")
    run.add_argument("--community", help="only this community id")
    _add_db_options(run)


def run(args: argparse.Namespace) -> int | None:
    if args.command != "jobs":
        return None
    from bot.cli import _settings

    settings = _settings(args)
    if args.jobs_command == "list":
        return asyncio.run(_list(settings, args.now))
    return asyncio.run(_run(settings, args.job, args.date, args.community))


def _scheduler(settings, db, now: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    from bot.leader_lock import SoleProcess
    from bot.scheduler import Scheduler
    from config.loader import load_directory
    from core.clock import FixedClock, SystemClock

    clock = FixedClock(now) if now is not None else SystemClock()
    # A command is no candidate for leadership: it runs what it is asked to and exits.
    return Scheduler(db, load_directory(settings.config).with_public_url(settings.public_base_url), clock,
                     leadership=SoleProcess())


async def _ready(db) -> None:  # type: ignore[no-untyped-def]
    """The same rule as `linli serve`: SQLite is upgraded in place, PostgreSQL must be upgraded first."""
    from storage.migrate import current_revision, head_revision, upgrade

    if db.dialect == "sqlite":
        await upgrade(db)
        return
    current, head = await current_revision(db), head_revision()
    if current != head:
        raise ConfigError(f"the database is at revision {current or 'none'}, this linli needs {head}: "
                          "run `linli db upgrade` first")


def _sqlite_file_missing(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and bool(parsed.database) and not Path(parsed.database).exists()


async def _list(settings, now: dt.datetime | None) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import SQLAlchemyError

    from handlers.themes import PROVISIONAL, calendar_source, holiday_calendar_known_until
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        scheduler = _scheduler(settings, db, now)
        now = scheduler.clock.now()
        last: dict = {}
        problem = None
        if _sqlite_file_missing(db.url):
            problem = "no database yet"
        else:
            try:
                last = await scheduler.last_runs()
            except (SQLAlchemyError, OSError) as exc:  # listing the plan must work without a database
                problem = f"cannot read the run log ({type(exc).__name__}; `linli db upgrade`?)"
        rows = [("JOB", "COMMUNITY", "AT", "ZONE", "GRACE", "NEXT RUN", "LAST RUN")]
        for planned in scheduler.planned():
            record = last.get((planned.job.name, planned.community.id))
            if record is None:
                seen = "-"
            elif record.status == "done":
                seen = f"{record.day} done ({record.queued} queued, {record.runs} run(s))"
            else:
                seen = f"{record.day} {record.status}"
            nxt = planned.next_run(now)
            rows.append((planned.job.name, planned.community.id, planned.at.strftime("%H:%M"),
                         planned.zone.key, f"{planned.grace // dt.timedelta(minutes=1)} min",
                         f"{nxt.isoformat()} {nxt.strftime('%a')}", seen))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
        for job in scheduler.periodic:
            for community in scheduler.directory.communities:
                every = int(job.every_for(community).total_seconds())
                span = f"{every // 60} min" if every % 60 == 0 else f"{every} s"
                print(f"{job.name}  {community.id}  every {span}")
        print(f"({len(rows) - 1} daily job(s) at {now.isoformat()}; they run in the process that holds the "
              "scheduler lock" + (f"; last runs unknown: {problem}" if problem else "") + ")")
        for community in scheduler.directory.communities:
            sources = {year: calendar_source(year, community.themes.calendar) for year in (now.year, now.year + 1)}
            print(f"holidays of {community.id}: " + "; ".join(
                f"{year} from {source}" + (" (enter the official schedule with its 调休 under themes.calendar)"
                                           if source == PROVISIONAL else "")
                for year, source in sources.items()))
        print("holiday calendar (chinesecalendar and themes.calendar) known until "
              f"{holiday_calendar_known_until(scheduler.directory.communities)}")
    finally:
        await db.dispose()
    return 0


async def _run(settings, name: str, day: dt.date | None, community: str | None) -> int:  # type: ignore[no-untyped-def]
    import sys

    from storage.db import Database

    db = Database(settings.database_url)
    try:
        scheduler = _scheduler(settings, db)
        if name not in scheduler.job_names():
            print(f"linli: no job {name!r} (known: {', '.join(scheduler.job_names())})", file=sys.stderr)
            return 2
        await _ready(db)
        try:
            results = await scheduler.run(name, day, community=community)
        except KeyError as exc:
            print(f"linli: {exc.args[0]}", file=sys.stderr)
            return 2
        for r in results:
            earlier = r.posts - r.queued
            print(f"{r.job} {r.community} {r.day}: {r.posts} post(s), {r.queued} newly queued"
                  + (f" ({earlier} queued by an earlier run)" if earlier else ""))
        print("queued posts are sent by the running bot (`linli serve`)")
    finally:
        await db.dispose()
    return 0
