"""Fixtures for the WeChat channels: the fake API server, a bot wired to it, and a WeChat-side client."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import xmltodict
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto as MpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from yarl import URL

from config.community import Directory
from core.clock import FixedClock
from nlp.understanding import Understanding
from storage.models import InboxMessage
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot, make_settings, start_live_bot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"
VECTORS = json.loads((FIXTURES / "vectors.json").read_text(encoding="utf-8"))

# Test credentials (the AES key is wechatpy's own test key; none of these is real).
CORP_ID = "wwlinlitest0001"
AGENT_ID = 1000002
CORP_SECRET = "corp-secret-for-tests"
APP_TOKEN = "apptoken"
AIBOT_TOKEN = "aibottoken"
MP_TOKEN = "mptoken"
MP_APP_ID = "wxlinlitest00001"
MP_SECRET = "mp-secret-for-tests"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
ROBOT_KEY_RES_1 = "robot-key-res-1"
AIBOT_CHAT_RES_1 = "wrkSFfCgAAres1"
STAFF_LI_USERID = "LiShuJi"
ZHANG_OPENID = "o-zhang-openid"


def understand_for_tests(text: str, now: dt.datetime) -> Understanding:
    """Keeps these tests independent of the real classifier: only today's activity is a question."""
    if "活动" in text:
        return Understanding("query:today_activity", 0.9)
    return Understanding("chitchat", 0.5)


def wired_directory(directory: Directory) -> Directory:
    """The demo community with WeChat ids: g-res-1 has an AI bot chat and a robot, g-staff an app chat."""
    communities = []
    for c in directory.communities:
        groups = [
            g.model_copy(update={"wecom_chat_id": AIBOT_CHAT_RES_1}) if g.id == "g-res-1"
            else g.model_copy(update={"appchat_id": "staffchat"}) if g.id == "g-staff" else g
            for g in c.groups
        ]
        people = [
            p.model_copy(update={"wecom_userid": STAFF_LI_USERID}) if p.id == "staff-li"
            else p.model_copy(update={"mp_openid": ZHANG_OPENID}) if p.id == "r-zhang" else p
            for p in c.people
        ]
        communities.append(c.model_copy(update={"groups": groups, "people": people}))
    return Directory(communities, source=directory.source)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeWeChatApi]:
    api = FakeWeChatApi(corp_id=CORP_ID, corp_secret=CORP_SECRET, mp_app_id=MP_APP_ID, mp_secret=MP_SECRET,
                        robot_keys={ROBOT_KEY_RES_1})
    await api.start()
    try:
        yield api
    finally:
        await api.close()


def channel_settings(database_url: str, api: FakeWeChatApi, **overrides: Any):  # type: ignore[no-untyped-def]
    values: dict[str, Any] = dict(
        wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID, wecom_secret=CORP_SECRET, wecom_token=APP_TOKEN,
        wecom_aes_key=AES_KEY, wecom_api_base=api.base_url, wecom_aibot_token=AIBOT_TOKEN,
        wecom_aibot_aes_key=AES_KEY, mp_app_id=MP_APP_ID, mp_secret=MP_SECRET, mp_token=MP_TOKEN,
        mp_aes_key=AES_KEY, mp_api_base=api.base_url, outbox_poll_seconds=0.05, wechat_http_timeout_seconds=1.0,
    )
    values.update(overrides)
    return make_settings(database_url, **values)


@pytest.fixture
async def wechat_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory,
                     monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[LiveBot]:
    """The real bot on 127.0.0.1 with all three WeChat callbacks mounted and the fake API behind it."""
    async with channel_bot(sqlite_url, clock, fake_api, monkeypatch, directory=wired_directory(demo_directory)) as bot:
        yield bot


@contextlib.asynccontextmanager
async def channel_bot(database_url: str, clock: FixedClock, fake_api: FakeWeChatApi, monkeypatch: pytest.MonkeyPatch,
                      *, understand: Any = understand_for_tests, directory: Directory | None = None,
                      **settings: Any) -> AsyncIterator[LiveBot]:
    """A live bot with every WeChat channel (`channel_settings`, with `settings` over them) and the
    fake API behind it; g-res-1's group robot has its key."""
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_1", ROBOT_KEY_RES_1)
    bot, close = await start_live_bot(channel_settings(database_url, fake_api, **settings), clock,
                                      understand=understand, directory=directory)
    try:
        yield bot
    finally:
        await close()


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class WeChatSide:
    """Plays the WeChat servers: encrypts and signs callbacks with wechatpy, posts them to the bot."""

    def __init__(self, bot: LiveBot) -> None:
        self.base = bot.client.base_url
        self.http: aiohttp.ClientSession = bot.client.http
        self.app_crypto = WeComCrypto(APP_TOKEN, AES_KEY, CORP_ID)
        self.aibot_crypto = WeComCrypto(AIBOT_TOKEN, AES_KEY, "")
        self.mp_crypto = MpCrypto(MP_TOKEN, AES_KEY, MP_APP_ID)
        self.clock = bot.linli.clock  # WeChat stamps a callback when it sends it: "now" for the bot
        self._nonce = 1000

    def _next_nonce(self) -> str:
        self._nonce += 1
        return str(self._nonce)

    def timestamp(self) -> str:
        return str(int(self.clock.now().timestamp()))

    async def request(self, method: str, path: str, query: dict[str, str] | str, body: bytes | None = None
                      ) -> tuple[int, str]:
        if isinstance(query, str):  # a raw query string, sent exactly as given
            url = URL(f"{self.base}{path}?{query}", encoded=True)
        else:
            url = URL(f"{self.base}{path}").with_query(query)
        async with self.http.request(method, url, data=body) as resp:
            return resp.status, await resp.text()

    # -- WeCom app ----------------------------------------------------------------------------

    def app_envelope(self, plain_xml: str) -> tuple[dict[str, str], bytes]:
        nonce, timestamp = self._next_nonce(), self.timestamp()
        out = xmltodict.parse(self.app_crypto.encrypt_message(plain_xml, nonce, timestamp))["xml"]
        body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]>"
                f"</Encrypt><AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>")
        return {"msg_signature": out["MsgSignature"], "timestamp": timestamp, "nonce": nonce}, body.encode()

    async def app_text(self, userid: str, content: str, msg_id: int, create_time: int = 1764036000
                       ) -> tuple[int, str]:
        query, body = self.app_envelope(app_text_xml(userid, content, msg_id, create_time))
        return await self.request("POST", "/wecom/callback", query, body)

    # -- AI bot -------------------------------------------------------------------------------

    def aibot_envelope(self, payload: dict[str, Any] | str) -> tuple[dict[str, str], bytes]:
        nonce, timestamp = self._next_nonce(), self.timestamp()
        plain = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        out = xmltodict.parse(self.aibot_crypto.encrypt_message(plain, nonce, timestamp))["xml"]
        query = {"msg_signature": out["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
        return query, json.dumps({"encrypt": out["Encrypt"]}).encode()

    async def aibot(self, payload: dict[str, Any] | str) -> tuple[int, str]:
        query, body = self.aibot_envelope(payload)
        return await self.request("POST", "/wecom/aibot/callback", query, body)

    # -- Official Account ---------------------------------------------------------------------

    def mp_envelope(self, plain_xml: str) -> tuple[dict[str, str], bytes]:
        nonce, timestamp = self._next_nonce(), self.timestamp()
        out = xmltodict.parse(self.mp_crypto.encrypt_message(plain_xml, nonce, timestamp))["xml"]
        query = {"signature": sha1_signature(MP_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                 "openid": "ignored", "encrypt_type": "aes", "msg_signature": out["MsgSignature"]}
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>"
        return query, body.encode()

    async def mp_text(self, openid: str, content: str, msg_id: int, create_time: int) -> tuple[int, str]:
        query, body = self.mp_envelope(mp_text_xml(openid, content, msg_id, create_time))
        return await self.request("POST", "/mp/callback", query, body)


def app_text_xml(userid: str, content: str, msg_id: int, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


def mp_text_xml(openid: str, content: str, msg_id: int, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def aibot_text(msg_id: str, userid: str, content: str, *, chat_id: str = AIBOT_CHAT_RES_1,
               response_url: str | None = None, chattype: str = "group") -> dict[str, Any]:
    payload: dict[str, Any] = {"msgid": msg_id, "aibotid": "aib-test", "chattype": chattype,
                               "from": {"userid": userid}, "msgtype": "text", "text": {"content": content}}
    if chattype == "group":
        payload["chatid"] = chat_id
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


async def inbox_rows(bot: LiveBot) -> list[InboxMessage]:
    """The inbox once every stored message is handled."""
    await bot.linli.pipeline.drain_background()
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(InboxMessage).order_by(InboxMessage.id))).all())


@pytest.fixture
def wechat(wechat_bot: LiveBot) -> WeChatSide:
    return WeChatSide(wechat_bot)
