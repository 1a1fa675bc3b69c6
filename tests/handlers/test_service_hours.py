"""Issue 18 item 3 through the scheduler: the nightly close-out's no-shows, the flag for a resident who
keeps not coming (to staff, never a block), and who is credited service hours. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.leader_lock import SoleProcess
from bot.scheduler import Scheduler
from config.community import Directory
from core.clock import FixedClock
from storage import attendance_repo, booking_repo, sessions_repo
from storage.db import Database
from storage.models import OutboxMessage
from storage.models_attendance import ServiceHours
from storage.models_booking import ServiceSession
from tests.conftest import SHANGHAI

WEDNESDAYS = [dt.date(2026, 11, 25), dt.date(2026, 12, 2), dt.date(2026, 12, 9)]  # haircut 14:30-16:30


def with_rules(directory: Directory, **attendance: Any) -> Directory:
    community = directory.communities[0]
    rules = community.attendance.model_copy(update=attendance)
    return Directory([community.model_copy(update={"attendance": rules})])


def scheduler(db: Database, directory: Directory, clock: FixedClock) -> Scheduler:
    from bot.daily_jobs import default_daily_jobs

    jobs = [j for j in default_daily_jobs() if j.name == "attendance"]
    return Scheduler(db, directory, clock, jobs=jobs, periodic=[], leadership=SoleProcess())


async def haircut(db: Database, day: dt.date) -> ServiceSession:
    async with db.transaction() as session:
        row = await session.scalar(select(ServiceSession).where(
            ServiceSession.service == "haircut",
            ServiceSession.starts_at == dt.datetime.combine(day, dt.time(14, 30), tzinfo=SHANGHAI)))
    assert row is not None
    return row


async def book(db: Database, row: ServiceSession, resident: str, name: str, now: dt.datetime) -> Any:
    async with db.transaction() as session:
        result = await booking_repo.book(session, community_id="xingfuli", session_id=row.id, resident_id=resident,
                                         resident_name=name, channel="sim", group_id="g-res-1", item=None, now=now)
    assert isinstance(result, booking_repo.Booked)
    return result.booking


async def test_a_resident_who_keeps_not_coming_is_flagged_to_staff_once_per_count_never_blocked(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    directory = with_rules(demo_directory, no_show_flag_after=2, no_show_window_days=30)
    community = directory.communities[0]
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    async with db.transaction() as session:
        await sessions_repo.materialize_sessions(session, community, now)
    for number, day in enumerate(WEDNESDAYS, start=1):
        row = await haircut(db, day)
        clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=SHANGHAI))
        # 刘德顺 books every week and never comes; 张秀兰 comes and is checked in.
        await book(db, row, "r-liu", "刘德顺", clock.now())  # never blocked: books again each week
        came = await book(db, row, "r-zhang", "张秀兰", clock.now())
        async with db.transaction() as session:
            await attendance_repo.mark_present(session, came, by="v-he", now=clock.now())
        clock.set(dt.datetime.combine(day, dt.time(21), tzinfo=SHANGHAI))
        [run] = await scheduler(db, directory, clock).run("attendance")
        assert run.status == "done"
        async with db.transaction() as session:
            flags = (await session.scalars(select(OutboxMessage).where(
                OutboxMessage.idempotency_key.like("noshow:%")).order_by(OutboxMessage.id))).all()
            assert await attendance_repo.no_show_count(session, "xingfuli", "r-liu",
                                                       since=clock.now() - dt.timedelta(days=30)) == number
            assert await attendance_repo.no_show_count(session, "xingfuli", "r-zhang",
                                                       since=clock.now() - dt.timedelta(days=30)) == 0
        # The second no-show within 30 days flags him, and so does the third: once per count.
        assert [f.idempotency_key for f in flags] == [f"noshow:xingfuli:r-liu:{n}" for n in range(2, number + 1)]
    assert all(f.target == "g-staff" for f in flags)
    assert "刘德顺（2号楼1单元201）近30天有3次预约没有到场" in flags[-1].text
    assert "没有限制" in flags[-1].text


async def test_service_hours_credit_the_team_minus_those_who_said_they_cannot_come(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    community = demo_directory.communities[0]
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    async with db.transaction() as session:
        await sessions_repo.materialize_sessions(session, community, now)
    row = await haircut(db, WEDNESDAYS[0])
    closed = await haircut(db, WEDNESDAYS[1])
    async with db.transaction() as session:
        assert await attendance_repo.record_absence(session, community_id="xingfuli", session_id=row.id,
                                                    person_id="v-xu", note="有事", now=now)
        assert not await attendance_repo.record_absence(session, community_id="xingfuli", session_id=row.id,
                                                        person_id="v-xu", note="有事", now=now)
        await sessions_repo.close_session(session, "xingfuli", closed.id, now=now)  # did not take place: no hours
    clock.set(dt.datetime(2026, 12, 2, 21, 0, tzinfo=SHANGHAI))  # catches up the week before too
    await scheduler(db, demo_directory, clock).run("attendance")
    async with db.transaction() as session:
        hours = (await session.scalars(select(ServiceHours).order_by(ServiceHours.day, ServiceHours.person_id))).all()
    by_session: dict[int, list[tuple[str, str, int]]] = {}
    for h in hours:
        by_session.setdefault(h.session_id, []).append((h.person_id, h.team_id, h.minutes))
    assert by_session[row.id] == [("v-he", "jiangxin", 120)]  # 徐阿姨 said she could not come
    assert closed.id not in by_session
    clinic = [(h.person_id, h.minutes) for h in hours if h.service == "free_clinic" and h.day == dt.date(2026, 11, 26)]
    assert clinic == [("v-ma", 150), ("v-ma", 150)]  # the morning and the afternoon session
    assert {h.day for h in hours} <= {dt.date(2026, 11, d) for d in range(25, 31)} | {dt.date(2026, 12, d)
                                                                                      for d in (1, 2)}
