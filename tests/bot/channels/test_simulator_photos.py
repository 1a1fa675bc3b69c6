"""The simulator's image button over real HTTP (POST /api/sim/images), on SQLite and PostgreSQL: a photo
joins the sender's request or waits for the report that follows; an oversized or malformed one gets
the clear answer in the chat, and nothing is lost."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from sqlalchemy import select

from core.clock import FixedClock
from storage.models import InboxMessage
from tests.bot.channels import photo_support as ps
from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.test_requests import number_in, one_reply

req_bot = requests_support.req_bot  # the fixture: the live bot with the keyword classifier


async def post_image(bot: LiveBot, data: bytes, *, group: str = "g-res-1", user: str = "r-zhang",
                     text: str | None = None, filename: str = "photo.jpg") -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("group", group)
    form.add_field("user", user)
    if text is not None:
        form.add_field("text", text)
    form.add_field("image", io.BytesIO(data), filename=filename, content_type="image/jpeg")
    async with bot.client.http.post(f"{bot.client.base_url}/api/sim/images", data=form) as resp:
        return resp.status, await resp.json()


async def test_a_photo_after_a_report_joins_it_and_shows_in_the_chat(req_bot: LiveBot, clock: FixedClock) -> None:
    number = number_in(await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼2单元楼道灯坏了"))
    clock.advance(minutes=2)
    photo = ps.jpeg()
    status, body = await post_image(req_bot, photo)
    assert status == 200, body
    [reply] = body["replies"]
    assert (reply["to"], reply["target"]) == ("group", "g-res-1")
    assert "收到照片" in reply["text"] and f"#{number}" in reply["text"] and "张**" in reply["text"]
    [row] = await ps.attachment_rows(req_bot)
    assert (row.status, row.request_id, row.channel) == ("ready", number, "sim")

    timeline = await req_bot.client.group_timeline("g-res-1")
    posted = next(m for m in timeline if m.get("image"))
    assert posted["sender_id"] == "r-zhang" and posted["text"] == "[图片]"
    async with req_bot.client.http.get(req_bot.client.base_url + posted["image"]) as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg" and await resp.read() == photo
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_photo_first_waits_silently_for_the_report_that_follows(req_bot: LiveBot,
                                                                        clock: FixedClock) -> None:
    status, body = await post_image(req_bot, ps.jpeg())
    assert status == 200 and body["replies"] == []  # a photo in the group, no report: nothing said
    clock.advance(minutes=1)
    number = number_in(await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯坏了，刚发了照片"))
    [row] = await ps.attachment_rows(req_bot)
    assert (row.status, row.request_id) == ("ready", number)


async def test_a_photo_with_a_report_as_its_caption_files_both(req_bot: LiveBot) -> None:
    status, body = await post_image(req_bot, ps.png(), text="2号楼垃圾好几天没人清了", filename="rubbish.png")
    assert status == 200, body
    number = number_in(body["replies"][0]["text"])
    [row] = await ps.attachment_rows(req_bot)
    assert (row.request_id, row.content_type) == (number, "image/png")


async def test_oversized_and_malformed_photos_get_a_clear_answer_and_nothing_is_lost(req_bot: LiveBot,
                                                                                      clock: FixedClock) -> None:
    assert req_bot.linli.media is not None
    req_bot.linli.media.max_bytes = 50_000
    number = number_in(await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯坏了"))
    clock.advance(minutes=1)

    status, body = await post_image(req_bot, ps.jpeg(400, 300, noise=True))
    assert status == 200
    assert [r["text"] for r in body["replies"]] == ["@张** 图片太大了（超过 48KB），没能保存，请压缩后再发。"]
    status, body = await post_image(req_bot, b"GIF89a this is not really a gif")
    assert status == 200 and len(body["replies"]) == 1 and "这张图片打不开" in body["replies"][0]["text"]

    rows = await ps.attachment_rows(req_bot)
    assert [(r.status, r.reason, r.request_id) for r in rows] == [("refused", "too_large", None),
                                                                  ("refused", "not_image", None)]
    async with req_bot.linli.db.transaction() as session:
        inbox = (await session.scalars(select(InboxMessage).order_by(InboxMessage.id))).all()
    assert [(m.text, m.status) for m in inbox][1:] == [("", "done"), ("", "done")]  # both messages kept
    timeline = [m["text"] for m in await req_bot.client.group_timeline("g-res-1")]
    assert sum("图片太大了" in t for t in timeline) == 1 and sum("打不开" in t for t in timeline) == 1
    [request] = await ps.requests_filed(req_bot)
    assert (request.id, request.version, request.status) == (number, 1, "new")


async def test_a_full_size_photo_is_kept_though_other_bodies_stop_at_256_kb(req_bot: LiveBot,
                                                                          clock: FixedClock) -> None:
    number = number_in(await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯坏了"))
    clock.advance(minutes=1)
    photo = ps.jpeg(1600, 1200, noise=True)
    assert len(photo) > 256 * 1024  # a phone photo: over the bodies' limit, under the photos' limit
    status, body = await post_image(req_bot, photo)
    assert status == 200, body
    rows = await ps.attachment_rows(req_bot)
    assert [(r.status, r.request_id) for r in rows] == [("ready", number)]


async def test_bad_image_posts_are_refused(req_bot: LiveBot) -> None:
    url = f"{req_bot.client.base_url}/api/sim/images"
    async with req_bot.client.http.post(url, json={"group": "g-res-1"}) as resp:
        assert resp.status == 400 and "multipart" in (await resp.json())["error"]
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("group", "g-res-1")
    form.add_field("user", "r-zhang")
    async with req_bot.client.http.post(url, data=form) as resp:
        assert resp.status == 400 and "image" in (await resp.json())["error"]
    status, body = await post_image(req_bot, ps.jpeg(), group="no-such-group")
    assert status == 400 and "unknown group" in body["error"]
    huge = b"\xff\xd8\xff" + bytes(2 * req_bot.linli.settings.media_max_bytes)  # over the upload cap
    status, body = await post_image(req_bot, huge)
    assert status == 413 and "too large" in body["error"]
    assert await ps.attachment_rows(req_bot) == []
