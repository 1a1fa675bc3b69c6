"""A request's later life on the staff page (issue 16, items 2, 6, 7, 8): owner and overdue filters and
marks, assigning, changing the category, splitting a wrong merge, satisfaction, the on-time chart."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.clock import FixedClock
from storage import requests_repo as repo
from storage.models_requests import Request, RequestReporter
from tests.bot import test_staff_web
from tests.bot.test_staff_web import StaffBrowser, file
from tests.conftest import SHANGHAI, LiveBot
from tests.handlers import requests_support
from tests.handlers.test_request_deadlines import delivered

req_bot = requests_support.req_bot
browsers = test_staff_web.browsers  # the fixture: two staff members' browsers


def rows_of(page: str) -> list[str]:
    return re.findall(r'<tr data-id="(\d+)"', page)


async def test_the_page_filters_by_owner_and_marks_overdue_requests(req_bot: LiveBot, browsers: list[StaffBrowser],
                                                                   clock: FixedClock) -> None:
    light = await file(req_bot, "3号楼2单元楼道灯坏了")
    drain = await file(req_bot, "6号楼下水道堵了", user="r-chen", group="g-res-2")
    await req_bot.client.say("g-staff", "staff-li", f"#{light} 指派 王网格员")
    web = browsers[0]
    await web.login("staff-wang")
    _, page, _ = await web.get("/staff?owner=me")
    assert rows_of(page) == [str(light)]
    _, page, _ = await web.get("/staff?owner=-")
    assert rows_of(page) == [str(drain)]
    _, page, _ = await web.get("/staff?owner=staff-zhao")
    assert rows_of(page) == []
    _, page, _ = await web.get("/staff?overdue=1")
    assert rows_of(page) == []
    clock.advance(days=6)  # past three working days
    await web.login("staff-wang")  # the session of six days ago has expired
    _, page, _ = await web.get("/staff?overdue=1")
    assert sorted(rows_of(page)) == sorted([str(light), str(drain)])
    assert page.count('data-overdue="1"') == 2 and "超期" in page
    _, detail, _ = await web.get(f"/staff/requests/{light}")
    assert "王网格员" in detail and "超期" in detail


async def test_assign_change_category_and_split_from_the_page(req_bot: LiveBot, browsers: list[StaffBrowser],
                                                              clock: FixedClock) -> None:
    light = await file(req_bot, "3号楼2单元楼道灯坏了")
    clock.advance(minutes=1)
    async with req_bot.linli.db.transaction() as session:  # a wrong merge (as the bot made them before)
        req = await repo.get_request(session, "xingfuli", light)
        assert req is not None
        await repo.add_reporter(session, req, person_id="r-liu", name="刘德顺", channel="sim", group_id="g-res-1",
                                text="3号楼门锁坏了进不去", now=clock.now())
    web = browsers[0]
    await web.login("staff-li")
    form = await web.form_of(light)
    status, _, location = await web.post(f"/staff/requests/{light}/assign", {**form, "value": "staff-zhao"})
    assert status == 303 and "%E6%8C%87%E6%B4%BE" in location  # 指派
    await delivered(req_bot)
    assert any(f"#{light}" in m["text"] for m in await req_bot.client.user_timeline("staff-zhao"))
    # a stale form is refused
    status, page, _ = await web.post(f"/staff/requests/{light}/category", {**form, "value": "safety"})
    assert status == 409 and "没有保存" in page
    form = await web.form_of(light)
    status, page, _ = await web.post(f"/staff/requests/{light}/category", {**form, "value": "nonsense"})
    assert status == 400
    status, _, _ = await web.post(f"/staff/requests/{light}/category", {**form, "value": "safety"})
    assert status == 303
    status, _, _ = await web.post(f"/staff/requests/{light}/split", {**await web.form_of(light), "value": "r-liu"})
    assert status == 303
    await delivered(req_bot)
    told = [m["text"] for m in await req_bot.client.user_timeline("r-liu")]
    assert any("门锁" in t and "单独登记" in t for t in told)
    async with req_bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(Request).order_by(Request.id))).all()
    assert [(r.category, r.owner_id, r.affected, r.sender_id) for r in rows] == [
        ("safety", "staff-zhao", 1, "r-zhang"), ("safety", None, 1, "r-liu")]
    staff_group = [m["text"] for m in await req_bot.client.group_timeline("g-staff")]
    assert any("网页" in t and "拆分" in t for t in staff_group)
    # someone without a session cannot
    anonymous = StaffBrowser(req_bot, req_bot.client.http)
    status, _, _ = await anonymous.post(f"/staff/requests/{light}/assign", {"value": "staff-wang", "version": "1",
                                                                           "csrf": "x"})
    assert status in (302, 401, 403)


async def test_satisfaction_shows_on_the_page_and_the_rates_chart_draws(req_bot: LiveBot,
                                                                         browsers: list[StaffBrowser],
                                                                         clock: FixedClock) -> None:
    light = await file(req_bot, "3号楼2单元楼道灯坏了")
    await req_bot.client.say("g-staff", "staff-wang", f"#{light} 已解决 换了灯泡")
    async with req_bot.linli.db.transaction() as session:
        reporter = await session.get(RequestReporter, (light, "r-zhang"))
        assert reporter is not None
        reporter.satisfaction, reporter.rated_at = 4, clock.now().astimezone(SHANGHAI)
    web = browsers[0]
    await web.login("staff-wang")
    _, page, _ = await web.get("/staff")
    assert "4.0（1）" in page
    _, detail, _ = await web.get(f"/staff/requests/{light}")
    assert "张秀兰 4 分" in detail
    _, charts, _ = await web.get("/staff/charts")
    assert 'class="on-time"' in charts and 'data-share="100"' in charts and "按期办结率" in charts
    async with web.http.get(web.base + "/staff/charts/rates.png") as resp:
        assert resp.status == 200 and resp.content_type == "image/png"
        assert (await resp.read()).startswith(b"\x89PNG")
