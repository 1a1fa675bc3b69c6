"""The morning post as residents see it: a real bot on 127.0.0.1, its simulator, a FixedClock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from nlp.understanding import Understanding
from storage.models import OutboxMessage
from tests.conftest import SHANGHAI, LiveBot, make_settings, start_live_bot

THURSDAY_0830 = dt.datetime(2026, 11, 26, 8, 30, tzinfo=SHANGHAI)


def activity_questions_only(text: str, now: dt.datetime) -> Understanding:
    """Stands in for the classifier: these tests are about the schedule, not about reading text."""
    if "活动" in text or "干啥" in text:
        return Understanding(label="query:today_activity", confidence=1.0, text=text)
    return Understanding(label="chitchat", text=text)


async def all_sent(bot: LiveBot) -> None:
    """Waits for the outbox drainer (already running in the bot) to deliver every queued row."""
    for _ in range(200):
        await bot.linli.drainer.drain_once()  # rows the background drainer holds are skipped here
        async with bot.linli.db.transaction() as session:
            pending = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox was not drained")


@pytest.fixture
async def bot_at_0830(db_url: str) -> AsyncIterator[LiveBot]:
    """A bot (re)started at 08:30 on a Thursday, having been down at 08:00."""
    if not db_url.startswith("sqlite"):
        from storage.db import Database
        from storage.migrate import upgrade

        db = Database(db_url)
        await upgrade(db)
        await db.dispose()
    bot, close = await start_live_bot(make_settings(db_url), FixedClock(THURSDAY_0830),
                                      understand=activity_questions_only)
    try:
        yield bot
    finally:
        await close()


async def test_the_simulator_shows_the_morning_post_in_each_residents_group(bot_at_0830: LiveBot) -> None:
    client = bot_at_0830.client
    await all_sent(bot_at_0830)
    for group in ("g-res-1", "g-res-2", "g-res-3"):
        timeline = await client.group_timeline(group)
        assert [(m["from"], m["sender_name"]) for m in timeline] == [("bot", "社区小助手")], group
        assert timeline[0]["text"].startswith("早上好！今天是11月26日 周四，安全检查日。")
    assert await client.group_timeline("g-staff") == []
    assert await client.group_timeline("g-vol") == []
    status, health = await client.get_json("/healthz")
    assert status == 200 and health == {"ok": True, "scheduler_leader": True}


async def test_questions_about_a_day_are_answered_from_the_same_plan(bot_at_0830: LiveBot) -> None:
    client = bot_at_0830.client
    today = (await client.say("g-res-1", "r-zhang", "今天有什么活动"))["replies"][0]["text"]
    assert "安全检查日" in today and "11月26日" in today
    tomorrow = (await client.say("g-res-1", "r-zhang", "明天啥活动"))["replies"][0]["text"]
    assert tomorrow.startswith("明天（11月27日 周五）") and "清洁家园日" in tomorrow
    monday = (await client.say("g-res-1", "r-zhang", "下周一干啥"))["replies"][0]["text"]
    assert "11月30日" in monday and "学习日" in monday
    saturday = (await client.say("g-res-1", "r-zhang", "周六有活动吗"))["replies"][0]["text"]
    assert "周末" in saturday


async def test_a_bot_without_the_scheduler_posts_nothing(sqlite_url: str) -> None:
    bot, close = await start_live_bot(make_settings(sqlite_url, scheduler=False), FixedClock(THURSDAY_0830),
                                      understand=activity_questions_only)
    try:
        await all_sent(bot)
        assert await bot.client.group_timeline("g-res-1") == []
        status, health = await bot.client.get_json("/healthz")
        assert health["scheduler_leader"] is False
    finally:
        await close()
