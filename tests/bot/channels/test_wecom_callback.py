"""The WeCom app callback on the live bot: published vectors, encrypted round trips, bad input."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from config.community import Directory
from core.clock import FixedClock
from storage.models import Member, OutboxMessage
from storage.models_channels import ChannelEvent
from tests.bot.channels.conftest import (
    AES_KEY,
    AGENT_ID,
    APP_TOKEN,
    CORP_ID,
    FIXTURES,
    STAFF_LI_USERID,
    VECTORS,
    WeChatSide,
    app_text_xml,
    channel_settings,
    inbox_rows,
    understand_for_tests,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import REFERENCE_NOW, LiveBot, start_live_bot


@pytest.fixture
async def vector_bot(sqlite_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory):
    """A bot configured with the credentials of Tencent's published WeCom sample (V1), its clock at
    the sample's message time (callbacks must be fresh)."""
    v = VECTORS["wecom_v1"]
    clock.set(dt.datetime.fromtimestamp(int(v["message"]["timestamp"]), dt.UTC))
    settings = channel_settings(sqlite_url, fake_api, wecom_token=v["token"], wecom_aes_key=v["aes_key"],
                                wecom_corp_id=v["corp_id"], wecom_agent_id=218)
    bot, close = await start_live_bot(settings, clock, understand=understand_for_tests,
                                      directory=wired_directory(demo_directory))
    try:
        yield bot
    finally:
        await close()


# -- published vectors ------------------------------------------------------------------------


async def test_url_verification_with_the_published_vector_answers_the_bare_echostr(vector_bot: LiveBot) -> None:
    v = VECTORS["wecom_v1"]["verify"]
    side = WeChatSide(vector_bot)
    query = {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
    status, body = await side.request("GET", "/wecom/callback", query)
    assert (status, body) == (200, v["expected"])  # no quotes, no newline


@pytest.mark.parametrize("spelling", ["percent-encoded", "literal plus"])
async def test_url_verification_survives_a_literal_plus_in_the_query(vector_bot: LiveBot, spelling: str) -> None:
    # The echostr contains '+'; WeCom sends %2B, but a literal '+' decodes to a space in aiohttp.
    v = VECTORS["wecom_v1"]["verify"]
    echostr = quote(v["echostr"], safe="") if spelling == "percent-encoded" else v["echostr"]
    assert "+" in v["echostr"]
    raw = f"msg_signature={v['msg_signature']}&timestamp={v['timestamp']}&nonce={v['nonce']}&echostr={echostr}"
    status, body = await WeChatSide(vector_bot).request("GET", "/wecom/callback", raw)
    assert (status, body) == (200, v["expected"])


async def test_the_published_message_vector_is_stored_once_even_when_retried(vector_bot: LiveBot) -> None:
    v = VECTORS["wecom_v1"]["message"]
    side = WeChatSide(vector_bot)
    body = (FIXTURES / v["body_file"]).read_bytes()
    query = {k: v[k] for k in ("msg_signature", "timestamp", "nonce")}
    for _ in range(3):  # WeCom retries three times when it does not see a 200 in time
        status, text = await side.request("POST", "/wecom/callback", query, body)
        assert (status, text) == (200, "")
    rows = await inbox_rows(vector_bot)
    assert [(r.channel, r.msg_id, r.text, r.sender_id, r.sender_role, r.group_id) for r in rows] == [
        ("wecom", v["msg_id"], v["content"], v["from"], "resident", None)]
    assert int(rows[0].sent_at.timestamp()) == v["create_time"]
    async with vector_bot.linli.db.transaction() as session:
        member = await session.get(Member, ("xingfuli", "mycreate"))
    assert member is not None and member.role == "resident"  # unknown senders join as residents


async def test_the_second_published_sample_verifies_too(sqlite_url: str, clock: FixedClock,
                                                        fake_api: FakeWeChatApi) -> None:
    v = VECTORS["wecom_v2"]
    settings = channel_settings(sqlite_url, fake_api, wecom_token=v["token"], wecom_aes_key=v["aes_key"],
                                wecom_corp_id=v["corp_id"])
    bot, close = await start_live_bot(settings, clock, understand=understand_for_tests)
    try:
        q = v["verify"]
        status, body = await WeChatSide(bot).request(
            "GET", "/wecom/callback", {k: q[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")})
        assert (status, body) == (200, q["expected"])
    finally:
        await close()


# -- round trip -------------------------------------------------------------------------------


async def test_a_staff_question_is_answered_through_message_send(wechat_bot: LiveBot, wechat: WeChatSide,
                                                                 fake_api: FakeWeChatApi) -> None:
    status, body = await wechat.app_text(STAFF_LI_USERID, "今天有什么活动", msg_id=9001)
    assert (status, body) == (200, "")
    delivered = await fake_api.wait_for(1)
    assert delivered[0].kind == "app" and delivered[0].to == STAFF_LI_USERID
    assert "政策宣讲日" in delivered[0].content  # Wednesday's theme in the demo community
    assert delivered[0].body["agentid"] == AGENT_ID  # the configured agent id, as an integer
    rows = await inbox_rows(wechat_bot)
    assert [(r.sender_id, r.sender_role) for r in rows] == [("staff-li", "staff")]  # userid mapped to the person


async def test_the_answer_waits_for_the_inbox_commit_and_db_trouble_asks_for_a_retry(
        wechat_bot: LiveBot, wechat: WeChatSide, monkeypatch: pytest.MonkeyPatch) -> None:
    async def database_down(*args: object, **kwargs: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(wechat_bot.linli.inbox, "store", database_down)
    status, _ = await wechat.app_text("someone", "今天有什么活动", msg_id=9002)
    assert status == 503  # WeCom retries; nothing was acknowledged that is not stored
    monkeypatch.undo()
    status, _ = await wechat.app_text("someone", "今天有什么活动", msg_id=9002)
    assert status == 200
    assert [r.msg_id for r in await inbox_rows(wechat_bot)] == ["9002"]


async def test_events_are_recorded_once_and_never_reach_the_handlers(wechat_bot: LiveBot, wechat: WeChatSide) -> None:
    event = (f"<xml><ToUserName>{CORP_ID}</ToUserName><FromUserName>{STAFF_LI_USERID}</FromUserName>"
             "<CreateTime>1764036000</CreateTime><MsgType>event</MsgType><Event>enter_agent</Event>"
             "<EventKey></EventKey><AgentID>1000002</AgentID></xml>")
    other = event.replace("1764036000", "1764036060")
    for xml in (event, event, other):
        query, body = wechat.app_envelope(xml)
        assert await wechat.request("POST", "/wecom/callback", query, body) == (200, "")
    async with wechat_bot.linli.db.transaction() as session:
        keys = (await session.scalars(select(ChannelEvent.event_key).order_by(ChannelEvent.event_key))).all()
    assert keys == [f"{STAFF_LI_USERID}:1764036000:enter_agent", f"{STAFF_LI_USERID}:1764036060:enter_agent"]
    assert await inbox_rows(wechat_bot) == []


async def test_concurrent_retries_of_one_message_are_handled_once(wechat_bot: LiveBot, wechat: WeChatSide,
                                                                  fake_api: FakeWeChatApi) -> None:
    query, body = wechat.app_envelope(app_text_xml("zhangsan", "今天有什么活动", 9100, 1764036000))
    results = await asyncio.gather(*(wechat.request("POST", "/wecom/callback", query, body) for _ in range(5)))
    assert results == [(200, "")] * 5
    await fake_api.wait_for(1)
    await asyncio.sleep(0.2)
    assert len(fake_api.delivered) == 1
    async with wechat_bot.linli.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


# -- bad input --------------------------------------------------------------------------------

STAMP = str(int(REFERENCE_NOW.timestamp()))  # the bot's "now" (signed timestamps must be fresh)


def _forge(crypto: WeComCrypto, xml: str) -> tuple[dict[str, str], bytes]:
    import xmltodict

    out = xmltodict.parse(crypto.encrypt_message(xml, "123", STAMP))["xml"]
    body = f"<xml><ToUserName>x</ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>".encode()
    return {"msg_signature": out["MsgSignature"], "timestamp": STAMP, "nonce": "123"}, body


def _signed(encrypt: str, token: str = APP_TOKEN) -> tuple[dict[str, str], bytes]:
    from tests.bot.channels.conftest import sha1_signature

    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    return {"msg_signature": sha1_signature(token, STAMP, "55", encrypt), "timestamp": STAMP,
            "nonce": "55"}, body


def _cases() -> list[tuple[str, int]]:
    return [
        ("wrong signature", 403), ("other corp id", 403), ("other token", 403), ("corrupt ciphertext", 400),
        ("short ciphertext", 400), ("not base64", 400), ("malformed xml", 400), ("no Encrypt", 400),
        ("entity", 400), ("plaintext not xml", 400), ("no MsgType", 400), ("no FromUserName", 400),
        ("no MsgId", 400), ("bad CreateTime", 400), ("missing query", 400), ("empty body", 400),
        ("too large", 413), ("event without Event", 400),
    ]


@pytest.mark.parametrize(("case", "expected"), _cases())
async def test_bad_callbacks_are_refused_cleanly_and_store_nothing(
        wechat_bot: LiveBot, wechat: WeChatSide, case: str, expected: int, caplog: pytest.LogCaptureFixture) -> None:
    good_query, good_body = wechat.app_envelope(app_text_xml("u1", "今天有什么活动", 777, 1764036000))
    query, body = dict(good_query), good_body
    if case == "wrong signature":
        query["msg_signature"] = "0" * 40
    elif case == "other corp id":
        query, body = _forge(WeComCrypto(APP_TOKEN, AES_KEY, "ww-someone-else"), app_text_xml("u1", "x", 1, 1))
    elif case == "other token":
        query, body = _forge(WeComCrypto("not-our-token", AES_KEY, CORP_ID), app_text_xml("u1", "x", 1, 1))
    elif case == "corrupt ciphertext":
        query, body = _signed(base64.b64encode(bytes(range(64))).decode())
    elif case == "short ciphertext":
        query, body = _signed(base64.b64encode(b"abc").decode())
    elif case == "not base64":
        query, body = _signed("!!!not base64")
    elif case == "malformed xml":
        body = b"<xml><Encrypt>unclosed"
    elif case == "no Encrypt":
        body = b"<xml><ToUserName>x</ToUserName></xml>"
    elif case == "entity":
        body = b'<!DOCTYPE xml [<!ENTITY e "boom">]><xml><Encrypt>&e;</Encrypt></xml>'
    elif case == "plaintext not xml":
        query, body = wechat.app_envelope("hello, not xml")
    elif case == "no MsgType":
        query, body = wechat.app_envelope("<xml><FromUserName>u1</FromUserName><CreateTime>1</CreateTime>"
                                          "<Content>hi</Content><MsgId>5</MsgId></xml>")
    elif case == "no FromUserName":
        query, body = wechat.app_envelope("<xml><MsgType>text</MsgType><CreateTime>1</CreateTime>"
                                          "<Content>hi</Content><MsgId>5</MsgId></xml>")
    elif case == "no MsgId":
        query, body = wechat.app_envelope("<xml><FromUserName>u1</FromUserName><MsgType>text</MsgType>"
                                          "<CreateTime>1</CreateTime><Content>hi</Content></xml>")
    elif case == "bad CreateTime":
        query, body = wechat.app_envelope(app_text_xml("u1", "hi", 5, 1).replace("<CreateTime>1<", "<CreateTime>x<"))
    elif case == "missing query":
        query.pop("nonce")
    elif case == "empty body":
        body = b""
    elif case == "too large":
        body = b"<xml>" + b"a" * (70 * 1024) + b"</xml>"
    elif case == "event without Event":
        query, body = wechat.app_envelope("<xml><FromUserName>u1</FromUserName><MsgType>event</MsgType>"
                                          "<CreateTime>1</CreateTime></xml>")
    status, _ = await wechat.request("POST", "/wecom/callback", query, body)
    assert status == expected
    assert "rejected with" in caplog.text  # every refusal leaves a log line
    assert await inbox_rows(wechat_bot) == []


async def test_url_verification_refuses_forgeries(wechat_bot: LiveBot, wechat: WeChatSide) -> None:
    other = WeComCrypto(APP_TOKEN, AES_KEY, "ww-someone-else")
    import xmltodict

    out = xmltodict.parse(other.encrypt_message("12345", "9", STAMP))["xml"]
    forged = {"msg_signature": out["MsgSignature"], "timestamp": STAMP, "nonce": "9", "echostr": out["Encrypt"]}
    assert (await wechat.request("GET", "/wecom/callback", forged))[0] == 403  # right signature, other corp
    assert (await wechat.request("GET", "/wecom/callback", dict(forged, nonce="10")))[0] == 403
    assert (await wechat.request("GET", "/wecom/callback", {k: v for k, v in forged.items() if k != "echostr"})
            )[0] == 400

