"""The staff page's notices, session check-in and volunteer hours (issue 18), over real HTTP."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import aiohttp
import openpyxl
import pytest

from core.clock import FixedClock
from tests.bot.test_staff_web import StaffBrowser
from tests.conftest import LiveBot
from tests.handlers.ops_support import RESIDENT_GROUPS, Chat, at, code_in, one, outbox


@pytest.fixture
async def web(live_bot_any_db: LiveBot) -> AsyncIterator[StaffBrowser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = StaffBrowser(live_bot_any_db, http)
        status, _, _ = await browser.login("staff-zhao")
        assert status == 302
        yield browser


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page
    return m.group(1)


async def test_a_notice_written_on_the_page_is_previewed_sent_once_and_listed(live_bot_any_db: LiveBot,
                                                                              web: StaffBrowser) -> None:
    status, page, _ = await web.get("/staff/notices")
    assert status == 200 and "幸福里5-8号楼居民群（5人）" in page
    csrf = csrf_of(page)
    status, page, _ = await web.post("/staff/notices", {"csrf": csrf, "text": ""})
    assert status == 400 and "请填写通知内容" in page
    status, _, location = await web.post("/staff/notices", {"csrf": csrf, "text": "本周六上午<b>疫苗</b>接种",
                                                            "group": "g-res-2", "buildings": "11号楼"})
    assert status == 303 and location == "/staff/notices/1"
    status, page, _ = await web.get(location)
    assert "幸福里5-8号楼居民群（5人）、幸福里9-12号楼居民群（4人），共2个群、约9人" in page
    assert "&lt;b&gt;疫苗&lt;/b&gt;" in page and "<b>疫苗" not in page  # escaped
    assert await outbox(live_bot_any_db, "notice:") == []  # a preview sends nothing

    status, _, location = await web.post("/staff/notices/1/send", {"csrf": "forged"})
    assert status == 403
    status, _, location = await web.post("/staff/notices/1/send", {"csrf": csrf})
    assert status == 303
    status, page, _ = await web.get(location)
    assert "已发送到 2 个群" in page
    assert sorted(r.target for r in await outbox(live_bot_any_db, "notice:")) == ["g-res-2", "g-res-3"]
    status, page, _ = await web.post("/staff/notices/1/send", {"csrf": csrf})  # a second click
    assert status == 409 and "不能再改了" in page
    assert len(await outbox(live_bot_any_db, "notice:")) == 2

    # The list shows who sent what, when, from where; a notice from the chat too.
    await Chat(live_bot_any_db).say("通知 全部 停电通知", "g-staff", "staff-li")
    status, page, _ = await web.get("/staff/notices")
    assert re.search(r"#1</a></td>\s*<td class=\"status\">已发送", page)
    assert "赵网格员（工作台）" in page and "李书记（聊天）" in page and "2026-11-25 10:00" in page


async def test_a_notice_scheduled_on_the_page_waits_for_its_time(live_bot_any_db: LiveBot, web: StaffBrowser,
                                                                 clock: FixedClock) -> None:
    _, page, _ = await web.get("/staff/notices")
    await web.post("/staff/notices", {"csrf": csrf_of(page), "text": "明天停水", "buildings": "1-4号楼"})
    status, _, location = await web.post("/staff/notices/1/schedule",
                                         {"csrf": csrf_of(page), "send_at": "2026-11-24T08:00"})
    assert status == 400
    status, _, location = await web.post("/staff/notices/1/schedule",
                                         {"csrf": csrf_of(page), "send_at": "2026-11-26T08:00"})
    assert status == 303
    assert "11月26日(周四) 08:00" in (await web.get(location))[1]
    assert live_bot_any_db.linli.scheduler is not None
    clock.set(at(11, 26, 8, 0))
    await live_bot_any_db.linli.scheduler.tick("notices")
    assert [r.target for r in await outbox(live_bot_any_db, "notice:")] == ["g-res-1"]


async def test_residents_are_checked_in_on_the_page_and_hours_download(live_bot_any_db: LiveBot, web: StaffBrowser,
                                                                        clock: FixedClock) -> None:
    chat = Chat(live_bot_any_db)
    code = code_in(one(await chat.say("12月5号想理发"), "g-res-1"))
    clock.set(at(12, 5, 9, 10))
    await web.login("staff-zhao")  # ten days on: the session of the morning has expired
    status, page, _ = await web.get("/staff/sessions")
    assert status == 200
    m = re.search(r'<a href="/staff/sessions/(\d+)">#\d+</a></td>\s*<td>义剪理发</td>\s*<td>12月5日', page)
    assert m, page
    number = m.group(1)
    status, page, _ = await web.get(f"/staff/sessions/{number}")
    assert "张秀兰" in page and "3号楼2单元501" in page and code in page
    status, _, location = await web.post(f"/staff/sessions/{number}/checkin", {"csrf": csrf_of(page), "code": code})
    assert status == 303
    status, page, _ = await web.get(location)
    assert "已签到：张秀兰" in page and 'data-status="present"' in page
    status, page, _ = await web.post(f"/staff/sessions/{number}/checkin", {"csrf": csrf_of(page), "code": "ZZZZZZ"})
    assert status == 400

    clock.set(at(12, 5, 21, 0))
    assert live_bot_any_db.linli.scheduler is not None
    await live_bot_any_db.linli.scheduler.run("attendance")
    await web.login("staff-zhao")
    status, page, _ = await web.get("/staff/hours?month=2026-12")
    assert status == 200 and "何师傅" in page and "匠心便民服务队" in page
    async with web.http.get(web.base + "/staff/hours.csv?month=2026-12") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in resp.headers["Content-Disposition"]
        body = (await resp.read()).decode("utf-8-sig")
    assert body.splitlines()[0] == "志愿者,服务队,服务场次,服务时长（小时）" and "何师傅,匠心便民服务队" in body
    async with web.http.get(web.base + "/staff/hours.xlsx?month=2026-12") as resp:
        assert resp.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert book["志愿时长"]["A1"].value == "幸福里社区 志愿服务时长 2026-12-01 至 2026-12-31"
    assert (await web.get("/staff/hours?month=2026-13"))[0] == 400


async def test_the_new_pages_need_a_login(live_bot_any_db: LiveBot) -> None:
    async with aiohttp.ClientSession() as http:
        browser = StaffBrowser(live_bot_any_db, http)
        for path in ("/staff/notices", "/staff/notices/1", "/staff/sessions", "/staff/hours", "/staff/hours.xlsx"):
            status, _, location = await browser.get(path)
            assert status == 302 and location.startswith("/staff/login"), path
        status, _, _ = await browser.post("/staff/notices", {"text": "x", "group": RESIDENT_GROUPS[0]})
        assert status == 302
