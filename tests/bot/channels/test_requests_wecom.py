"""Issue 16 through the WeChat callbacks, as each side sees it on the fake WeCom / Official Account API: a
resident reporting in a group through the AI bot, staff and grid workers and the street office through
the WeCom app, volunteers calling a resident back, a resident on the Official Account answering 回访."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from config.community import Directory
from core.clock import FixedClock
from storage.models_requests import Request, RequestReporter
from tests.bot.channels.conftest import (
    STAFF_LI_USERID,
    ZHANG_OPENID,
    WeChatSide,
    aibot_text,
    channel_settings,
    wired_directory,
)
from tests.bot.channels.fake_wechat import Delivered, FakeWeChatApi
from tests.conftest import LiveBot, start_live_bot
from tests.handlers.requests_support import keyword_understand, migrated
from tests.handlers.test_request_deadlines import run_job
from tests.handlers.test_requests import number_in

STAFF_CHAT, STREET_CHAT, VOL_CHAT = "staffchat", "streetchat", "volchat"


def on_wecom(directory: Directory) -> Directory:
    """The wired demo community with its staff, street and volunteer groups as WeCom app chats."""
    wired = wired_directory(directory)
    chats = {"g-staff": STAFF_CHAT, "g-street": STREET_CHAT, "g-vol": VOL_CHAT}
    communities = [c.model_copy(update={"groups": [
        g.model_copy(update={"channel": "wecom", "appchat_id": chats[g.id]}) if g.id in chats else g
        for g in c.groups]}) for c in wired.communities]
    return Directory(communities, source=directory.source)


@pytest.fixture
async def bot(db_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    await migrated(db_url)
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_1", "robot-key-res-1")
    live, close = await start_live_bot(channel_settings(db_url, fake_api), clock, understand=keyword_understand,
                                       directory=on_wecom(demo_directory))
    try:
        yield live
    finally:
        await close()


class Sides:
    """Who says what through which callback, and what the fake API delivered since."""

    def __init__(self, bot: LiveBot, api: FakeWeChatApi) -> None:
        self.bot, self.api, self.wechat = bot, api, WeChatSide(bot)
        self._ids = 9000
        self._seen = 0

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    async def new(self) -> list[Delivered]:
        """What was delivered since the last call, once the bot is quiet."""
        await self.bot.linli.pipeline.drain_background()
        for _ in range(100):
            self.bot.linli.drainer.wake()
            await asyncio.sleep(0.03)
            await self.bot.linli.pipeline.drain_background()
            if await self._outbox_idle():
                break
        fresh = self.api.delivered[self._seen:]
        self._seen = len(self.api.delivered)
        return fresh

    async def _outbox_idle(self) -> bool:
        from storage.models import OutboxMessage

        async with self.bot.linli.db.transaction() as session:
            return not (await session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending"))
                        ).first()

    async def resident_in_group(self, userid: str, text: str) -> list[Delivered]:
        msg = f"aib-{self._next()}"
        assert await self.wechat.aibot(aibot_text(msg, userid, f"@社区小助手 {text}",
                                                  response_url=self.api.response_url(msg))) == (200, "")
        return await self.new()

    async def app(self, userid: str, text: str) -> list[Delivered]:
        assert await self.wechat.app_text(userid, text, msg_id=self._next()) == (200, "")
        return await self.new()

    async def mp(self, text: str) -> list[Delivered]:
        now = int(self.bot.linli.clock.now().timestamp())
        status, _ = await self.wechat.mp_text(ZHANG_OPENID, text, msg_id=self._next(), create_time=now)
        assert status == 200
        return await self.new()


@pytest.fixture
def sides(bot: LiveBot, fake_api: FakeWeChatApi) -> Sides:
    return Sides(bot, fake_api)


def to(delivered: list[Delivered], kind: str, target: str) -> list[str]:
    return [d.content for d in delivered if d.kind == kind and d.to == target]


async def test_wecom_urgent_report_alerts_staff_and_every_step_reaches_resident_staff_and_street(
        sides: Sides, clock: FixedClock) -> None:
    got = await sides.resident_in_group("r-zhang", "3号楼电梯里有人被困出不来了 快来人")
    [ack] = [d.content for d in got if d.kind == "aibot"]
    number = number_in(ack)
    [alert] = to(got, "appchat", STAFF_CHAT)
    assert f"#{number}" in alert and "紧急" in alert
    # a grid worker takes it through the WeCom app; the resident hears of it privately through the app
    got = await sides.app("staff-wang", f"#{number} 处理中")
    assert "「处理中」" in to(got, "app", "staff-wang")[0]
    assert f"#{number}" in to(got, "app", "r-zhang")[0]
    got = await sides.app(STAFF_LI_USERID, f"#{number} 上报街道")
    assert "街道" in to(got, "app", STAFF_LI_USERID)[0]
    [street_group] = to(got, "appchat", STREET_CHAT)
    assert f"#{number}" in street_group and "处理经过" in street_group
    assert f"#{number}" in to(got, "app", "street-chen")[0]
    assert "城关街道办事处" in to(got, "app", "r-zhang")[0]
    # the street office answers from the app; the resident is told
    got = await sides.app("street-chen", f"#{number} 已解决 电梯公司已放人并检修")
    assert "电梯公司已放人并检修" in to(got, "app", "r-zhang")[0]


async def test_wecom_grid_worker_gets_assigned_work_and_lists_it(sides: Sides) -> None:
    got = await sides.resident_in_group("r-zhang", "3号楼2单元楼道灯坏了")
    number = number_in([d.content for d in got if d.kind == "aibot"][0])
    got = await sides.app(STAFF_LI_USERID, f"#{number} 指派 王网格员")
    [note] = to(got, "app", "staff-wang")
    assert f"#{number}" in note and "张秀兰" in note and "13800000101" in note
    got = await sides.app("staff-wang", "我的工单")
    assert f"#{number}" in to(got, "app", "staff-wang")[0]
    got = await sides.app("staff-wang", f"#{number} 随便")
    assert "工单指令" in to(got, "app", "staff-wang")[0]


async def test_wecom_volunteer_calls_back_an_official_account_resident_who_answers_followup(
        bot: LiveBot, sides: Sides, clock: FixedClock) -> None:
    got = await sides.mp("低保的申请条件是啥 我家情况比较困难")
    number = number_in(to(got, "custom", ZHANG_OPENID)[0])
    for volunteer in ("v-xu", "v-lin"):
        assert "13800000101" in to(got, "app", volunteer)[0]  # the number to call, privately
    got = await sides.app("v-lin", f"#{number} 回复 带户口本和收入证明到社区一楼大厅办理")
    assert "收入证明" in to(got, "custom", ZHANG_OPENID)[0]
    got = await sides.app("v-lin", f"#{number} 已解答 已电话说明")
    assert "「已解决」" in to(got, "app", "v-lin")[0]
    assert "已电话说明" in to(got, "custom", ZHANG_OPENID)[0]
    await sides.mp("好的 谢谢")  # the resident writes again: the 48 h customer-service window is open
    clock.advance(hours=25)
    await run_job(bot, "followup")
    asked = to(await sides.new(), "custom", ZHANG_OPENID)
    assert len(asked) == 1 and "真的解决了吗" in asked[0]
    got = await sides.mp("满意")
    assert "5 分" in to(got, "custom", ZHANG_OPENID)[0]
    async with bot.linli.db.transaction() as session:
        mark = await session.scalar(select(RequestReporter.satisfaction).where(RequestReporter.request_id == number))
        req = await session.get(Request, number)
    assert mark == 5 and req is not None and req.status == "resolved"


async def test_wecom_a_group_reporter_answers_followup_privately_in_the_app_and_it_reopens(
        bot: LiveBot, sides: Sides, clock: FixedClock) -> None:
    got = await sides.resident_in_group("r-zhang", "3号楼2单元门禁坏了")
    number = number_in([d.content for d in got if d.kind == "aibot"][0])
    await sides.app(STAFF_LI_USERID, f"#{number} 指派 王网格员")
    got = await sides.app("staff-wang", f"#{number} 已解决 换了门禁电源")
    assert "换了门禁电源" in to(got, "app", "r-zhang")[0]
    clock.advance(hours=25)
    await run_job(bot, "followup")
    assert "真的解决了吗" in to(await sides.new(), "app", "r-zhang")[0]  # privately, through the app
    got = await sides.app("r-zhang", "没修好 门还是关不上")
    assert "重新打开" in to(got, "app", "r-zhang")[0]
    assert f"#{number}" in to(got, "app", "staff-wang")[0]  # the owner is told
    async with bot.linli.db.transaction() as session:
        assert (await session.get(Request, number)).status == "in_progress"  # type: ignore[union-attr]
