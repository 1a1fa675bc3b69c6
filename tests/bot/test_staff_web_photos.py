"""The photos and locations residents sent, on the staff page's request detail (real HTTP, SQLite and
PostgreSQL): thumbnails and the photo for logged-in staff of the community, nothing for anyone else."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image

from config.community import Directory
from core.clock import FixedClock
from tests.bot.channels import photo_support as ps
from tests.bot.channels.conftest import ZHANG_OPENID, WeChatSide, channel_settings, fake_api, wired_directory
from tests.bot.channels.fake_wechat import FakeWeChatApi
from tests.bot.channels.test_simulator_photos import post_image
from tests.bot.test_staff_web import StaffBrowser
from tests.conftest import LiveBot, start_live_bot
from tests.handlers.requests_support import keyword_understand, migrated
from tests.handlers.test_requests import number_in, one_reply

__all__ = ["fake_api"]  # the fixture, from the channels' conftest


def with_a_second_community(directory: Directory) -> Directory:
    """The demo community and 安乐社区, whose only member is its staff member staff-anle."""
    demo = directory.communities[0]
    li = demo.person("staff-li")
    assert li is not None
    staff_group = demo.staff_group()
    assert staff_group is not None
    other = demo.model_copy(update={
        "id": "anle", "name": "安乐社区", "grids": [], "teams": [], "services": [],
        "groups": [staff_group.model_copy(update={"id": "g-anle-staff", "name": "安乐社区工作群"})],
        "people": [li.model_copy(update={"id": "staff-anle", "name": "安乐的钱书记", "groups": ["g-anle-staff"],
                                         "wecom_userid": None})],
        "requests": demo.requests.model_copy(update={"policy_team": None})})
    return Directory([*directory.communities, other], source=directory.source)


@pytest.fixture
async def photo_bot(db_url: str, clock: FixedClock, fake_api: FakeWeChatApi, demo_directory: Directory
                    ) -> AsyncIterator[LiveBot]:
    await migrated(db_url)
    bot, close = await start_live_bot(channel_settings(db_url, fake_api), clock, understand=keyword_understand,
                                      directory=with_a_second_community(wired_directory(demo_directory)))
    try:
        yield bot
    finally:
        await close()


@pytest.fixture
async def browsers(photo_bot: LiveBot) -> AsyncIterator[list[StaffBrowser]]:
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(3)]
    try:
        yield [StaffBrowser(photo_bot, s) for s in sessions]
    finally:
        for s in sessions:
            await s.close()


async def fetch(web: StaffBrowser, path: str) -> tuple[int, bytes, aiohttp.typedefs.LooseHeaders]:
    async with web.http.get(web.base + path, allow_redirects=False) as resp:
        return resp.status, await resp.read(), resp.headers


async def test_staff_see_the_photo_and_location_and_nobody_else_gets_the_photo(
        photo_bot: LiveBot, browsers: list[StaffBrowser], fake_api: FakeWeChatApi, clock: FixedClock) -> None:
    number = number_in(await one_reply(photo_bot, "g-res-1", "r-zhang", "3号楼2单元楼道灯坏了"))
    clock.advance(minutes=1)
    photo = ps.jpeg(1024, 768)
    status, body = await post_image(photo_bot, photo)
    assert status == 200 and f"#{number}" in body["replies"][0]["text"]
    wechat = WeChatSide(photo_bot)  # the same resident sends where she is from the Official Account
    xml = ps.mp_location_xml(ZHANG_OPENID, 801, 30.274086, 120.15507, "幸福里3号楼2单元", 1795572060)
    assert await wechat.request("POST", "/mp/callback", *wechat.mp_envelope(xml)) == (200, "success")
    await ps.settled(photo_bot)
    image, place = await ps.attachment_rows(photo_bot)
    assert (image.request_id, place.request_id) == (number, number)

    staff, stranger, other_staff = browsers
    await staff.login("staff-li")
    status, page, _ = await staff.get(f"/staff/requests/{number}")
    assert status == 200
    assert f'src="/staff/attachments/{image.id}/thumb"' in page and f'href="/staff/attachments/{image.id}"' in page
    assert "幸福里3号楼2单元" in page and "30.27409, 120.15507" in page
    assert re.search(r'href="https://uri\.amap\.com/marker\?position=120\.155070%2C30\.274086&amp;name=[^"]+"', page)
    assert "1024×768" in page

    status, thumb, headers = await fetch(staff, f"/staff/attachments/{image.id}/thumb")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and headers["X-Content-Type-Options"] == "nosniff"
    assert max(Image.open(io.BytesIO(thumb)).size) == 320  # a thumbnail, not the photo
    status, full, headers = await fetch(staff, f"/staff/attachments/{image.id}")
    assert status == 200 and full == photo and "private" in headers["Cache-Control"]
    status, _, _ = await fetch(staff, f"/staff/attachments/{place.id}")  # a location has no file
    assert status == 404

    for path in (f"/staff/attachments/{image.id}", f"/staff/attachments/{image.id}/thumb"):
        status, data, headers = await fetch(stranger, path)  # not logged in: the login form
        assert status == 302 and headers["Location"].startswith("/staff/login") and photo not in data
    await other_staff.login("staff-anle")  # staff, but of another community
    for path in (f"/staff/attachments/{image.id}", f"/staff/attachments/{image.id}/thumb",
                 f"/staff/requests/{number}"):
        status, data, _ = await fetch(other_staff, path)
        assert status == 404 and photo not in data and thumb not in data
    status, _, _ = await fetch(staff, f"/staff/attachments/{image.id + 100}")
    assert status == 404


async def test_a_photo_still_being_fetched_shows_as_such(photo_bot: LiveBot, browsers: list[StaffBrowser],
                                                        fake_api: FakeWeChatApi) -> None:
    wechat = WeChatSide(photo_bot)
    fake_api.fail("media/get", "5xx")  # WeCom is down for the first attempt
    fake_api.media["later"] = (ps.jpeg(), "image/jpeg")
    assert await wechat.app_text("ZhaoLiu", "3号楼楼道灯坏了", 901) == (200, "")
    await ps.settled(photo_bot)
    [request] = await ps.requests_filed(photo_bot)
    query, body = wechat.app_envelope(ps.app_image_xml("ZhaoLiu", 902, "later"))
    assert await wechat.request("POST", "/wecom/callback", query, body) == (200, "")
    await ps.settled(photo_bot)
    [row] = await ps.attachment_rows(photo_bot)
    assert (row.status, row.request_id) == ("pending", request.id)
    web = browsers[0]
    await web.login("staff-wang")
    _, page, _ = await web.get(f"/staff/requests/{request.id}")
    assert "照片正在取回" in page and "/thumb" not in page
