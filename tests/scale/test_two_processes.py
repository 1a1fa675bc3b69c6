"""Two `linli serve` processes on one PostgreSQL, nginx in front (deploy/nginx-linli.conf): one bot.

Needs Debian's nginx (skipped without it, failed if CI is set) and LINLI_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

import aiohttp
import asyncpg

from tests.scale.conftest import REPAIR_CAPACITY, Cluster

MESSAGES = 200
TEXTS = ["今天有什么活动", "大家早上好", "收到", "今天社区有啥活动不", "谢谢志愿者"]


def handled_ids(log: str) -> list[str]:
    """msg_ids of the messages this process handled (the pipeline's JSON log line per message)."""
    return [json.loads(m.group(1))["msg_id"] for m in re.finditer(r"linli\.pipeline (\{.*\})", log)]


async def post(http: aiohttp.ClientSession, base: str, body: dict[str, str]) -> dict:  # type: ignore[type-arg]
    async with http.post(f"{base}/api/sim/messages", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def pg(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_messages_through_nginx_are_handled_once_by_one_of_the_two_processes(cluster: Cluster) -> None:
    limit = asyncio.Semaphore(20)

    async def say(i: int) -> dict:  # type: ignore[type-arg]
        async with limit:
            return await post(http, cluster.nginx.base, {"group": "g-res-1", "user": f"scale-{i % 40}",
                                                         "text": TEXTS[i % len(TEXTS)], "msg_id": f"scale-{i}"})

    async with aiohttp.ClientSession() as http:
        bodies = await asyncio.gather(*(say(i) for i in range(MESSAGES)))
    answered = [b for b in bodies if b["replies"]]
    assert len(answered) == MESSAGES * 2 // len(TEXTS)  # the two activity questions of every five

    # Each message was handled by exactly one process, and nginx spread them over both.
    per_process = [Counter(i for i in handled_ids(b.log_text()) if i.startswith("scale-")) for b in cluster.bots]
    both = per_process[0] + per_process[1]
    assert set(both) == {f"scale-{i}" for i in range(MESSAGES)}
    assert max(both.values()) == 1
    assert all(len(c) >= MESSAGES // 10 for c in per_process), [len(c) for c in per_process]

    rows = await pg(cluster.database_url, "SELECT status, count(*) AS n FROM inbox GROUP BY status")
    assert {r["status"]: r["n"] for r in rows} == {"done": MESSAGES}
    # Every answer was delivered once: one bot line in the group's timeline per sent outbox row.
    outbox = await pg(cluster.database_url, "SELECT status, count(*) AS n FROM outbox GROUP BY status")
    assert {r["status"]: r["n"] for r in outbox} == {"sent": len(answered)}
    timeline = await pg(cluster.database_url,
                        "SELECT count(*) AS n FROM sim_timeline WHERE chat_id = 'g-res-1' AND from_kind = 'bot'")
    assert timeline[0]["n"] == len(answered)


async def test_a_retry_sent_to_the_other_process_is_dropped_as_a_duplicate(cluster: Cluster) -> None:
    first, second = cluster.bots
    body = {"group": "g-res-2", "user": "r-chen", "text": "今天有什么活动", "msg_id": "retried-1"}
    async with aiohttp.ClientSession() as http:
        original = await post(http, first.base, body)
        retry = await post(http, second.base, body)
        timeline = await (await http.get(f"{cluster.nginx.base}/api/sim/groups/g-res-2/messages")).json()
    assert len(original["replies"]) == 1 and "duplicate" not in original
    assert retry == {"msg_id": "retried-1", "duplicate": True, "replies": []}
    said = [m for m in timeline["messages"] if m["from"] == "user"]
    answers = [m for m in timeline["messages"] if m["from"] == "bot"]
    assert len(said) == 1 and len(answers) == 1
    assert "retried-1" not in handled_ids(second.log_text())


async def test_twenty_residents_booking_five_places_through_nginx_get_exactly_five(cluster: Cluster) -> None:
    async with aiohttp.ClientSession() as http:
        bodies = await asyncio.gather(*(
            post(http, cluster.nginx.base, {"group": f"g-res-{1 + i % 3}", "user": f"booker-{i}",
                                            "name": f"新邻居{i:02d}", "text": "热水壶坏了 周六上午能修不"})
            for i in range(20)
        ))
    texts = [r["text"] for b in bodies for r in b["replies"] if r["to"] == "group"]
    assert sum("预约成功" in t for t in texts) == REPAIR_CAPACITY
    assert sum("已经约满了" in t for t in texts) == 20 - REPAIR_CAPACITY
    rows = await pg(cluster.database_url,
                    "SELECT s.capacity, count(b.id) AS n FROM service_sessions s "
                    "JOIN bookings b ON b.session_id = s.id "
                    "WHERE s.service = 'appliance_repair' AND b.status = 'booked' GROUP BY s.id, s.capacity")
    assert [(r["capacity"], r["n"]) for r in rows] == [(REPAIR_CAPACITY, REPAIR_CAPACITY)]
    # Both processes took part in the race.
    assert all(any(i for i in handled_ids(b.log_text()) if not i.startswith("scale-")) for b in cluster.bots)
