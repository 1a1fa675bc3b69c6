"""Photos and locations through the WeChat callbacks of the live bot (issue 16 item 9), on SQLite and
PostgreSQL: the fake WeChat API on 127.0.0.1 serves the media (WeCom media/get, the OA's media/get,
the AI bot's encrypted image URLs)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from storage.models import InboxMessage
from storage.models_requests import Request
from tests.bot.channels import photo_support as ps
from tests.bot.channels.conftest import ZHANG_OPENID, WeChatSide
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.conftest import LiveBot

media_bot = ps.media_bot  # the fixture: the live bot with the fake API, on SQLite and PostgreSQL

RESIDENT = "LiuDaMa"  # a WeCom userid not in the community file: a resident
CREATE_TIME = 1795572000  # 2026-11-25 10:00 in Shanghai, the tests' clock


@pytest.fixture
def wechat(media_bot: LiveBot) -> WeChatSide:
    return WeChatSide(media_bot)


async def app_image(wechat: WeChatSide, msg_id: int, media_id: str | None, pic_url: str | None = None
                    ) -> tuple[int, str]:
    query, body = wechat.app_envelope(ps.app_image_xml(RESIDENT, msg_id, media_id, pic_url))
    return await wechat.request("POST", "/wecom/callback", query, body)


async def app_location(wechat: WeChatSide, msg_id: int, latitude: object, longitude: object, label: str
                       ) -> tuple[int, str]:
    query, body = wechat.app_envelope(ps.app_location_xml(RESIDENT, msg_id, latitude, longitude, label))
    return await wechat.request("POST", "/wecom/callback", query, body)


async def mp(wechat: WeChatSide, xml: str) -> tuple[int, str]:
    query, body = wechat.mp_envelope(xml)
    return await wechat.request("POST", "/mp/callback", query, body)


async def file_report(bot: LiveBot, wechat: WeChatSide, text: str, msg_id: int) -> Request:
    assert await wechat.app_text(RESIDENT, text, msg_id) == (200, "")
    await ps.settled(bot)
    [request] = await ps.requests_filed(bot)
    return request


# -- WeCom app ------------------------------------------------------------------------------------


async def test_wecom_app_photo_and_location_join_the_residents_open_request(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    photo = ps.jpeg()
    fake_api.media["photo-1"] = (photo, "image/jpeg")
    request = await file_report(media_bot, wechat, "3号楼2单元楼道灯坏了", 101)

    for _ in range(2):  # WeChat retries the callback: one attachment, one fetch
        assert await app_image(wechat, 102, "photo-1", "http://p.qpic.cn/photo-1") == (200, "")
    assert await app_location(wechat, 103, "30.274085", "120.155070", "幸福里小区3号楼") == (200, "")
    await ps.settled(media_bot)

    image, place = await ps.attachment_rows(media_bot)
    assert (image.kind, image.status, image.request_id, image.media_id) == ("image", "ready", request.id, "photo-1")
    assert (image.content_type, image.size, image.width, image.height) == ("image/jpeg", len(photo), 640, 480)
    stored = await ps.stored_bytes(media_bot, image.id)
    assert stored is not None and stored.data == photo and stored.thumbnail[:3] == b"\xff\xd8\xff"
    assert (place.kind, place.status, place.request_id) == ("location", "ready", request.id)
    assert (place.latitude, place.longitude, place.label) == (30.274085, 120.15507, "幸福里小区3号楼")
    assert fake_api.media_fetches == ["photo-1"]  # through media/get with the app's token, once
    said = await ps.answers_to(media_bot, RESIDENT)
    assert any("收到照片" in t and f"#{request.id}" in t for t in said)
    assert any("收到位置" in t and f"#{request.id}" in t for t in said)


async def test_the_callback_is_answered_before_the_photo_is_fetched_and_a_failed_fetch_is_retried(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi, clock: FixedClock) -> None:
    fake_api.media["slow"] = (ps.jpeg(), "image/jpeg")
    fake_api.slow_seconds = 3.0
    fake_api.fail("media/get", "timeout")  # the first fetch gets no answer within the 1 s timeout
    started = time.monotonic()
    assert await app_image(wechat, 201, "slow") == (200, "")
    assert time.monotonic() - started < 0.9  # acknowledged without waiting for WeCom's media server
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.attempts) == ("pending", 1) and "no answer" in (row.last_error or "")
    inbox = await _inbox(media_bot)
    assert [(m.msg_id, m.status) for m in inbox] == [("201", "done")]  # handled meanwhile

    clock.advance(seconds=5)  # the first pause before a retry
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.attempts) == ("ready", 2)


async def test_a_photo_the_platform_no_longer_has_is_given_up_and_the_sender_asked_again(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    assert await app_image(wechat, 301, "expired-media") == (200, "")  # media/get: 40007 invalid media_id
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert row.status == "failed" and "40007" in (row.last_error or "")
    assert any("没能收到" in t and "再发一次" in t for t in await ps.answers_to(media_bot, RESIDENT))


async def test_an_oversized_photo_gets_a_clear_answer_and_nothing_is_lost(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    assert media_bot.linli.media is not None
    media_bot.linli.media.max_bytes = 50_000
    big = ps.jpeg(400, 300, noise=True)
    assert len(big) > 50_000
    fake_api.media["big"] = (big, "image/jpeg")
    request = await file_report(media_bot, wechat, "3号楼楼道灯坏了", 401)

    assert await app_image(wechat, 402, "big") == (200, "")
    await ps.settled(media_bot)

    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.reason, row.request_id) == ("refused", "too_large", None)
    assert await ps.stored_bytes(media_bot, row.id) is None
    assert any("图片太大了" in t and "请压缩后再发" in t for t in await ps.answers_to(media_bot, RESIDENT))
    assert [(m.msg_id, m.status) for m in await _inbox(media_bot)] == [("401", "done"), ("402", "done")]
    [after] = await ps.requests_filed(media_bot)  # the request is as it was
    assert (after.version, after.status, after.updated_at, after.text) == (
        request.version, request.status, request.updated_at, request.text)


@pytest.mark.parametrize(("case", "expected"), [
    ("image without MediaId or PicUrl", 400), ("location that is no number", 400),
    ("location off the globe", 400), ("image with a non-http PicUrl", 400)])
async def test_bad_photo_and_location_callbacks_are_refused(media_bot: LiveBot, wechat: WeChatSide, case: str,
                                                            expected: int) -> None:
    if case == "image without MediaId or PicUrl":
        status, _ = await app_image(wechat, 501, None, None)
    elif case == "image with a non-http PicUrl":
        status, _ = await app_image(wechat, 501, None, "file:///etc/passwd")
    elif case == "location that is no number":
        status, _ = await app_location(wechat, 501, "north", "120.1", "x")
    else:
        status, _ = await app_location(wechat, 501, "200", "120.1", "x")
    assert status == expected
    assert await _inbox(media_bot) == [] and await ps.attachment_rows(media_bot) == []


# -- WeCom AI bot ---------------------------------------------------------------------------------


async def test_ai_bot_mixed_text_and_photo_files_a_request_with_its_photo(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    photo = ps.jpeg(800, 600)
    fake_api.files["leak.jpg"] = ps.aibot_sealed(photo)
    payload = ps.aibot_mixed("aib-m1", "wangwu", "@社区小助手 3号楼2单元楼道灯不亮了，看图",
                             [fake_api.aibot_image_url("leak.jpg")], response_url=fake_api.response_url("r-m1"))
    assert await wechat.aibot(payload) == (200, "")
    await ps.settled(media_bot)

    [request] = await ps.requests_filed(media_bot)
    assert (request.category, request.building, request.group_id) == ("repair", 3, "g-res-1")
    [row] = await ps.attachment_rows(media_bot)
    assert (row.kind, row.status, row.request_id, row.channel) == ("image", "ready", request.id, "wecom_aibot")
    stored = await ps.stored_bytes(media_bot, row.id)
    assert stored is not None and stored.data == photo  # decrypted with the bot's EncodingAESKey
    delivered = await fake_api.wait_for(1)
    assert delivered[0].kind == "aibot" and f"#{request.id}" in delivered[0].content


async def test_ai_bot_photo_that_does_not_decrypt_is_refused_as_no_image(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    fake_api.files["plain.jpg"] = ps.jpeg()  # served unencrypted: not what the AI bot sends
    payload = ps.aibot_mixed("aib-m2", "wangwu", "@社区小助手 你们看看", [fake_api.aibot_image_url("plain.jpg")])
    assert await wechat.aibot(payload) == (200, "")
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.reason) == ("refused", "not_image")
    assert any("打不开" in t for t in await ps.answers_to(media_bot, "g-res-1"))
    assert [m.msg_id for m in await _inbox(media_bot)] == ["aib-m2"]


async def test_bad_ai_bot_mixed_messages_are_refused(media_bot: LiveBot, wechat: WeChatSide) -> None:
    for bad in ({"msg_item": "nope"}, {"msg_item": []}, {"msg_item": [{"msgtype": "image", "image": {}}]},
                {"msg_item": [{"msgtype": "image", "image": {"url": "ftp://x/y"}}]}):
        payload = {**ps.aibot_mixed("aib-bad", "wangwu", None, []), "mixed": bad}
        status, _ = await wechat.aibot(payload)
        assert status == 400, bad
    assert await _inbox(media_bot) == []


# -- Official Account -----------------------------------------------------------------------------


async def test_official_account_photo_waits_for_the_report_that_follows_and_a_location_joins_it(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi, clock: FixedClock) -> None:
    photo = ps.png()
    fake_api.media["mp-photo"] = (photo, "image/png")
    assert await mp(wechat, ps.mp_image_xml(ZHANG_OPENID, 601, "mp-photo", CREATE_TIME)) == (200, "success")
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.request_id, row.sender_id) == ("ready", None, "r-zhang")  # waits for a report
    assert any("请再说一下是什么问题" in t for t in await ps.answers_to(media_bot, "r-zhang"))

    clock.advance(minutes=3)
    assert await wechat.mp_text(ZHANG_OPENID, "1号楼楼道灯坏了", 602, CREATE_TIME + 180) == (200, "success")
    await ps.settled(media_bot)
    [request] = await ps.requests_filed(media_bot)
    assert [(r.request_id, r.content_type) for r in await ps.attachment_rows(media_bot)] == [(request.id, "image/png")]

    clock.advance(minutes=2)
    xml = ps.mp_location_xml(ZHANG_OPENID, 603, 30.2741, 120.1551, "幸福里1号楼", CREATE_TIME + 300)
    assert await mp(wechat, xml) == (200, "success")
    await ps.settled(media_bot)
    _, place = await ps.attachment_rows(media_bot)
    assert (place.kind, place.request_id, place.label) == ("location", request.id, "幸福里1号楼")

    clock.advance(minutes=30)  # long after the report: a new photo waits for a new one
    fake_api.media["mp-later"] = (photo, "image/png")
    assert await mp(wechat, ps.mp_image_xml(ZHANG_OPENID, 604, "mp-later", CREATE_TIME + 2100)) == (200, "success")
    await ps.settled(media_bot)
    *_, later = await ps.attachment_rows(media_bot)
    assert (later.status, later.request_id) == ("ready", None)


async def test_official_account_malformed_photo_gets_a_clear_answer(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    fake_api.media["html"] = (b"<html><body>not a picture</body></html>", "image/jpeg")
    fake_api.media["broken"] = (ps.jpeg()[:2000], "image/jpeg")  # a JPEG cut short
    assert await mp(wechat, ps.mp_image_xml(ZHANG_OPENID, 701, "html", CREATE_TIME)) == (200, "success")
    assert await mp(wechat, ps.mp_image_xml(ZHANG_OPENID, 702, "broken", CREATE_TIME + 1)) == (200, "success")
    await ps.settled(media_bot)
    rows = await ps.attachment_rows(media_bot)
    assert [(r.status, r.reason) for r in rows] == [("refused", "not_image")] * 2
    said = await ps.answers_to(media_bot, "r-zhang")
    assert sum("这张图片打不开" in t for t in said) == 2
    assert [m.status for m in await _inbox(media_bot)] == ["done", "done"]


async def _inbox(bot: LiveBot) -> list[InboxMessage]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(InboxMessage).order_by(InboxMessage.id))).all())


async def test_a_fetch_that_keeps_failing_is_given_up_after_the_attempts_and_the_sender_asked_again(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi, clock: FixedClock) -> None:
    fake_api.media["flaky"] = (ps.jpeg(), "image/jpeg")
    fake_api.fail("media/get", *["5xx"] * 5)  # WeCom's media server answers 502 five times
    assert await app_image(wechat, 1001, "flaky") == (200, "")
    for pause in (0, 5, 15, 45, 120):
        clock.advance(seconds=pause)
        await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.attempts) == ("failed", 5) and "HTTP 502" in (row.last_error or "")
    assert sum("没能收到" in t for t in await ps.answers_to(media_bot, RESIDENT)) == 1


async def test_a_message_handled_after_a_restart_keeps_its_photo(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    """A process that only stores (LINLI_HANDLE_MESSAGES=false, or one that died) leaves the row "new";
    the process that handles it reads the message back from the inbox, with its attachments."""
    from core.message import Attachment, Message

    fake_api.media["kept"] = (ps.jpeg(), "image/jpeg")
    request = await file_report(media_bot, wechat, "3号楼楼道灯坏了", 1101)
    linli = media_bot.linli
    stored = await linli.intake.store(Message(
        channel="wecom", community="xingfuli", group_id=None, sender_id=RESIDENT, sender_name=RESIDENT, text="",
        msg_id="1102", sent_at=linli.clock.now(), mentions_bot=True,
        attachments=(Attachment("image", media_id="kept"),)))
    assert not stored.duplicate
    assert await linli.pipeline.resume_pending() == 1
    await ps.settled(media_bot)
    [row] = await ps.attachment_rows(media_bot)
    assert (row.status, row.request_id) == ("ready", request.id)
    assert any("收到照片" in t for t in await ps.answers_to(media_bot, RESIDENT))


async def test_ai_bot_message_with_too_many_images_keeps_its_words_and_the_first_images(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    from core.message import MAX_ATTACHMENTS

    urls = [fake_api.aibot_image_url(f"p{i}.jpg") for i in range(MAX_ATTACHMENTS + 5)]
    payload = ps.aibot_mixed("aib-many", "wangwu", "@社区小助手 3号楼楼道灯坏了", urls)
    assert await wechat.aibot(payload) == (200, "")
    await media_bot.linli.pipeline.drain_background()
    rows = await ps.attachment_rows(media_bot)
    assert len(rows) == MAX_ATTACHMENTS and rows[0].url == urls[0]
    [request] = await ps.requests_filed(media_bot)
    assert request.text == "@社区小助手 3号楼楼道灯坏了"


async def test_several_images_of_one_message_that_fail_alike_get_one_answer(
        media_bot: LiveBot, wechat: WeChatSide, fake_api: FakeWeChatApi) -> None:
    for name in ("a", "b", "c"):
        fake_api.files[name] = b"not encrypted, not an image"
    payload = ps.aibot_mixed("aib-3", "wangwu", "@社区小助手 看看", [fake_api.aibot_image_url(n) for n in "abc"])
    assert await wechat.aibot(payload) == (200, "")
    await ps.settled(media_bot)
    assert [r.reason for r in await ps.attachment_rows(media_bot)] == ["not_image"] * 3
    assert sum("打不开" in t for t in await ps.answers_to(media_bot, "g-res-1")) == 1
