"""The scheduled booking posts, called directly as the scheduler calls them: reminders and day lists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from config.community import Community, Directory
from handlers.booking_schedule import reminders_due, team_day_lists
from storage import booking_repo as repo
from storage import sessions_repo
from storage.db import Database
from storage.models import OutboxMessage
from storage.outbox_repo import enqueue
from tests.conftest import REFERENCE_NOW, SHANGHAI

SATURDAY = dt.date(2026, 11, 28)


async def _book(db: Database, community: Community, service: str, starts_at: dt.datetime, resident: str,
                name: str, item: str | None = None, **kwargs: object) -> repo.BookingResult:
    async with db.transaction() as session:
        await sessions_repo.materialize_sessions(session, community, REFERENCE_NOW)
        [view] = [v for v in await sessions_repo.sessions_on(session, community, starts_at.date(), service=service)
                  if v.row.starts_at == starts_at]
        return await repo.book(session, community_id=community.id, session_id=view.id, resident_id=resident,
                               resident_name=name, channel="sim", group_id="g-res-1", item=item, now=REFERENCE_NOW,
                               **kwargs)  # type: ignore[arg-type]


async def test_each_booked_resident_gets_one_private_reminder(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    nine = dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    zhang = await _book(db, community, "appliance_repair", nine, "r-zhang", "张秀兰", "热水壶")
    liu = await _book(db, community, "haircut", nine, "r-liu", "刘德顺")
    chen = await _book(db, community, "haircut", nine, "r-chen", "陈建国")
    assert isinstance(zhang, repo.Booked) and isinstance(liu, repo.Booked) and isinstance(chen, repo.Booked)
    async with db.transaction() as session:
        await repo.cancel(session, chen.booking, now=REFERENCE_NOW)  # cancelled: no reminder
    await _book(db, community, "haircut", dt.datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI), "r-sun", "孙桂芳")

    async with db.transaction() as session:
        out = await reminders_due(session, community, SATURDAY)
    assert sorted((o.to, o.target, o.idempotency_key) for o in out) == sorted([
        ("user", "r-zhang", f"remind:{zhang.booking.id}"),
        ("user", "r-liu", f"remind:{liu.booking.id}"),
    ])
    text = next(o.text for o in out if o.target == "r-zhang")
    assert "小家电维修" in text and "11月28日(周六) 09:00-11:30" in text and zhang.booking.code in text
    assert "社区服务中心门口便民服务点" in text and "请带上要修的电器和配件" in text

    # Inserted twice (a rerun, a second process): each reminder is stored once.
    for _ in range(2):
        async with db.transaction() as session:
            await enqueue(session, await reminders_due(session, community, SATURDAY), now=REFERENCE_NOW)
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


async def test_a_closed_session_sends_no_reminders(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    booked = await _book(db, community, "haircut", dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI), "r-liu", "刘德顺")
    assert isinstance(booked, repo.Booked)
    async with db.transaction() as session:
        await sessions_repo.close_session(session, community.id, booked.session.id, now=REFERENCE_NOW)
        assert await reminders_due(session, community, SATURDAY) == []


async def test_each_team_member_gets_the_days_list_with_addresses_and_items(
    db: Database, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    nine = dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
    zhang = await _book(db, community, "appliance_repair", nine, "r-zhang", "张秀兰", "热水壶")
    assert isinstance(zhang, repo.Booked)
    async with db.transaction() as session:
        out = await team_day_lists(session, community, SATURDAY)

    keys = {o.idempotency_key for o in out}
    assert keys == {
        "daylist:jiangxin:appliance_repair:2026-11-28:v-he", "daylist:jiangxin:appliance_repair:2026-11-28:v-xu",
        "daylist:jiangxin:haircut:2026-11-28:v-he", "daylist:jiangxin:haircut:2026-11-28:v-xu",
        "daylist:fazhi:legal_aid:2026-11-28:v-lin",
    }
    assert all(o.to == "user" and o.channel == "sim" for o in out)
    repair = next(o.text for o in out if o.idempotency_key.endswith("appliance_repair:2026-11-28:v-he"))  # type: ignore[union-attr]
    assert repair.startswith("【今日名单】11月28日(周六) 小家电维修")
    assert "09:00-11:30 社区服务中心门口便民服务点：已约1人" in repair
    assert f"1. 张秀兰（3号楼2单元501） 需要：热水壶 [{zhang.booking.code}]" in repair
    assert "14:00-16:00 社区服务中心门口便民服务点：已约0人\n  暂无预约" in repair
    # A day without sessions sends nothing.
    async with db.transaction() as session:
        assert await team_day_lists(session, community, dt.date(2026, 11, 27)) == []
