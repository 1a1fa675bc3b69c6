"""The morning theme post and the daily-job scheduler: exactly once, on time or late within the grace.

Time never passes for real here: a FixedClock stands at the moment of interest and the tests call
what APScheduler would call (`fire`) or what a start-up runs (`catch_up`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.daily_jobs import THEME_JOB, DailyJob, default_daily_jobs
from bot.leader_lock import AdvisoryLock, SoleProcess
from bot.scheduler import Scheduler
from config.community import Community, Directory, Group
from config.themes import HolidayCalendar, Theme, ThemeOverride
from core.clock import FixedClock
from core.message import Outgoing
from handlers.themes import holiday_calendar_known_until, plan_for, warn_if_calendar_runs_out
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.models_scheduler import SchedulerRun
from storage.outbox_repo import INSERT_BATCH, enqueue
from tests.conftest import SHANGHAI

THURSDAY = dt.date(2026, 11, 26)  # safety check day in the demo community
RESIDENT_GROUPS = ["g-res-1", "g-res-2", "g-res-3"]


def at(day: dt.date, hour: int, minute: int = 0, second: int = 0, tz: Any = SHANGHAI) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=tz)


def demo(directory: Directory, **changes: Any) -> Directory:
    """The demo community with some fields replaced (themes changes go in `themes=dict(...)`)."""
    community = directory.communities[0]
    if "themes" in changes:
        changes["themes"] = community.themes.model_copy(update=changes["themes"])
    return Directory([community.model_copy(update=changes)])


def scheduler(db: Database, directory: Directory, clock: FixedClock, **kwargs: Any) -> Scheduler:
    """A scheduler with only the theme job, unless the test names its jobs."""
    kwargs.setdefault("jobs", [THEME_JOB])
    return Scheduler(db, directory, clock, leadership=SoleProcess(), **kwargs)


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.target))).all())


async def run_log(db: Database) -> list[SchedulerRun]:
    async with db.transaction() as session:
        return list((await session.scalars(select(SchedulerRun).order_by(SchedulerRun.day))).all())


# --- what is posted ----------------------------------------------------------------------------


async def test_each_residents_group_gets_the_days_theme_once_at_post_time(db: Database, demo_directory: Directory,
                                                                           clock: FixedClock) -> None:
    clock.set(at(THURSDAY, 8, 0, 0))
    run = await scheduler(db, demo_directory, clock).fire("theme", "xingfuli")
    assert run is not None and (run.status, run.posts, run.queued) == ("done", 3, 3)
    rows = await outbox(db)
    assert [r.target for r in rows] == RESIDENT_GROUPS  # not the staff or volunteers' groups
    assert {r.idempotency_key for r in rows} == {f"theme:{g}:2026-11-26" for g in RESIDENT_GROUPS}
    assert all((r.channel, r.audience, r.status) == ("sim", "group", "pending") for r in rows)
    text = rows[0].text
    assert text.startswith("早上好！今天是11月26日 周四，安全检查日。")
    assert "09:00-11:30" in text and "各楼栋" in text and "@社区小助手" in text


async def test_a_group_that_opted_out_gets_no_morning_post(db: Database, demo_directory: Directory,
                                                           clock: FixedClock) -> None:
    community = demo_directory.communities[0]
    groups = [g.model_copy(update={"theme_posts": False}) if g.id == "g-res-2" else g for g in community.groups]
    await scheduler(db, demo(demo_directory, groups=groups), clock).run("theme", THURSDAY)
    assert [r.target for r in await outbox(db)] == ["g-res-1", "g-res-3"]


async def test_a_public_holiday_gets_the_configured_greeting_and_no_theme(db: Database, demo_directory: Directory,
                                                                          clock: FixedClock) -> None:
    national_day = dt.date(2026, 10, 1)  # a Thursday: would be safety check day
    [run] = await scheduler(db, demo_directory, clock).run("theme", national_day)
    rows = await outbox(db)
    assert run.queued == 3 and len(rows) == 3
    assert all(r.text == "国庆节快乐！今天是国庆节假期，社区常规活动暂停一天，祝大家假期愉快～" for r in rows)
    assert "安全检查" not in rows[0].text


async def test_a_greeting_without_the_placeholder_is_posted_as_written(db: Database, demo_directory: Directory,
                                                                       clock: FixedClock) -> None:
    plain = demo(demo_directory, themes={"holiday_greeting": "节日快乐！社区活动暂停一天～"})
    await scheduler(db, plain, clock).run("theme", dt.date(2026, 10, 1))
    assert {r.text for r in await outbox(db)} == {"节日快乐！社区活动暂停一天～"}


async def test_a_holiday_without_a_greeting_posts_nothing(db: Database, demo_directory: Directory,
                                                         clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "handlers.themes")  # the theme post says why there is none
    silent = demo(demo_directory, themes={"holiday_greeting": None})
    [run] = await scheduler(db, silent, clock).run("theme", dt.date(2026, 10, 1))
    assert (run.status, run.posts) == ("done", 0) and await outbox(db) == []
    assert "no theme post for xingfuli on 2026-10-01 (holiday)" in caplog.text


async def test_an_ordinary_weekend_posts_nothing(db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    [run] = await scheduler(db, demo_directory, clock).run("theme", dt.date(2026, 11, 28))
    assert run.posts == 0 and await outbox(db) == []


@pytest.mark.parametrize(("rule", "expected"), [("monday", "学习日"), ("thursday", "安全检查日"), ("none", None)])
async def test_a_make_up_workday_follows_the_configured_rule(db: Database, demo_directory: Directory, clock: FixedClock,
                                                             rule: str, expected: str | None) -> None:
    makeup_sunday = dt.date(2026, 1, 4)  # an official working Sunday (New Year's Day 调休)
    sched = scheduler(db, demo(demo_directory, themes={"makeup_workday": rule}), clock)
    [run] = await sched.run("theme", makeup_sunday)
    rows = await outbox(db)
    if expected is None:
        assert run.posts == 0 and rows == []
        return
    assert len(rows) == 3
    assert rows[0].text.startswith(f"早上好！今天是1月4日 周日，调休上班，社区活动照常：{expected}。")


async def test_dated_overrides_replace_or_cancel_the_day(db: Database, demo_directory: Directory,
                                                         clock: FixedClock) -> None:
    fair = Theme(title="国庆游园会", description="猜灯谜、套圈，欢迎全家参加", time="09:00-11:00", place="中心广场")
    overrides = [
        ThemeOverride(date=dt.date(2026, 10, 1), theme=fair),  # beats the holiday
        ThemeOverride(date=THURSDAY, theme=None, note="因寒潮预警，入户安全检查改到下周四。"),
    ]
    sched = scheduler(db, demo(demo_directory, themes={"overrides": overrides}), clock)
    await sched.run("theme", dt.date(2026, 10, 1))
    await sched.run("theme", THURSDAY)
    rows = await outbox(db)
    by_key = {r.idempotency_key: r.text for r in rows}
    assert by_key["theme:g-res-1:2026-10-01"].startswith("早上好！今天是10月1日 周四，国庆游园会。")
    cancelled = by_key["theme:g-res-1:2026-11-26"]
    assert "活动取消了" in cancelled and "改到下周四" in cancelled and "安全检查日" not in cancelled


# --- exactly once --------------------------------------------------------------------------------


async def test_running_the_theme_job_twice_posts_once(db: Database, demo_directory: Directory,
                                                      clock: FixedClock) -> None:
    sched = scheduler(db, demo_directory, clock)
    [first] = await sched.run("theme", THURSDAY)
    [second] = await sched.run("theme", THURSDAY)
    assert (first.queued, second.posts, second.queued) == (3, 3, 0)
    assert len(await outbox(db)) == 3
    [log_row] = await run_log(db)
    assert (log_row.status, log_row.runs, log_row.queued) == ("done", 2, 3)


async def test_two_processes_running_the_job_at_once_post_once(db_url: str, db: Database, demo_directory: Directory,
                                                               clock: FixedClock) -> None:
    other = Database(db_url)  # a second engine: its own connections, as a second process has
    try:
        runs = await asyncio.gather(scheduler(db, demo_directory, clock).run("theme", THURSDAY),
                                    scheduler(other, demo_directory, clock).run("theme", THURSDAY))
    finally:
        await other.dispose()
    assert sum(r.queued for [r] in runs) == 3
    rows = await outbox(db)
    assert sorted(r.target for r in rows) == RESIDENT_GROUPS


async def test_restart_after_downtime_posts_once_late(db: Database, demo_directory: Directory,
                                                      clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    """Down from 07:50, back at 08:30: the 08:00 post goes out once, late; later restarts add nothing."""
    clock.set(at(THURSDAY, 7, 50))
    assert [r.status for r in await scheduler(db, demo_directory, clock).catch_up()] == []  # not due yet
    assert await outbox(db) == []
    # ... the bot is down at 08:00 and starts again at 08:30
    clock.set(at(THURSDAY, 8, 30))
    [run] = await scheduler(db, demo_directory, clock).catch_up()
    assert (run.status, run.day, run.queued) == ("done", THURSDAY, 3)
    assert "catching up the run of 2026-11-26T08:00:00+08:00, 30 min late" in caplog.text
    # another restart, and the trigger firing late as well: nothing more
    clock.set(at(THURSDAY, 8, 45))
    sched = scheduler(db, demo_directory, clock)
    assert [r.status for r in await sched.catch_up()] == ["already_done"]
    late_fire = await sched.fire("theme", "xingfuli")
    assert late_fire is not None and late_fire.queued == 0
    rows = await outbox(db)
    assert len(rows) == 3 and {r.created_at for r in rows} == {at(THURSDAY, 8, 30)}


@pytest.mark.parametrize("restart", [dt.time(10, 0), dt.time(10, 30), dt.time(16, 0)])
async def test_after_the_grace_the_post_is_skipped_and_logged(db: Database, demo_directory: Directory,
                                                              clock: FixedClock, caplog: pytest.LogCaptureFixture,
                                                              restart: dt.time) -> None:
    clock.set(dt.datetime.combine(THURSDAY, restart, tzinfo=SHANGHAI))
    [run] = await scheduler(db, demo_directory, clock).catch_up()
    assert run.status == "skipped" and await outbox(db) == []
    [log_row] = await run_log(db)
    assert (log_row.status, log_row.day, log_row.runs) == ("skipped", THURSDAY, 0)
    assert "exceeds the grace of 120 min" in (log_row.note or "")
    assert "theme for xingfuli on 2026-11-26 skipped" in caplog.text
    # An operator can still post it on purpose; the log then says it ran.
    [manual] = await scheduler(db, demo_directory, clock).run("theme", THURSDAY)
    assert manual.queued == 3
    [log_row] = await run_log(db)
    assert (log_row.status, log_row.note) == ("done", None)


async def test_the_grace_comes_from_the_community_config(db: Database, demo_directory: Directory,
                                                         clock: FixedClock) -> None:
    strict = demo(demo_directory, themes={"grace_minutes": 0})
    clock.set(at(THURSDAY, 8, 0, 30))  # APScheduler woke half a minute late: still on time
    run = await scheduler(db, strict, clock).fire("theme", "xingfuli")
    assert run is not None and run.status == "done"
    clock.set(at(THURSDAY, 8, 2) + dt.timedelta(days=1))  # Friday, two minutes late with no grace
    run = await scheduler(db, strict, clock).fire("theme", "xingfuli")
    assert run is not None and run.status == "skipped"
    assert {r.idempotency_key.rsplit(":", 1)[1] for r in await outbox(db)} == {"2026-11-26"}


async def test_post_time_is_the_communitys_whatever_zone_the_clock_is_in(db: Database, demo_directory: Directory,
                                                                         clock: FixedClock) -> None:
    # 2026-11-25 23:59 UTC is Thursday 07:59 in Shanghai: not yet.
    clock.set(dt.datetime(2026, 11, 25, 23, 59, tzinfo=dt.UTC))
    sched = scheduler(db, demo_directory, clock)
    assert await sched.catch_up() == []
    # 00:30 UTC is 08:30 in Shanghai: Thursday's post, late.
    clock.set(dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC))
    [run] = await sched.catch_up()
    assert (run.status, run.day) == ("done", THURSDAY)
    assert "安全检查日" in (await outbox(db))[0].text


async def test_each_community_posts_at_its_own_local_time(db: Database, demo_directory: Directory,
                                                          clock: FixedClock) -> None:
    xingfuli = demo_directory.communities[0]
    london = Community(id="riverside", name="河畔社区", timezone="Europe/London",
                       groups=[Group(id="g-rv-1", name="河畔居民群", kind="residents"),
                               Group(id="g-rv-staff", name="河畔工作群", kind="staff")],
                       themes=xingfuli.themes)
    sched = scheduler(db, Directory([xingfuli, london]), clock)
    # Thursday 08:30 in London is 16:30 in Shanghai: London is due, Shanghai's 08:00 is long past.
    clock.set(at(THURSDAY, 8, 30, tz=london_tz()))
    runs = {r.community: r.status for r in await sched.catch_up()}
    assert runs == {"riverside": "done", "xingfuli": "skipped"}
    assert [r.target for r in await outbox(db)] == ["g-rv-1"]
    nxt = {p.community.id: p.next_run(clock.now()) for p in sched.planned()}
    assert nxt["riverside"] == at(THURSDAY + dt.timedelta(days=1), 8, tz=london_tz())
    assert nxt["xingfuli"] == at(THURSDAY + dt.timedelta(days=1), 8)
    assert nxt["xingfuli"].utcoffset() == dt.timedelta(hours=8)


def london_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/London")


# --- the registry other capabilities plug into ----------------------------------------------------


async def _evening_reminders(session: Any, community: Community, day: dt.date) -> list[Outgoing]:
    tomorrow = day + dt.timedelta(days=1)
    return [Outgoing(channel="sim", community=community.id, to="user", target="r-zhang",
                     text=f"提醒：您明天（{tomorrow}）预约了义剪", idempotency_key=f"remind:b-1:{tomorrow}")]


async def test_a_capability_adds_a_daily_job_with_one_entry(db: Database, demo_directory: Directory,
                                                            clock: FixedClock) -> None:
    remind = DailyJob("remind", dt.time(19, 0), _evening_reminders)
    sched = scheduler(db, demo_directory, clock, jobs=[THEME_JOB, remind])
    assert [p.id for p in sched.planned()] == ["theme:xingfuli", "remind:xingfuli"]
    clock.set(at(THURSDAY, 19, 0, 1))
    run = await sched.fire("remind", "xingfuli")
    assert run is not None and run.queued == 1
    clock.set(at(THURSDAY, 19, 40))  # a restart: caught up already, nothing twice
    assert {r.job: r.status for r in await sched.catch_up()} == {"theme": "skipped", "remind": "already_done"}
    clock.set(at(THURSDAY, 21, 30))  # past the default grace of 2 h
    run = await sched.fire("remind", "xingfuli")
    assert run is not None and run.status == "skipped"
    [row] = await outbox(db)
    assert (row.audience, row.target, row.idempotency_key) == ("user", "r-zhang", "remind:b-1:2026-11-27")


async def test_a_job_without_idempotency_keys_is_refused_and_writes_nothing(db: Database, demo_directory: Directory,
                                                                            clock: FixedClock) -> None:
    async def careless(session: Any, community: Community, day: dt.date) -> list[Outgoing]:
        return [Outgoing(channel="sim", community=community.id, to="group", target="g-res-1", text="hi")]

    sched = scheduler(db, demo_directory, clock, jobs=[DailyJob("careless", dt.time(9, 0), careless)])
    with pytest.raises(ValueError, match="idempotency key"):
        await sched.run("careless", THURSDAY)
    assert await outbox(db) == [] and await run_log(db) == []
    # At start-up a broken job is logged and the others still catch up.
    both = scheduler(db, demo_directory, clock, jobs=[DailyJob("careless", dt.time(8, 0), careless),
                                                      THEME_JOB])
    clock.set(at(THURSDAY, 8, 20))
    assert [(r.job, r.status) for r in await both.catch_up()] == [("careless", "failed"), ("theme", "done")]
    assert len(await outbox(db)) == 3
    with pytest.raises(ValueError, match="unique"):
        scheduler(db, demo_directory, clock, jobs=[THEME_JOB, THEME_JOB])
    with pytest.raises(KeyError, match="no daily job 'digest'"):
        await sched.run("digest", THURSDAY)


async def test_thousands_of_groups_are_one_job_and_all_get_the_post(db: Database, demo_directory: Directory,
                                                                    clock: FixedClock) -> None:
    count = INSERT_BATCH * 2 + 345  # several insert batches, the last one partial
    community = demo_directory.communities[0]
    groups = [Group(id=f"g-{i:05d}", name=f"居民群{i}", kind="residents") for i in range(count)]
    people = [p.model_copy(update={"groups": []}) for p in community.people]
    many = Directory([community.model_copy(update={"groups": [*groups, community.staff_group()], "people": people})])
    sched = scheduler(db, many, clock)
    assert len(sched.planned()) == 1
    # Pre-queue one group's post, as a crashed earlier run might have: the rerun fills only the rest.
    async with db.transaction() as session:
        await enqueue(session, (await sched.job("theme").build(session, many.communities[0], THURSDAY))[:1],
                      now=clock.now())
    [run] = await sched.run("theme", THURSDAY)
    assert (run.posts, run.queued) == (count, count - 1)
    rows = await outbox(db)
    assert len(rows) == count and len({r.target for r in rows}) == count


# --- leadership and APScheduler wiring -------------------------------------------------------------


async def test_apscheduler_gets_one_cron_job_per_community_in_its_zone(db: Database, demo_directory: Directory,
                                                                       clock: FixedClock) -> None:
    remind = DailyJob("remind", lambda c: dt.time(19, 0), _evening_reminders)
    sched = scheduler(db, demo_directory, clock, jobs=[THEME_JOB, remind])
    await sched.start()
    try:
        assert sched.is_leader
        jobs = dict(sched.scheduled_jobs())
        # the daily jobs given, one per community; the periodic ones (notices due, overdue requests,
        # 回访) one each, every community in each of their runs
        assert set(jobs) == {"theme:xingfuli", "remind:xingfuli", "notices", "overdue", "followup"}
        assert jobs["overdue"] is not None
        theme_next, remind_next = jobs["theme:xingfuli"], jobs["remind:xingfuli"]
        assert theme_next is not None and remind_next is not None
        assert (theme_next.hour, theme_next.minute, theme_next.utcoffset()) == (8, 0, dt.timedelta(hours=8))
        assert (remind_next.hour, remind_next.minute) == (19, 0)
    finally:
        await sched.stop()
    assert not sched.is_leader and sched.scheduled_jobs() == []


async def test_apscheduler_calls_the_job_when_it_is_due(db: Database, demo_directory: Directory,
                                                         clock: FixedClock) -> None:
    clock.set(at(THURSDAY, 7, 59))
    sched = scheduler(db, demo_directory, clock)
    await sched.start()
    try:
        assert await outbox(db) == []
        clock.set(at(THURSDAY, 8, 0, 1))
        # Instead of waiting for 08:00 to come round for real, tell APScheduler the run is due now.
        assert sched._aps is not None
        sched._aps.modify_job("theme:xingfuli", next_run_time=dt.datetime.now(dt.UTC))
        for _ in range(100):
            if len(await outbox(db)) == 3:
                break
            await asyncio.sleep(0.05)
        assert sorted(r.target for r in await outbox(db)) == RESIDENT_GROUPS
        [log_row] = await run_log(db)
        assert (log_row.status, log_row.day) == ("done", THURSDAY)
    finally:
        await sched.stop()


def test_operators_are_warned_before_the_holiday_calendar_runs_out(caplog: pytest.LogCaptureFixture) -> None:
    until = holiday_calendar_known_until()
    assert until.month == 12 and until.day == 31 and until.year >= 2026
    assert not warn_if_calendar_runs_out(until - dt.timedelta(days=60))
    assert caplog.text == ""
    assert warn_if_calendar_runs_out(until - dt.timedelta(days=30))
    assert f"ends on {until}" in caplog.text and "pip install -U chinesecalendar" in caplog.text


def with_calendar(directory: Directory, calendar: dict[str, Any]) -> Community:
    return demo(directory, themes={"calendar": HolidayCalendar.model_validate(calendar)}).communities[0]


def test_the_files_calendar_moves_the_end_and_the_warning(demo_directory: Directory,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    package_end = holiday_calendar_known_until()
    plain = demo_directory.communities[0]
    # the year after the package's (2027 with chinesecalendar 1.11.0) entered in the file; made-up dates
    year = package_end.year + 1
    entered = with_calendar(demo_directory, {"holidays": [{"name": "春节", "from": f"{year}-02-08",
                                                           "to": f"{year}-02-12"}]})
    next_end = dt.date(year, 12, 31)
    assert holiday_calendar_known_until([plain]) == package_end
    assert holiday_calendar_known_until([entered]) == next_end
    day = package_end - dt.timedelta(days=29)  # 2026-12-02 with chinesecalendar 1.11.0
    assert not warn_if_calendar_runs_out(day, [entered])
    assert caplog.text == ""
    assert warn_if_calendar_runs_out(next_end - dt.timedelta(days=30), [entered])
    assert f"of xingfuli ends on {next_end}" in caplog.text
    caplog.clear()
    # Several communities: the calendar is known as far as the shortest one's.
    other = entered.model_copy(update={"id": "riverside"})
    assert holiday_calendar_known_until([entered, plain.model_copy(update={"id": "riverside"})]) == package_end
    assert holiday_calendar_known_until([entered, other]) == next_end
    assert warn_if_calendar_runs_out(day, [entered, plain])
    assert f"ends on {package_end}" in caplog.text and "themes.calendar" in caplog.text


# made-up dates, not the State Council's schedule
CALENDAR_2027 = {"holidays": [{"name": "春节", "from": "2027-02-08", "to": "2027-02-12"}], "workdays": ["2027-02-20"]}


async def test_a_holiday_from_the_file_gets_the_greeting_and_its_name(db: Database, demo_directory: Directory,
                                                                      clock: FixedClock) -> None:
    community = with_calendar(demo_directory, CALENDAR_2027)
    wednesday = dt.date(2027, 2, 10)  # would be policy day
    assert plan_for(community, wednesday).holiday_name == "春节"
    [run] = await scheduler(db, Directory([community]), clock).run("theme", wednesday)
    rows = await outbox(db)
    assert run.queued == 3 and all(r.text.startswith("春节快乐！今天是春节假期") for r in rows)


async def test_a_workday_from_the_file_on_a_saturday_gets_the_make_up_theme(db: Database, demo_directory: Directory,
                                                                            clock: FixedClock) -> None:
    community = with_calendar(demo_directory, CALENDAR_2027)
    [run] = await scheduler(db, Directory([community]), clock).run("theme", dt.date(2027, 2, 20))
    rows = await outbox(db)
    assert run.queued == 3
    assert rows[0].text.startswith("早上好！今天是2月20日 周六，调休上班，社区活动照常：学习日。")
    # without the entry that Saturday is an ordinary weekend
    [run] = await scheduler(db, demo_directory, clock).run("theme", dt.date(2027, 2, 27))
    assert run.posts == 0


async def test_past_the_official_calendar_public_holidays_still_get_no_working_day_post(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    # Neither chinesecalendar 1.11 nor the demo file knows 2027: the holidays package's rules do.
    sched = scheduler(db, demo_directory, clock)
    [new_year] = await sched.run("theme", dt.date(2027, 1, 1))  # a Friday: would be cleanup day
    [spring] = await sched.run("theme", dt.date(2027, 2, 8))  # a Monday: would be study day
    [after] = await sched.run("theme", dt.date(2027, 2, 11))  # the Thursday after the holiday
    texts_by_key = {r.idempotency_key: r.text for r in await outbox(db)}
    assert (new_year.queued, spring.queued, after.queued) == (3, 3, 3)
    assert texts_by_key["theme:g-res-1:2027-01-01"].startswith("元旦快乐！今天是元旦假期")
    assert texts_by_key["theme:g-res-1:2027-02-08"].startswith("春节快乐！今天是春节假期")
    assert "安全检查日" in texts_by_key["theme:g-res-1:2027-02-11"]


def calendar_notice_job() -> DailyJob:
    return next(job for job in default_daily_jobs() if job.name == "calendar_notice")


async def test_staff_are_told_once_that_next_years_official_schedule_is_missing(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    sched = scheduler(db, demo_directory, clock, jobs=[calendar_notice_job()])
    [autumn] = await sched.run("calendar_notice", dt.date(2026, 10, 1))  # 2027 is more than 45 days off
    assert autumn.posts == 0
    for day in (dt.date(2026, 12, 3), dt.date(2026, 12, 4), dt.date(2027, 1, 5)):
        await sched.run("calendar_notice", day)
    [row] = await outbox(db)
    assert (row.target, row.idempotency_key) == ("g-staff", "calendar:xingfuli:2027")
    assert "2027年的放假安排（含调休上班日）还没有录入" in row.text
    assert "元旦（1月1日）、除夕（2月5日）、春节（2月6日-2月10日）、清明节" in row.text
    assert "themes.calendar" in row.text


async def test_no_calendar_notice_once_the_year_is_entered(db: Database, demo_directory: Directory,
                                                           clock: FixedClock) -> None:
    community = with_calendar(demo_directory, CALENDAR_2027)
    sched = scheduler(db, Directory([community]), clock, jobs=[calendar_notice_job()])
    [run] = await sched.run("calendar_notice", dt.date(2026, 12, 3))
    assert run.posts == 0 and await outbox(db) == []


async def test_sqlite_processes_always_lead(sqlite_url: str, demo_directory: Directory, clock: FixedClock) -> None:
    database = Database(sqlite_url)
    await upgrade(database)
    sched = Scheduler(database, demo_directory, clock)
    try:
        assert isinstance(sched.leadership, SoleProcess)
        await sched.start()
        assert sched.is_leader
    finally:
        await sched.stop()
        await database.dispose()


async def test_postgres_advisory_lock_has_one_holder_and_passes_on(postgres_url: str, demo_directory: Directory,
                                                                   clock: FixedClock) -> None:
    database = Database(postgres_url)
    await upgrade(database)
    first = Scheduler(database, demo_directory, clock, retry_seconds=3600)
    second = Scheduler(database, demo_directory, clock, retry_seconds=3600)
    try:
        assert isinstance(first.leadership, AdvisoryLock)
        await first.start()
        await second.start()
        assert (first.is_leader, second.is_leader) == (True, False)
        assert second.scheduled_jobs() == []
        await second._elect()  # a retry while the leader lives changes nothing
        assert (first.is_leader, second.is_leader) == (True, False)
        await first.stop()  # its lock connection closes
        await second._elect()
        assert second.is_leader and "theme:xingfuli" in [j for j, _ in second.scheduled_jobs()]
    finally:
        await first.stop()
        await second.stop()
        await database.dispose()


async def test_a_leader_whose_lock_connection_dies_steps_down(postgres_url: str, demo_directory: Directory,
                                                              clock: FixedClock) -> None:
    database = Database(postgres_url)
    await upgrade(database)
    sched = Scheduler(database, demo_directory, clock, retry_seconds=3600)
    try:
        await sched.start()
        assert sched.is_leader
        async with database.engine.connect() as conn:  # an administrator kills the lock's session
            killed = await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'linli-scheduler-lock' AND datname = current_database()")
            assert killed.scalars().all() == [True]
        await sched._elect()
        assert not sched.is_leader and sched.scheduled_jobs() == []
        await sched._elect()  # the next retry reconnects and, the lock being free, leads again
        assert sched.is_leader
    finally:
        await sched.stop()
        await database.dispose()
