"""Issue 18 item 7 through the scheduler: the weekly post to residents — off by default, once a week,
moved past a public holiday, counts and team names only. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.daily_jobs import default_daily_jobs
from bot.leader_lock import SoleProcess
from bot.scheduler import Scheduler
from config.community import Directory
from core.clock import FixedClock
from handlers.weekly_report import report_week
from storage.db import Database
from storage.models import OutboxMessage
from storage.models_attendance import ServiceHours
from storage.models_booking import ServiceSession
from storage.models_requests import Request, RequestReporter
from tests.conftest import SHANGHAI

FRIDAY = dt.date(2026, 11, 27)


def enabled(directory: Directory, **changes: Any) -> Directory:
    community = directory.communities[0]
    report = community.weekly_report.model_copy(update={"enabled": True, **changes})
    return Directory([community.model_copy(update={"weekly_report": report})])


def scheduler(db: Database, directory: Directory, clock: FixedClock) -> Scheduler:
    jobs = [j for j in default_daily_jobs() if j.name == "weekly_report"]
    return Scheduler(db, directory, clock, jobs=jobs, periodic=[], leadership=SoleProcess())


async def posts(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.target))).all())


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


async def add_week(db: Database) -> None:
    """A week of requests (each with a name, a room and a phone number in it) and a volunteer's hours."""
    async with db.transaction() as session:
        first_session = await session.scalar(select(ServiceSession.id).order_by(ServiceSession.id))
        assert first_session is not None
        for i, (category, resolved) in enumerate([("repair", True), ("repair", True), ("repair", False),
                                                  ("sanitation", True), ("parking", False)]):
            created = at(FRIDAY - dt.timedelta(days=3), 9) + dt.timedelta(minutes=i)
            session.add(Request(
                community="xingfuli", channel="sim", group_id="g-res-1", sender_id="r-zhang", sender_name="张秀兰",
                category=category, text=f"3号楼2单元501 张秀兰 电话13800000101 第{i}件", grid="grid-1",
                tier="grid", status="resolved" if resolved else "new", created_at=created, updated_at=created,
                resolved_at=created + dt.timedelta(hours=5) if resolved else None))
        await session.flush()
        rated = (await session.scalars(select(Request).where(Request.status == "resolved").order_by(Request.id))).all()
        for request, (mark, day) in zip(rated, [(5, FRIDAY), (1, FRIDAY - dt.timedelta(days=1)),
                                               (5, FRIDAY - dt.timedelta(days=9))], strict=True):  # the last: earlier
            session.add(RequestReporter(request_id=request.id, person_id="r-zhang", name="张秀兰", channel="sim",
                                        group_id="g-res-1", text=request.text, satisfaction=mark,
                                        rated_at=at(day, 10)))
        session.add(ServiceHours(community="xingfuli", session_id=first_session, person_id="v-he", person_name="何师傅",
                                 team_id="jiangxin", service="haircut", day=FRIDAY - dt.timedelta(days=2),
                                 minutes=120, recorded_at=at(FRIDAY, 9)))


async def a_session(db: Database, directory: Directory) -> None:
    from storage import sessions_repo

    async with db.transaction() as session:
        await sessions_repo.materialize_sessions(session, directory.communities[0], at(dt.date(2026, 11, 25), 8))


async def test_off_unless_the_community_file_enables_it(db: Database, demo_directory: Directory,
                                                        clock: FixedClock) -> None:
    clock.set(at(FRIDAY, 18))
    [run] = await scheduler(db, demo_directory, clock).run("weekly_report")
    assert (run.status, run.posts) == ("done", 0)


async def test_once_a_week_to_every_residents_group_with_counts_and_no_personal_data(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    directory = enabled(demo_directory)
    await a_session(db, directory)
    await add_week(db)
    for day in (FRIDAY - dt.timedelta(days=1), FRIDAY + dt.timedelta(days=1)):  # not on other days
        clock.set(at(day, 18))
        [run] = await scheduler(db, directory, clock).run("weekly_report")
        assert run.posts == 0
    clock.set(at(FRIDAY, 18))
    run = await scheduler(db, directory, clock).fire("weekly_report", "xingfuli")  # as the cron trigger does
    assert run is not None and (run.posts, run.queued) == (3, 3)
    rows = await posts(db)
    assert [r.target for r in rows] == ["g-res-1", "g-res-2", "g-res-3"]
    assert {r.idempotency_key for r in rows} == {f"weekly:{g}:2026-11-27" for g in ("g-res-1", "g-res-2", "g-res-3")}
    text = rows[0].text
    assert text.startswith("【本周社区小结】11月21日-11月27日")
    assert "办结居民反映的事 3 件，反映最多的是：报修 3、停车交通 1、环境卫生 1" in text
    assert "志愿者服务 2 小时（匠心便民服务队 2小时）" in text and "感谢" in text
    assert "回访 2 人次，满意 1 人次（50%）" in text  # this week's marks only
    for personal in ("张秀兰", "13800000101", "501", "何师傅"):
        assert personal not in text
    again = await scheduler(db, directory, clock).run("weekly_report")  # a rerun, a restart
    assert again[0].queued == 0 and len(await posts(db)) == 3


async def test_a_holiday_moves_the_report_to_the_next_day_that_is_none(db: Database, demo_directory: Directory,
                                                                         clock: FixedClock) -> None:
    directory = enabled(demo_directory)
    community = directory.communities[0]
    national_day_friday = dt.date(2026, 10, 2)  # 国庆节 2026-10-01..07 (chinesecalendar)
    assert report_week(community, national_day_friday) is None
    assert report_week(community, dt.date(2026, 10, 7)) is None
    assert report_week(community, dt.date(2026, 10, 8)) == national_day_friday
    assert report_week(community, dt.date(2026, 10, 9)) == dt.date(2026, 10, 9)  # the next week's, as usual
    assert report_week(community, dt.date(2026, 10, 10)) is None
    clock.set(at(dt.date(2026, 10, 2), 18))
    assert (await scheduler(db, directory, clock).run("weekly_report"))[0].posts == 0
    clock.set(at(dt.date(2026, 10, 8), 18))
    assert (await scheduler(db, directory, clock).run("weekly_report"))[0].posts == 3
    assert {r.idempotency_key for r in await posts(db)} == {
        f"weekly:{g}:2026-10-02" for g in ("g-res-1", "g-res-2", "g-res-3")}
