"""The attack run's findings on the simulator and the WeChat callbacks (issue 17 item 1): whatever the
body, the answer is a 4xx, never a 5xx, and nothing is stored. Callbacks are built with wechatpy's
own crypto (an independent client), so "valid signature over bad plaintext" is what WeChat would
send if it sent garbage."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from storage.models import InboxMessage
from tests.bot.channels.conftest import (
    MP_TOKEN,
    WeChatSide,
    aibot_text,
    channel_bot,
    mp_text_xml,
    sha1_signature,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot

DEEP_JSON = b"[" * 30_000 + b"]" * 30_000
# Sealed (encrypted, base64) bodies must stay under the callbacks' 64 KB: less deep, as deep as fits.
SEALED_DEEP_JSON = "[" * 20_000 + "]" * 20_000
DEEP_XML = "<xml>" + "<a>" * 6_000 + "x" + "</a>" * 6_000 + "</xml>"
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY lol "lol">'
                  '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  "<xml><ToUserName>x</ToUserName><FromUserName>u1</FromUserName><CreateTime>1</CreateTime>"
                  "<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>5</MsgId></xml>")
EXTERNAL_ENTITY = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   "<xml><FromUserName>u1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
                   "<Content>&e;</Content><MsgId>5</MsgId></xml>")


SIM_PREFIX = b'{"group": "g-res-1", "user": "r-zhang", "text": "hi", "msg_id": '


async def stored_count(bot: LiveBot) -> int:
    await bot.linli.pipeline.drain_background()
    async with bot.linli.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxMessage)) or 0)


# -- the simulator ----------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "body"), [
    ("JSON nested 30,000 deep", DEEP_JSON),
    ("an object nested 40 deep", json.dumps({"group": "g-res-1", "user": "u", "text": "x",
                                             "name": json.loads("[" * 40 + "]" * 40)}).encode()),
    ("msg_id of 5,000 digits", SIM_PREFIX + b"9" * 5000 + b"}"),
    ("msg_id of 40 digits", SIM_PREFIX + b"9" * 40 + b"}"),
    ("NaN", SIM_PREFIX + b"NaN}"),
    ("user of 200 characters", json.dumps({"group": "g-res-1", "user": "u" * 200, "text": "hi"}).encode()),
    ("over 64 KB", json.dumps({"group": "g-res-1", "user": "u", "text": "x" * 70_000}).encode()),
])
async def test_the_simulator_refuses_hostile_bodies_with_a_4xx(live_bot: LiveBot, case: str, body: bytes) -> None:
    status, answer = await live_bot.client.post(None, raw=body)
    assert 400 <= status < 500 and "error" in answer, (case, status, answer)
    assert await stored_count(live_bot) == 0
    assert (await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动"))["replies"]  # still answers


@pytest.mark.parametrize("after", ["99999999999999999999", "9" * 5000, "-1", "²", "1e3"])
async def test_timeline_polls_with_extreme_numbers_are_refused(live_bot: LiveBot, after: str) -> None:
    status, answer = await live_bot.client.get_json(f"/api/sim/groups/g-res-1/messages?after={after}")
    assert status == 400 and "after" in answer["error"]


# -- the WeChat callbacks ---------------------------------------------------------------------


@pytest.fixture
async def plain_mp_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi,  # type: ignore[no-untyped-def]
                       monkeypatch: pytest.MonkeyPatch):
    """The Official Account in plain mode (no EncodingAESKey): its bodies are not encrypted."""
    async with channel_bot(sqlite_url, clock, fake_api, monkeypatch, mp_aes_key=None) as bot:
        yield bot


async def test_a_deep_body_on_the_ai_bot_is_refused_before_any_signature_check(
        wechat_bot: LiveBot, wechat: WeChatSide) -> None:
    stamp = wechat.timestamp()
    query = {"msg_signature": "0" * 40, "timestamp": stamp, "nonce": "1"}
    for body in (DEEP_JSON, b'{"encrypt": ' + DEEP_JSON + b"}", b'{"x": ' + b"9" * 5000 + b"}"):
        status, _ = await wechat.request("POST", "/wecom/aibot/callback", query, body)
        assert status in (400, 403), status  # was 503 (RecursionError) before the signature was checked
    assert await stored_count(wechat_bot) == 0


@pytest.mark.parametrize(("case", "plaintext"), [
    ("JSON nested 20,000 deep", SEALED_DEEP_JSON),
    ("a msgid of 5,000 digits", '{"msgid": ' + "9" * 5000 + ', "msgtype": "text"}'),
    ("a msgid of 200 characters", json.dumps(aibot_text("m" * 200, "wangwu", "hi"))),
    ("a userid of 200 characters", json.dumps(aibot_text("aib-x", "u" * 200, "hi"))),
    ("wrong types", json.dumps({"msgid": ["a"], "from": "wangwu", "chattype": 1, "text": [], "msgtype": {}})),
    ("a create_time in the year 300,000", json.dumps({**aibot_text("aib-y", "wangwu", "hi"),
                                                      "create_time": 10**13})),
    ("a response_url of 3,000 characters", json.dumps(aibot_text("aib-z", "wangwu", "hi",
                                                                 response_url="https://x/" + "a" * 3000))),
    ("not JSON", "<xml>not json</xml>"),
])
async def test_the_ai_bot_refuses_bad_plaintext_under_a_valid_signature(
        wechat_bot: LiveBot, wechat: WeChatSide, case: str, plaintext: str) -> None:
    assert (await wechat.aibot(plaintext))[0] == 400, case
    assert await stored_count(wechat_bot) == 0


@pytest.mark.parametrize(("case", "plaintext"), [
    ("XML nested 6,000 deep", DEEP_XML),
    ("billion laughs", BILLION_LAUGHS),
    ("an external entity", EXTERNAL_ENTITY),
    ("a MsgId of 200 digits", "<xml><FromUserName>u1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
                              "<Content>hi</Content><MsgId>" + "9" * 200 + "</MsgId></xml>"),
    ("a FromUserName of 200 characters", "<xml><FromUserName>" + "u" * 200 + "</FromUserName><CreateTime>1"
                                         "</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>5</MsgId></xml>"),
    ("a CreateTime in the year 300,000", "<xml><FromUserName>u1</FromUserName><CreateTime>10000000000000"
                                         "</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>5</MsgId></xml>"),
])
@pytest.mark.parametrize("channel", ["wecom app", "official account (safe mode)"])
async def test_wechat_xml_callbacks_refuse_bad_plaintext_under_a_valid_signature(
        wechat_bot: LiveBot, wechat: WeChatSide, channel: str, case: str, plaintext: str) -> None:
    if channel == "wecom app":
        query, body = wechat.app_envelope(plaintext)
        status, _ = await wechat.request("POST", "/wecom/callback", query, body)
    else:
        query, body = wechat.mp_envelope(plaintext)
        status, _ = await wechat.request("POST", "/mp/callback", query, body)
    assert status == 400, (channel, case, status)
    assert await stored_count(wechat_bot) == 0


@pytest.mark.parametrize(("case", "body"), [
    ("billion laughs", BILLION_LAUGHS),
    ("an external entity", EXTERNAL_ENTITY),
    ("XML nested 6,000 deep", DEEP_XML),
    ("a MsgId of 200 digits", mp_text_xml("o-x", "hi", 1, 1).replace("<MsgId>1</MsgId>",
                                                                       "<MsgId>" + "9" * 200 + "</MsgId>")),
    ("a MsgId of 5,000 digits", mp_text_xml("o-x", "hi", 1, 1).replace("<MsgId>1</MsgId>",
                                                                         "<MsgId>" + "9" * 5000 + "</MsgId>")),
])
async def test_the_plain_official_account_refuses_bad_bodies(plain_mp_bot: LiveBot, clock: FixedClock, case: str,
                                                             body: str) -> None:
    side = WeChatSide(plain_mp_bot)
    stamp = side.timestamp()
    query = {"signature": sha1_signature(MP_TOKEN, stamp, "42"), "timestamp": stamp, "nonce": "42"}
    status, _ = await side.request("POST", "/mp/callback", query, body.encode())
    assert status == 400, (case, status)
    assert await stored_count(plain_mp_bot) == 0
