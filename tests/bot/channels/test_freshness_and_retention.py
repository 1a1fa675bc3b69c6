"""Callbacks outside the freshness window are refused, and inbox rows are pruned after the retention
period, which is far longer than the window (issue 17 item 7): the database does not grow forever,
and a replay is refused at every age, by the timestamp check when it is older than the window, by
the inbox key when it is younger (its row is still there)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.retention import Retention
from config.community import Directory
from config.settings import Settings
from core.clock import FixedClock
from core.message import Message
from storage.db import Database
from storage.models import InboxMessage, OutboxMessage
from storage.models_channels import AibotReplyUrl, ChannelEvent
from storage.retention import prune
from tests.bot.channels.conftest import (
    MP_TOKEN,
    STAFF_LI_USERID,
    WeChatSide,
    aibot_text,
    app_text_xml,
    channel_bot,
    mp_text_xml,
    sha1_signature,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import REFERENCE_NOW, LiveBot
from tests.handlers.requests_support import migrated

WINDOW = 300  # seconds: the default LINLI_CALLBACK_MAX_AGE_SECONDS


@pytest.fixture
async def bot_any_db(db_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                     monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    await migrated(db_url)
    async with channel_bot(db_url, clock, fake_api, monkeypatch, directory=wired_directory(demo_directory)) as bot:
        yield bot


def _signed(wechat: WeChatSide, channel: str, n: int) -> tuple[str, dict[str, str], bytes]:
    """A callback signed now (the bot's clock), as WeChat would send it."""
    now = int(wechat.clock.now().timestamp())
    if channel == "wecom app":
        return "/wecom/callback", *wechat.app_envelope(app_text_xml(STAFF_LI_USERID, "收到", 60_000 + n, now))
    if channel == "ai bot":
        return "/wecom/aibot/callback", *wechat.aibot_envelope(aibot_text(f"fresh-{n}", "wangwu", "@社区小助手 在吗"))
    return "/mp/callback", *wechat.mp_envelope(mp_text_xml("o-fresh", "在吗", 70_000 + n, now))


@pytest.mark.parametrize("channel", ["wecom app", "ai bot", "official account"])
async def test_signed_callbacks_outside_the_window_are_refused(wechat_bot: LiveBot, wechat: WeChatSide,
                                                               clock: FixedClock, channel: str) -> None:
    for n, (offset, expected) in enumerate([(-WINDOW - 1, 403), (WINDOW + 1, 403), (-WINDOW + 5, 200),
                                            (WINDOW - 5, 200)]):
        clock.set(REFERENCE_NOW + dt.timedelta(seconds=offset))  # WeChat's clock when it signed
        path, query, body = _signed(wechat, channel, n)
        clock.set(REFERENCE_NOW)  # ours when it arrives
        status, text = await wechat.request("POST", path, query, body)
        assert status == expected, (channel, offset, status, text)
        if expected == 403:
            assert "stale timestamp" in text


async def test_a_stale_plain_official_account_post_is_refused(sqlite_url: str, clock: FixedClock,
                                                              fake_api: FakeWeChatApi,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async with channel_bot(sqlite_url, clock, fake_api, monkeypatch, mp_aes_key=None,
                           callback_max_age_seconds=60) as bot:
        side = WeChatSide(bot)
        old = str(int(clock.now().timestamp()) - 61)
        query = {"signature": sha1_signature(MP_TOKEN, old, "5"), "timestamp": old, "nonce": "5"}
        status, text = await side.request("POST", "/mp/callback", query,
                                          mp_text_xml("o-x", "hi", 5, int(clock.now().timestamp())).encode())
        assert status == 403 and "at most 60 s" in text  # the window is the setting's


async def _rows(bot: LiveBot) -> list[InboxMessage]:
    await bot.linli.pipeline.drain_background()
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(InboxMessage))).all())


async def test_a_replay_is_refused_at_every_age_while_old_rows_are_pruned(bot_any_db: LiveBot,
                                                                          clock: FixedClock) -> None:
    wechat = WeChatSide(bot_any_db)
    path, query, body = _signed(wechat, "wecom app", 1)
    assert (await wechat.request("POST", path, query, body))[0] == 200
    first = await _rows(bot_any_db)
    assert len(first) == 1 and first[0].status == "done"

    clock.advance(seconds=WINDOW - 10)  # a young replay: inside the window, stopped by the inbox key
    assert (await wechat.request("POST", path, query, body))[0] == 200
    assert [r.id for r in await _rows(bot_any_db)] == [first[0].id]  # stored and handled once

    # The inbox stamps rows with the wall clock; in this test's timeline the message arrived at
    # REFERENCE_NOW, when the bot's clock said so.
    async with bot_any_db.linli.db.transaction() as session:
        await session.execute(InboxMessage.__table__.update().values(received_at=REFERENCE_NOW))
    keep = dt.timedelta(days=bot_any_db.linli.settings.inbox_retention_days)
    retention = Retention(bot_any_db.linli.db, clock, keep)
    clock.advance(days=29)
    assert (await retention.prune_once()).inbox == 0  # not old enough yet
    clock.advance(days=1, hours=1)
    assert (await retention.prune_once()).inbox == 1
    assert await _rows(bot_any_db) == []
    status, text = await wechat.request("POST", path, query, body)  # its row is gone: the timestamp stops it
    assert status == 403 and "stale timestamp" in text
    assert await _rows(bot_any_db) == []


def _message(i: int, at: dt.datetime) -> Message:
    return Message(channel="sim", community="xingfuli", group_id="g-res-1", sender_id="r-zhang", sender_name="张",
                   text="你好", msg_id=f"old-{i}", sent_at=at)


async def test_pruning_keeps_unhandled_rows_unlinks_answers_and_runs_in_two_processes(db: Database) -> None:
    from bot.inbox import InboxWriter

    old, now = REFERENCE_NOW - dt.timedelta(days=40), REFERENCE_NOW
    inbox = InboxWriter(db)
    try:
        stored = await asyncio.gather(*(inbox.store(_message(i, old)) for i in range(1200)))
    finally:
        await inbox.stop()
    ids = [s.inbox_id for s in stored]
    async with db.transaction() as session:
        await session.execute(InboxMessage.__table__.update().values(received_at=old, status="done"))
        await session.execute(InboxMessage.__table__.update().where(InboxMessage.id == ids[0]).values(status="new"))
        session.add(OutboxMessage(channel="sim", community="xingfuli", audience="group", target="g-res-1",
                                  text="答复", reply_to=ids[1], status="sent"))
        session.add(ChannelEvent(channel="wecom", event_key="u:1:subscribe", received_at=old))
        session.add(ChannelEvent(channel="wecom", event_key="u:2:subscribe", received_at=now))
        session.add(AibotReplyUrl(msg_id="aib-old", response_url="https://x", expires_at=old))
    other = Database(db.url)  # a second process's connection pool
    try:
        done = await asyncio.gather(prune(db, before=now - dt.timedelta(days=30), batch=100),
                                    prune(other, before=now - dt.timedelta(days=30), batch=100))
    finally:
        await other.dispose()
    assert sum(p.inbox for p in done) == 1199 and sum(p.events for p in done) == 1
    assert sum(p.reply_urls for p in done) == 1
    async with db.transaction() as session:
        assert list((await session.scalars(select(InboxMessage.id))).all()) == [ids[0]]  # still to handle
        answer = await session.scalar(select(OutboxMessage))
        assert answer is not None and answer.reply_to is None and answer.text == "答复"
        assert await session.scalar(select(func.count()).select_from(ChannelEvent)) == 1


def test_the_retention_must_outlast_the_freshness_window() -> None:
    with pytest.raises(ValidationError, match="far longer"):
        Settings(inbox_retention_days=0.005, callback_max_age_seconds=300)
    assert Settings().inbox_retention_days * 86400 > 100 * Settings().callback_max_age_seconds
