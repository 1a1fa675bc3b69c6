"""Full round trips with the real classifier and handlers: encrypted callback → booking → notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.community import Directory
from core.clock import FixedClock
from tests.bot.channels.conftest import ROBOT_KEY_RES_1, WeChatSide, aibot_text, channel_settings, wired_directory
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot, start_live_bot


@pytest.fixture
async def real_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_1", ROBOT_KEY_RES_1)
    bot, close = await start_live_bot(channel_settings(sqlite_url, fake_api), clock,
                                      directory=wired_directory(demo_directory))
    try:
        yield bot
    finally:
        await close()


async def test_a_resident_books_a_haircut_in_the_group_and_the_volunteers_are_told(
        real_bot: LiveBot, fake_api: FakeWeChatApi) -> None:
    wechat = WeChatSide(real_bot)
    payload = aibot_text("aib-book-1", "wangwu", "@社区小助手 周六上午想理发",
                         response_url=fake_api.response_url("book-1"))
    assert await wechat.aibot(payload) == (200, "")
    delivered = await fake_api.wait_for(3)
    by_kind = {(d.kind, d.to): d.content for d in delivered}
    assert set(by_kind) == {("aibot", "book-1"), ("app", "v-he"), ("app", "v-xu")}  # team 匠心便民服务队
    confirmation = by_kind[("aibot", "book-1")]
    assert "预约成功" in confirmation and "11月28日" in confirmation
    code = confirmation.split("预约码：")[1][:6]
    assert code in by_kind[("app", "v-he")] and "义剪理发" in by_kind[("app", "v-he")]


async def test_today_question_from_an_official_account_follower(real_bot: LiveBot, fake_api: FakeWeChatApi,
                                                               clock: FixedClock) -> None:
    wechat = WeChatSide(real_bot)
    now = int(clock.now().timestamp())
    assert await wechat.mp_text("o-new-follower", "今天有什么活动", 42, now) == (200, "success")
    [delivered] = await fake_api.wait_for(1)
    assert (delivered.kind, delivered.to) == ("custom", "o-new-follower")
    assert "政策宣讲日" in delivered.content
