"""One bad message never fails another (issue 17 item 2). The attack run sent 40 concurrent Official
Account callbacks on PostgreSQL, one with a MsgId over 128 characters: 35 of the 40 answered 503
(`value too long for type character varying(128)`), because the inbox writes concurrent messages
in one batch. Now every channel checks lengths before the inbox, and a row the database still
refuses (a NUL character, which PostgreSQL's text cannot hold) is written alone, in a savepoint:
its callback gets 400, logged once, and every other message of the batch is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.inbox import InboxWriter, Unstorable
from config.community import Directory
from core.clock import FixedClock
from core.message import Message
from storage.db import Database
from storage.models import InboxMessage, Member
from tests.bot.channels.conftest import (
    STAFF_LI_USERID,
    WeChatSide,
    channel_bot,
    mp_text_xml,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import REFERENCE_NOW, LiveBot
from tests.handlers.requests_support import migrated

N = 40
BAD = 17  # the bad one goes out in the middle of the others


@pytest.fixture
async def pg_wechat_bot(postgres_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                        monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    await migrated(postgres_url)
    async with channel_bot(postgres_url, clock, fake_api, monkeypatch,
                           directory=wired_directory(demo_directory)) as bot:
        yield bot


async def _count(bot: LiveBot, channel: str) -> int:
    await bot.linli.pipeline.drain_background()
    async with bot.linli.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxMessage)
                                        .where(InboxMessage.channel == channel)) or 0)


def _mentions(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [f"{r.levelname} {r.name}: {r.getMessage()[:160]}" for r in caplog.records if needle in r.getMessage()]


async def test_official_account_callbacks_with_one_overlong_msgid(pg_wechat_bot: LiveBot, clock: FixedClock,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    wechat = WeChatSide(pg_wechat_bot)
    now = int(clock.now().timestamp())
    long_id = "9" * 200

    async def one(i: int) -> tuple[int, str]:
        xml = mp_text_xml(f"o-follower-{i}", "今天有什么活动", 5_000 + i, now)
        if i == BAD:
            xml = xml.replace(f"<MsgId>{5_000 + i}</MsgId>", f"<MsgId>{long_id}</MsgId>")
        query, body = wechat.mp_envelope(xml)
        return await wechat.request("POST", "/mp/callback", query, body)

    answers = await asyncio.gather(*(one(i) for i in range(N)))
    assert [s for s, _ in answers].count(200) == N - 1, answers
    assert answers[BAD][0] == 400
    assert await _count(pg_wechat_bot, "mp") == N - 1
    assert len(_mentions(caplog, "rejected with 400: missing field MsgId")) == 1


async def test_wecom_callbacks_with_one_row_the_database_refuses(pg_wechat_bot: LiveBot, clock: FixedClock,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A known sender's messages take the inbox's lean path (one INSERT … unnest per batch on asyncpg)."""
    wechat = WeChatSide(pg_wechat_bot)
    now = int(clock.now().timestamp())

    async def one(i: int) -> tuple[int, str]:
        return await wechat.app_text(STAFF_LI_USERID, "收到\x00" if i == BAD else f"收到 {i}", 8_000 + i, now)

    answers = await asyncio.gather(*(one(i) for i in range(N)))
    assert [s for s, _ in answers].count(200) == N - 1, answers
    assert answers[BAD][0] == 400
    assert await _count(pg_wechat_bot, "wecom") == N - 1
    logged = _mentions(caplog, f"'{8_000 + BAD}'")
    assert len(logged) == 1 and "refused by the database" in logged[0], logged


async def test_simulator_messages_with_one_row_the_database_refuses(pg_wechat_bot: LiveBot) -> None:
    """The simulator's messages carry work of their own (the chat timeline) into the inbox's transaction."""
    async def one(i: int) -> tuple[int, dict]:  # type: ignore[type-arg]
        text = "大家好\x00" if i == BAD else f"大家好 {i}"
        return await pg_wechat_bot.client.post({"group": "g-res-1", "user": f"guest-{i}", "text": text})

    answers = await asyncio.gather(*(one(i) for i in range(N)))
    assert [s for s, _ in answers].count(200) == N - 1, answers
    assert answers[BAD][0] == 400
    assert await _count(pg_wechat_bot, "sim") == N - 1


def _message(i: int) -> Message:
    return Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id=f"guest-{i}",
                   sender_name=f"邻居{i}", text="你好", msg_id=f"iso-{i}", sent_at=REFERENCE_NOW)


async def test_the_inbox_isolates_a_message_whose_own_work_fails(db: Database) -> None:
    """SQLite and PostgreSQL: a failing hook rolls back its own message only; the batch is stored."""
    inbox = InboxWriter(db)

    def joins(i: int):  # type: ignore[no-untyped-def]
        async def on_new(session, inbox_id: int) -> None:  # type: ignore[no-untyped-def]
            if i == BAD:
                raise RuntimeError("this message's own work failed")
            session.add(Member(community="xingfuli", person_id=f"guest-{i}", name=f"邻居{i}", role="resident"))
        return on_new

    try:
        outcomes = await asyncio.gather(*(inbox.store(_message(i), joins(i)) for i in range(N)),
                                        return_exceptions=True)
        too_long = await asyncio.gather(inbox.store(Message(**{**_message(99).__dict__, "msg_id": "x" * 129})),
                                        return_exceptions=True)
    finally:
        await inbox.stop()
    assert isinstance(outcomes[BAD], Unstorable)
    assert all(not isinstance(o, BaseException) and not o.duplicate for i, o in enumerate(outcomes) if i != BAD)
    assert isinstance(too_long[0], Unstorable) and "msg_id" in str(too_long[0])
    async with db.transaction() as session:
        rows = set((await session.scalars(select(InboxMessage.msg_id))).all())
        members = set((await session.scalars(select(Member.person_id))).all())
    assert rows == {f"iso-{i}" for i in range(N) if i != BAD}
    assert members == {f"guest-{i}" for i in range(N) if i != BAD}
