"""Staff commands work however they arrive: with or without an @-mention in front, through every
channel (the simulator's staff group, the WeCom app, the WeCom AI bot in a group and one-to-one,
the Official Account). Before, "@社区小助手 #1 处理中" through the AI bot was taken as chit-chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from config.community import Directory
from core.clock import FixedClock
from handlers.base import command_text
from storage.models import InboxMessage
from storage.models_requests import Request
from tests.bot.channels.conftest import (
    STAFF_LI_USERID,
    WeChatSide,
    aibot_text,
    channel_bot,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot
from tests.handlers.requests_support import keyword_understand

AIBOT_CHAT_STAFF = "wrkSFfCgAAstaff"
WANG_OPENID = "o-staff-wang-openid"


def staff_everywhere(directory: Directory) -> Directory:
    """The wired demo community, plus the staff group on the AI bot and staff-wang on the Official Account."""
    wired = wired_directory(directory)
    communities = []
    for c in wired.communities:
        groups = [g.model_copy(update={"wecom_chat_id": AIBOT_CHAT_STAFF}) if g.id == "g-staff" else g
                  for g in c.groups]
        people = [p.model_copy(update={"mp_openid": WANG_OPENID}) if p.id == "staff-wang" else p for p in c.people]
        communities.append(c.model_copy(update={"groups": groups, "people": people}))
    return Directory(communities, source=wired.source)


@pytest.fixture
async def staff_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    async with channel_bot(sqlite_url, clock, fake_api, monkeypatch, understand=keyword_understand,
                           directory=staff_everywhere(demo_directory)) as bot:
        yield bot


@pytest.mark.parametrize(("text", "expected"), [
    ("#1 处理中", "#1 处理中"),
    ("@社区小助手 #1 处理中", "#1 处理中"),
    ("@社区小助手\u2005#1 处理中", "#1 处理中"),  # WeChat's own space after a mention
    ("＠社区小助手 #1 处理中", "#1 处理中"),  # typed full-width
    ("@社区小助手#1 处理中", "#1 处理中"),  # no space after the bot's name
    ("@邻里助手 #1 处理中", "#1 处理中"),  # the AI bot under another display name
    ("#1 已解决 @社区小助手", "#1 已解决"),
    ("#1 已解决 找了@张师傅 换灯", "#1 已解决 找了@张师傅 换灯"),  # a mention inside the note stays
])
def test_the_command_text_loses_only_the_mentions_it_arrived_with(text: str, expected: str) -> None:
    assert command_text(text, ("社区小助手",)) == expected


async def _handler_of(bot: LiveBot, channel: str, msg_id: str) -> str | None:
    await bot.linli.pipeline.drain_background()
    async with bot.linli.db.transaction() as session:
        row = await session.scalar(select(InboxMessage).where(InboxMessage.channel == channel,
                                                              InboxMessage.msg_id == msg_id))
    assert row is not None, (channel, msg_id)
    return row.handler


async def _status(bot: LiveBot) -> str:
    async with bot.linli.db.transaction() as session:
        return (await session.get(Request, 1, populate_existing=True)).status  # type: ignore[union-attr]


async def test_staff_commands_with_and_without_a_mention_through_every_channel(
        staff_bot: LiveBot, clock: FixedClock) -> None:
    wechat = WeChatSide(staff_bot)
    body = await staff_bot.client.say("g-res-1", "r-zhang", "3号楼2单元楼道灯又不亮了")
    assert any("#1" in r["text"] for r in body["replies"])
    now = int(clock.now().timestamp())
    steps: list[tuple[str, str, object]] = []  # (channel, msg_id, how it was sent)

    for n, mention in enumerate(("", "@社区小助手 ")):
        # The simulator's staff group.
        said = await staff_bot.client.say("g-staff", "staff-wang", f"{mention}#1 收到", msg_id=f"sim-{n}")
        assert said["replies"], mention
        steps.append(("sim", f"sim-{n}", "simulator"))
        # The WeCom app, one-to-one with the bot.
        assert await wechat.app_text(STAFF_LI_USERID, f"{mention}#1 处理中", 900 + n, now) == (200, "")
        steps.append(("wecom", str(900 + n), "wecom app"))
        # The WeCom AI bot: in the staff group, and one-to-one.
        assert await wechat.aibot(aibot_text(f"aib-g-{n}", STAFF_LI_USERID, f"{mention}#1 处理中",
                                             chat_id=AIBOT_CHAT_STAFF)) == (200, "")
        steps.append(("wecom_aibot", f"aib-g-{n}", "AI bot group"))
        assert await wechat.aibot(aibot_text(f"aib-s-{n}", STAFF_LI_USERID, f"{mention}#1 处理中",
                                             chattype="single")) == (200, "")
        steps.append(("wecom_aibot", f"aib-s-{n}", "AI bot single"))
        # The Official Account.
        assert await wechat.mp_text(WANG_OPENID, f"{mention}#1 处理中", 700 + n, now) == (200, "success")
        steps.append(("mp", str(700 + n), "official account"))

    handled = {(how, msg_id): await _handler_of(staff_bot, channel, msg_id) for channel, msg_id, how in steps}
    assert set(handled.values()) == {"request_commands"}, handled
    assert await _status(staff_bot) == "in_progress"
