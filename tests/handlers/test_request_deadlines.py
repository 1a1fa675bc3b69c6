"""Deadlines on working days (issue 16, item 7): due times counted in working time with the holiday
calendar (调休 included); an overdue request climbs one tier, once, with its owner and staff told,
even when two processes run the check; marked on the page and listed first in the digest."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.leader_lock import SoleProcess
from bot.scheduler import Scheduler
from config.community import Directory
from core.clock import FixedClock
from handlers.deadlines import due_at
from handlers.digest import compute_digest, render_digest
from storage.db import Database
from storage.models import OutboxMessage
from storage.models_requests import Request, RequestEvent
from tests.conftest import SHANGHAI, LiveBot
from tests.handlers import requests_support
from tests.handlers.requests_support import group_texts
from tests.handlers.test_requests import number_in

req_bot = requests_support.req_bot


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("category", "urgent", "filed", "due"),
    [
        # 3 working days of 08:30-17:30 from a Wednesday morning: the next Monday, same time
        ("repair", False, at(2026, 11, 25), at(2026, 11, 30)),
        # filed on a Saturday: counted from Monday 08:30, due Wednesday at the end of the day
        ("repair", False, at(2026, 11, 28), at(2026, 12, 2, 17, 30)),
        # filed on a Friday evening: the same
        ("repair", False, at(2026, 11, 27, 18, 0), at(2026, 12, 2, 17, 30)),
        # 1 working day over National Day (Oct 1-7 off): the day after the holiday
        ("safety", False, at(2026, 9, 30), at(2026, 10, 8)),
        # the make-up workday (调休) Saturday Oct 10 counts, the Sunday after it does not
        ("repair", False, at(2026, 10, 9), at(2026, 10, 13)),
        # urgent: 2 clock hours, day and night, whatever the category
        ("repair", True, at(2026, 11, 28, 23, 0), at(2026, 11, 29, 1, 0)),
        ("policy", False, at(2026, 11, 25), at(2026, 11, 30)),
    ],
)
def test_due_times_count_working_time(demo_directory: Directory, category: str, urgent: bool,
                                      filed: dt.datetime, due: dt.datetime) -> None:
    assert due_at(demo_directory.communities[0], category, urgent, filed) == due


def test_a_community_without_a_deadline_for_a_category_has_none(demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    bare = community.model_copy(update={"requests": community.requests.model_copy(update={"deadlines": {}})})
    assert due_at(bare, "repair", True, at(2026, 11, 25)) is None


async def run_job(bot: LiveBot, name: str) -> None:
    assert bot.linli.scheduler is not None
    await bot.linli.scheduler.run(name)
    await delivered(bot)


async def delivered(bot: LiveBot) -> None:
    """Until the outbox has sent everything (into the simulator's chats)."""
    for _ in range(200):
        async with bot.linli.db.transaction() as session:
            pending = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                           .where(OutboxMessage.status == "pending"))
        if not pending:
            return
        bot.linli.drainer.wake()
        await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain")


async def test_an_overdue_request_climbs_one_tier_once_and_owner_and_staff_are_told(
        req_bot: LiveBot, clock: FixedClock) -> None:
    sim = req_bot.client
    number = number_in(group_texts(await sim.say("g-res-1", "r-zhang", "3号楼2单元楼道灯坏了"), "g-res-1")[0])
    await sim.say("g-staff", "staff-li", f"#{number} 指派 王网格员")
    clock.set(at(2026, 11, 30, 9, 59))  # due Monday 10:00 (3 working days)
    await run_job(req_bot, "overdue")
    async with req_bot.linli.db.transaction() as session:
        assert (await session.get(Request, number)).overdue_at is None  # type: ignore[union-attr]
    clock.set(at(2026, 11, 30, 10, 5))
    for _ in range(3):  # a rerun, a catch-up: told once
        await run_job(req_bot, "overdue")
    staff_posts = [m["text"] for m in await sim.group_timeline("g-staff") if "⏰" in m["text"]]
    assert len(staff_posts) == 1 and f"#{number}" in staff_posts[0] and "上报社区" in staff_posts[0]
    owner = [m["text"] for m in await sim.user_timeline("staff-wang") if "⏰" in m["text"]]
    assert len(owner) == 1 and f"#{number}" in owner[0]
    resident = [m["text"] for m in await sim.user_timeline("r-zhang") if "上报社区" in m["text"]]
    assert len(resident) == 1
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
        marks = await session.scalar(select(func.count()).select_from(RequestEvent).where(
            RequestEvent.request_id == number, RequestEvent.action == "overdue"))
    assert req is not None and req.tier == "community" and req.overdue_at is not None and marks == 1
    # the digest lists it first, the page marks it
    async with req_bot.linli.db.transaction() as session:
        text = render_digest(await compute_digest(session, req_bot.linli.directory.communities[0],
                                                  dt.date(2026, 11, 30), now=clock.now()))
    assert text.index("超期未办结 1 件") < text.index("按类别") and f"#{number}" in text.split("按类别")[0]


async def _seed_overdue(db_url: str, directory: Directory, count: int) -> list[int]:
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            ids = []
            for i in range(count):
                req = Request(community="xingfuli", channel="sim", group_id="g-res-1", sender_id="r-zhang",
                              sender_name="张秀兰", category="repair", text=f"{i + 1}号楼楼道灯坏了", building=i + 1,
                              grid="grid-1", tier="grid", urgent=False, status="new", affected=1, version=1,
                              object="楼道灯", created_at=at(2026, 11, 20), updated_at=at(2026, 11, 20),
                              due_at=at(2026, 11, 24), owner_id="staff-wang")
                session.add(req)
                await session.flush()
                ids.append(req.id)
            return ids
    finally:
        await db.dispose()


async def test_two_processes_checking_at_once_escalate_each_request_once(db: Database, db_url: str,
                                                                         demo_directory: Directory) -> None:
    ids = await _seed_overdue(db_url, demo_directory, 6)
    clock = FixedClock(at(2026, 11, 25))
    first, second = Database(db_url), Database(db_url)
    try:
        schedulers = [Scheduler(d, demo_directory, clock, jobs=[], leadership=SoleProcess()) for d in (first, second)]
        for _ in range(3):
            await asyncio.gather(*(s.run("overdue") for s in schedulers), return_exceptions=False)
    finally:
        await first.dispose()
        await second.dispose()
    async with db.transaction() as session:
        keys = (await session.scalars(select(OutboxMessage.idempotency_key)
                                      .where(OutboxMessage.idempotency_key.like("overdue:%")))).all()
        marks = (await session.scalars(select(RequestEvent.request_id).where(RequestEvent.action == "overdue"))).all()
        tiers = (await session.scalars(select(Request.tier).where(Request.id.in_(ids)))).all()
    assert sorted(marks) == ids  # each marked once
    assert set(tiers) == {"community"}  # one tier up, not two
    for number in ids:
        assert keys.count(f"overdue:{number}") == 1 and keys.count(f"overdue:{number}:owner") == 1
    assert len(keys) == len(set(keys))
