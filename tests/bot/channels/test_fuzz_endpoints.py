"""Fuzzing every endpoint with structure-aware requests (tests/fuzzing.py): whatever arrives, the
answer is not a 5xx, and the bot still works afterwards. CI runs a share of it on every run (a few
hundred cases, new ones each run); bench/faults/fuzz.py runs 100,000 (BENCHMARKS.md)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from config.community import Directory
from core.clock import FixedClock
from storage.models import InboxMessage
from tests.bot.channels.conftest import channel_bot, wired_directory
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot
from tests.fuzzing import Case, Driver, Sealer, StaffSession, all_cases
from tests.handlers.requests_support import keyword_understand

CASES = int(os.environ.get("LINLI_FUZZ_CASES", "400"))  # ≈ 20 s on a quiet machine; more by hand


@pytest.fixture
async def fuzz_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    """Every channel mounted (WeCom app, AI bot, Official Account in safe mode), the simulator and the staff web."""
    async with channel_bot(sqlite_url, clock, fake_api, monkeypatch, understand=keyword_understand,
                           directory=wired_directory(demo_directory)) as bot:
        yield bot


async def staff_session(bot: LiveBot) -> StaffSession:
    """A logged-in staff member with a request to look at (#1) and the session's CSRF token."""
    body = await bot.client.say("g-res-1", "r-zhang", "3号楼2单元楼道灯又不亮了")
    number = int(re.search(r"#(\d+)", " ".join(r["text"] for r in body["replies"])).group(1))  # type: ignore[union-attr]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{bot.client.base_url}/staff/login", allow_redirects=False,
                             data={"login": "staff-li", "password": "linli-demo"}) as resp:
            assert resp.status == 302
            cookie = resp.cookies["linli_staff"].value
        async with http.get(f"{bot.client.base_url}/staff/requests/{number}") as resp:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
    assert csrf is not None
    return StaffSession(f"linli_staff={cookie}", csrf.group(1), number)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # large reprs of large bodies
async def test_no_request_to_any_endpoint_gets_a_5xx(fuzz_bot: LiveBot, clock: FixedClock) -> None:
    staff = await staff_session(fuzz_bot)
    host, port = "127.0.0.1", int(fuzz_bot.client.base_url.rsplit(":", 1)[1])
    sealer = Sealer(now=lambda: clock.now().timestamp())  # WeChat signs with the bot's "now"
    driver = Driver(host, port, sealer)

    @settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=all_cases(sealer, staff))
    def fuzz(case: Case) -> None:
        driver.send(case)

    try:
        await asyncio.to_thread(fuzz)
    finally:
        driver.close()
    statuses, kinds = driver.statuses, driver.kinds
    # The run reached every part: accepted messages and callbacks, refusals, the staff pages.
    assert statuses[200] and statuses[400] and statuses[403], statuses
    assert any(k.endswith("sealed") for k in kinds) and any(k.startswith("staff") for k in kinds), kinds
    # And the bot still works: a message is answered, a callback stored, the session still open.
    assert (await fuzz_bot.client.say("g-res-1", "r-zhang", "今天有什么活动"))["replies"]
    async with aiohttp.ClientSession() as http, http.get(
            f"{fuzz_bot.client.base_url}/staff", headers={"Cookie": staff.cookie}, allow_redirects=False) as resp:
        assert resp.status == 200
    await fuzz_bot.linli.pipeline.drain_background()
    async with fuzz_bot.linli.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) > 2
