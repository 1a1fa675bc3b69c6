"""No personal number in what the staff group reads (urgent alerts, escalations, staff replies, the digest)
nor in the printed digest, through the real bot and its simulator; and where staff need the number
(the staff web's request page, the volunteer team's private booking notice) it is still there."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import aiohttp

from core.clock import FixedClock
from tests.bot.test_scheduler_live import all_sent
from tests.conftest import REPO_ROOT, LiveBot
from tests.handlers import requests_support
from tests.handlers.test_privacy import digits_of
from tests.handlers.test_requests import number_in

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier (SQLite and PostgreSQL)

# What the attack run sent (issue 17), each with a hazard cue so that it is urgent.
FINDINGS = [
    "闻到燃气味了 电话+8613712345678",
    "燃气味很大 8613712345678 快来人",
    "楼下燃气味 回电139.1234.5678",
    "燃气味 我身份证110101 19900307 7777",
    "住3号楼2单元501号 燃气味好大",
    "燃气味 电话一三九一二三四五六七八",
    "燃气味 打幺三九幺二三四五六七八",
    "一股燃气味 座机010-12345678 老身份证110101900307777",
]
# The digits that must not reach the staff group, however they were written.
SECRETS = ["13712345678", "13912345678", "110101199003077777", "19900307", "12345678", "110101900307777"]
ROOMS = ["501", "602"]


def leaks(text: str) -> list[str]:
    seen = [digits_of(line) for line in text.splitlines()]
    found = [s for s in SECRETS if any(s in line for line in seen)]
    return found + [r for r in ROOMS if re.search(rf"(?<!\d){r}(?!\d)", text)]


async def test_staff_group_posts_and_the_digest_carry_no_personal_number(req_bot: LiveBot,
                                                                          clock: FixedClock) -> None:
    sim = req_bot.client
    numbers = []
    for text in FINDINGS:
        body = await sim.say("g-res-3", "r-sun", text)
        [ack] = [r["text"] for r in body["replies"] if r["target"] == "g-res-3"]
        numbers.append(number_in(ack))
        clock.advance(minutes=1)
    # a neighbour's message makes a known request urgent: the escalation quotes it
    await sim.say("g-res-2", "r-chen", "5号楼楼道灯坏了")
    escalation = await sim.say("g-res-2", "r-zhou", "5号楼楼道灯冒火花了 我住602 电话139 1234 5678")
    assert [r for r in escalation["replies"] if r["target"] == "g-staff"], escalation
    # a staff member's note is repeated in the staff group
    await sim.say("g-staff", "staff-wang", f"#{numbers[0]} 处理中 已联系13712345678")
    # the evening digest, posted by the running bot's scheduler
    clock.advance(hours=7, minutes=31)
    assert req_bot.linli.scheduler is not None
    await req_bot.linli.scheduler.run("digest")
    await all_sent(req_bot)

    posts = [m["text"] for m in await sim.group_timeline("g-staff") if m["from"] == "bot"]
    alerts = [p for p in posts if p.startswith("🚨紧急")]
    assert sorted(number_in(a) for a in alerts) == sorted(numbers)
    assert any("补充了紧急情况" in p for p in posts)
    assert any(f"#{numbers[0]} 已改为「处理中」" in p for p in posts)
    [digest] = [p for p in posts if "今日新增" in p]
    assert all(f"#{n}" in digest for n in numbers)  # every urgent one is listed, with its masked excerpt
    for post in posts:
        assert leaks(post) == [], post
    # masked, not dropped: staff still see that a number was given, and the building
    assert "137****5678" in "".join(alerts) and "3号楼2单元***号" in "".join(alerts)
    assert "139****5678" in digest or "一三九****五六七八" in digest


async def test_the_printed_digest_carries_no_personal_number(req_bot: LiveBot, clock: FixedClock) -> None:
    for text in FINDINGS:
        await req_bot.client.say("g-res-3", "r-sun", text)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "digest", "--community", "xingfuli", "--date", "2026-11-25",
        "--database-url", req_bot.linli.settings.database_url, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "紧急" in text and "燃气味" in text
    assert leaks(text) == [], text


async def test_staff_see_the_number_where_they_need_it(req_bot: LiveBot) -> None:
    sim = req_bot.client
    body = await sim.say("g-res-3", "r-sun", "11号楼3单元602 燃气味 电话+8613712345678 身份证110101 19900307 7777")
    number = number_in([r["text"] for r in body["replies"] if r["target"] == "g-res-3"][0])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{sim.base_url}/staff/login", allow_redirects=False,
                             data={"login": "staff-wang", "password": "linli-demo", "next": "/staff"}) as resp:
            assert resp.status == 302
        async with http.get(f"{sim.base_url}/staff/requests/{number}") as resp:
            assert resp.status == 200
            page = await resp.text()
    assert "+8613712345678" in page and "110101 19900307 7777" in page and "602" in page


async def test_the_volunteers_private_notice_still_has_the_address(live_bot: LiveBot) -> None:
    """The repair team goes to the door: its private booking notice names the room, the group's reply does not."""
    body = await live_bot.client.say("g-res-1", "r-zhang", "我家热水壶坏了，周六上午能修不")
    group = [r["text"] for r in body["replies"] if r["to"] == "group"]
    private = [r["text"] for r in body["replies"] if r["to"] == "user" and r["target"] == "v-he"]
    assert group and all("501" not in t for t in group)
    assert private and "3号楼2单元501" in private[0]
