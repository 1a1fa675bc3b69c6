"""Shared by the photo and location tests (imported, not a conftest): images, the WeChat messages that
carry them, a live bot wired to the fake WeChat API on SQLite and PostgreSQL, and waiting for the
background fetch."""

from __future__ import annotations

import asyncio
import base64
import io
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from PIL import Image
from sqlalchemy import select

from config.community import Directory
from core.clock import FixedClock
from storage.models import InboxMessage, OutboxMessage
from storage.models_attachments import AttachmentFile, RequestAttachment
from storage.models_requests import Request
from tests.bot.channels.conftest import (
    AES_KEY,
    AGENT_ID,
    AIBOT_CHAT_RES_1,
    CORP_ID,
    ROBOT_KEY_RES_1,
    channel_settings,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot, start_live_bot
from tests.handlers.requests_support import keyword_understand, migrated


def jpeg(width: int = 640, height: int = 480, *, noise: bool = False) -> bytes:
    """A real JPEG; with noise it barely compresses (≈ width × height bytes)."""
    if noise:
        picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        picture = Image.new("RGB", (width, height), (70, 130, 180))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (255, 0, 0, 128)).save(out, "PNG")
    return out.getvalue()


def aibot_sealed(data: bytes, encoding_aes_key: str = AES_KEY) -> bytes:
    """What the AI bot's image URL serves: AES-256-CBC with the bot's key, PKCS#7 to 32 bytes."""
    key = base64.b64decode(encoding_aes_key + "=")
    pad = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


def app_image_xml(userid: str, msg_id: int, media_id: str | None, pic_url: str | None = None,
                  create_time: int = 1764036000) -> str:
    media = f"<MediaId><![CDATA[{media_id}]]></MediaId>" if media_id is not None else ""
    pic = f"<PicUrl><![CDATA[{pic_url}]]></PicUrl>" if pic_url is not None else ""
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>{pic}{media}"
            f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


def app_location_xml(userid: str, msg_id: int, latitude: object, longitude: object, label: str,
                     create_time: int = 1764036000) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
            f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>15</Scale>"
            f"<Label><![CDATA[{label}]]></Label><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


def mp_image_xml(openid: str, msg_id: int, media_id: str, create_time: int,
                 pic_url: str = "http://mmbiz.qpic.cn/x") -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[{pic_url}]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def mp_location_xml(openid: str, msg_id: int, latitude: float, longitude: float, label: str,
                    create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
            f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y><Scale>20</Scale>"
            f"<Label><![CDATA[{label}]]></Label><MsgId>{msg_id}</MsgId></xml>")


def aibot_mixed(msg_id: str, userid: str, text: str | None, image_urls: list[str], *,
                response_url: str | None = None, chat_id: str = AIBOT_CHAT_RES_1) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"msgtype": "text", "text": {"content": text}}] if text is not None else []
    items += [{"msgtype": "image", "image": {"url": url}} for url in image_urls]
    payload: dict[str, Any] = {"msgid": msg_id, "aibotid": "aib-test", "chattype": "group", "chatid": chat_id,
                               "from": {"userid": userid}, "msgtype": "mixed", "mixed": {"msg_item": items}}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


@pytest.fixture
async def media_bot(db_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                    monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    """The real bot on 127.0.0.1 with the WeChat callbacks, the fake API serving media, the keyword
    classifier of the requests tests; on a SQLite file and on PostgreSQL."""
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_1", ROBOT_KEY_RES_1)
    await migrated(db_url)
    bot, close = await start_live_bot(channel_settings(db_url, fake_api), clock, understand=keyword_understand,
                                      directory=wired_directory(demo_directory))
    try:
        yield bot
    finally:
        await close()


async def settled(bot: LiveBot, *, within: float = 15.0) -> None:
    """Waits until every stored message is handled, every image due is fetched and every answer
    due is delivered (images waiting for a retry stay pending)."""
    linli = bot.linli
    assert linli.media is not None
    async with asyncio.timeout(within):
        while True:
            await linli.pipeline.drain_background()
            now = linli.clock.now()
            async with linli.db.transaction() as session:
                fetching = (await session.scalars(select(RequestAttachment.id).where(
                    RequestAttachment.status == "pending", RequestAttachment.next_attempt_at <= now))).all()
                sending = (await session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now))).all()
                unhandled = (await session.scalars(select(InboxMessage.id).where(InboxMessage.status == "new"))).all()
            if not fetching and not sending and not unhandled and not linli.media.fetching:
                return
            linli.media.wake()
            linli.drainer.wake()
            await asyncio.sleep(0.05)


async def attachment_rows(bot: LiveBot) -> list[RequestAttachment]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(RequestAttachment).order_by(RequestAttachment.id))).all())


async def stored_bytes(bot: LiveBot, attachment_id: int) -> AttachmentFile | None:
    async with bot.linli.db.transaction() as session:
        return await session.get(AttachmentFile, attachment_id)


async def requests_filed(bot: LiveBot) -> list[Request]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(Request).order_by(Request.id))).all())


async def answers_to(bot: LiveBot, target: str) -> list[str]:
    """Texts the bot sent (or queued) to a person or a group, in order."""
    async with bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.target == target)
                                      .order_by(OutboxMessage.id))).all()
    return [r.text for r in rows]
