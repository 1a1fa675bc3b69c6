"""`kill -9` of the bot in the middle of 1,000 messages, then a restart: nothing acknowledged is lost,
nothing is handled, answered or booked twice. (bench/faults/kill9.py does the same with 10,000
WeCom callbacks and a fake WeCom API; its results are in BENCHMARKS.md.)

The client plays WeChat: a message that got no 200 (connection reset by the kill, or the process
still down) is sent again, with the same msg_id, until it gets one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from storage.db import Database
from storage.migrate import upgrade
from tests.scale.conftest import REPAIR_CAPACITY, BotProcess, bot_env, free_port, small_repair_config

MESSAGES = 1000
KILL_AFTER = 350  # acknowledged messages before the kill


def message(i: int) -> dict[str, str]:
    if i % 10 == 3:  # a hundred residents try to book five places
        return {"group": "g-res-1", "user": f"k-booker-{i}", "name": f"邻居{i:04d}",
                "text": "热水壶坏了 周六上午能修不", "msg_id": f"k-{i}"}
    text = "今天有什么活动" if i % 10 in (1, 6) else "收到 谢谢"
    return {"group": f"g-res-{1 + i % 3}", "user": f"k-user-{i % 50}", "text": text, "msg_id": f"k-{i}"}


async def test_kill_9_during_a_run_then_restart_loses_and_repeats_nothing(postgres_url: str, tmp_path: Path) -> None:
    db = Database(postgres_url)
    await upgrade(db)
    await db.dispose()
    bot = BotProcess(free_port(), bot_env(postgres_url, small_repair_config(tmp_path)), tmp_path / "bot")
    bot.start()
    await bot.started()
    acked: dict[int, dict] = {}  # type: ignore[type-arg]
    killed = asyncio.Event()
    pending = list(range(MESSAGES))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:

            async def send(i: int) -> None:
                try:
                    async with http.post(f"{bot.base}/api/sim/messages", json=message(i)) as resp:
                        if resp.status == 200:
                            acked[i] = await resp.json()
                except (aiohttp.ClientError, TimeoutError):
                    pass  # not acknowledged: sent again below
                if len(acked) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    bot.kill9()

            rounds = 0
            while pending:
                rounds += 1
                limit = asyncio.Semaphore(32)

                async def limited(i: int, limit: asyncio.Semaphore = limit) -> None:
                    async with limit:
                        if killed.is_set() and bot.proc is not None and bot.proc.poll() is not None:
                            return  # down: this one waits for the next round
                        await send(i)

                await asyncio.gather(*(limited(i) for i in pending))
                if bot.proc is not None and bot.proc.poll() is not None:
                    bot.start()  # the restart resumes what was stored but not handled
                    await bot.started()
                pending = [i for i in range(MESSAGES) if i not in acked]
                assert rounds < 10
        assert killed.is_set() and rounds >= 2

        conn = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            inbox = await conn.fetch("SELECT msg_id, status FROM inbox")
            assert len(inbox) == MESSAGES and {r["status"] for r in inbox} == {"done"}
            # One answer per question or booking attempt, in the group, delivered once.
            replies = await conn.fetch(
                "SELECT i.msg_id, count(o.id) AS n, bool_and(o.status = 'sent') AS sent FROM inbox i "
                "JOIN outbox o ON o.reply_to = i.id AND o.audience = 'group' GROUP BY i.msg_id")
            answered = {r["msg_id"]: r["n"] for r in replies}
            expected = {f"k-{i}" for i in range(MESSAGES) if i % 10 in (1, 3, 6)}
            assert set(answered) == expected and set(answered.values()) == {1}
            assert all(r["sent"] for r in replies)
            bot_lines = await conn.fetchval("SELECT count(*) FROM sim_timeline WHERE from_kind = 'bot' "
                                            "AND chat_kind = 'group'")
            assert bot_lines == len(expected)
            user_lines = await conn.fetchval("SELECT count(*) FROM sim_timeline WHERE from_kind = 'user'")
            assert user_lines == MESSAGES  # a message stored before the kill is not shown twice
            bookings = await conn.fetch("SELECT resident_id, status FROM bookings")
            assert len({b["resident_id"] for b in bookings}) == len(bookings)  # nobody booked twice
            assert sum(b["status"] == "booked" for b in bookings) == REPAIR_CAPACITY
        finally:
            await conn.close()
        # What the client was told matches: every acknowledged booking confirmation is a real booking.
        told = sum("预约成功" in r["text"] for body in acked.values() for r in body["replies"])
        assert told <= REPAIR_CAPACITY
    finally:
        bot.stop()
