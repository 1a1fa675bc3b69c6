"""Staff teach the bot through the staff web, over real HTTP: the 待确认 list and its two one-click actions,
a request's explanation and its category corrected; every action stored as a masked labelled example."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from core.clock import FixedClock
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage import requests_repo as repo
from storage.models_learning import LabelCorrection, UnsureMessage
from storage.models_requests import Request
from tests.bot.test_staff_web import StaffBrowser
from tests.conftest import LiveBot, make_settings, start_live_bot
from tests.handlers.requests_support import keyword_understand, migrated
from tests.handlers.test_requests import number_in, one_reply

UNSURE_CUE = "好像"  # the test reader is unsure of any message with this word in it


def unsure_or_keywords(text: str, now: dt.datetime) -> Understanding:
    """The requests tests' keyword reader, unsure (chit-chat, may be a request) of "好像" messages."""
    norm = normalize(text)
    if UNSURE_CUE in norm:
        return Understanding("chitchat", 0.55, ranked=(("chitchat", 0.55), ("report:repair", 0.35)), text=norm,
                             confident=False, may_be_request=True)
    return keyword_understand(text, now)


@pytest.fixture
async def bot(db_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    await migrated(db_url)
    live, close = await start_live_bot(make_settings(db_url), clock, understand=unsure_or_keywords)
    try:
        yield live
    finally:
        await close()


@pytest.fixture
async def web(bot: LiveBot) -> AsyncIterator[StaffBrowser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = StaffBrowser(bot, http)
        status, _, _ = await browser.login("staff-li")
        assert status == 302
        yield browser


def kept_rows(page: str) -> dict[int, str]:
    """The 待确认 rows of the page: id -> the row's HTML."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r'<tr data-id="(\d+)">(.*?)</tr>', page, re.S)}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def corrections(bot: LiveBot) -> list[LabelCorrection]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(LabelCorrection).order_by(LabelCorrection.id))).all())


async def private_texts(bot: LiveBot, user: str, *, containing: str) -> list[str]:
    """The user's private messages, once the outbox has delivered one containing `containing`."""
    texts: list[str] = []
    for _ in range(100):
        await bot.linli.drainer.drain_once()
        texts = [m["text"] for m in await bot.client.user_timeline(user)]
        if any(containing in t for t in texts):
            break
        await asyncio.sleep(0.05)
    return texts


async def test_an_unsure_message_is_listed_and_filed_with_one_click_and_the_resident_is_told(
        bot: LiveBot, web: StaffBrowser) -> None:
    said = "3号楼2单元楼道里好像有点不对劲 我电话13912345678"
    body = await bot.client.say("g-res-1", "r-zhang", said)
    assert body["replies"] == []  # no reply in the group
    status, page, _ = await web.get("/staff/unsure")
    assert status == 200 and 'id="nav-unsure"' in page
    [(row_id, row)] = kept_rows(page).items()
    assert said in row and "张秀兰" in row and "幸福里1-4号楼居民群" in row  # staff see it whole
    assert '<option value="repair" selected>' in row  # the likeliest request is offered first

    status, _, location = await web.post(f"/staff/unsure/{row_id}",
                                         {"csrf": csrf_of(page), "action": "file", "category": "repair"})
    assert status == 303 and location.startswith("/staff/unsure?done=")
    _, page, _ = await web.get(location)
    number = int(re.search(r"已登记为 #(\d+)", page).group(1))  # type: ignore[union-attr]
    assert "居民已收到私信" in page and kept_rows(page) == {}

    async with bot.linli.db.transaction() as session:
        req = await repo.get_request(session, "xingfuli", number)
        kept = await session.get(UnsureMessage, row_id)
    assert req is not None and (req.category, req.sender_id, req.building, req.text) == ("repair", "r-zhang", 3, said)
    assert kept is not None and (kept.status, kept.request_id, kept.resolved_by) == ("filed", number, "李书记")
    texts = await private_texts(bot, "r-zhang", containing=f"#{number}")
    [told] = [t for t in texts if f"#{number}" in t]
    assert "帮您登记" in told and "13912345678" not in told
    assert not any(f"#{number}" in m["text"] for m in await bot.client.group_timeline("g-res-1"))
    [correction] = await corrections(bot)
    assert (correction.label, correction.previous, correction.source, correction.request_id, correction.actor_id) == (
        "report:repair", "chitchat", "unsure", number, "staff-li")
    assert "139****5678" in correction.text and "13912345678" not in correction.text  # stored masked


async def test_a_hazard_in_doubtful_words_is_never_parked_and_alerts_the_staff_group(bot: LiveBot,
                                                                                     web: StaffBrowser) -> None:
    # "是我闻错了吗" makes it sound unsure; a gas smell is alerted at once all the same, never left
    # in 待确认 for someone to click.
    answer = await bot.client.say("g-res-2", "r-chen", "5号楼楼道好像有股燃气味 是我闻错了吗")
    assert any("燃气" in r["text"] for r in answer["replies"])
    _, page, _ = await web.get("/staff/unsure")
    assert not kept_rows(page)
    for _ in range(100):
        await bot.linli.drainer.drain_once()
        staff_group = [m["text"] for m in await bot.client.group_timeline("g-staff")]
        if staff_group:
            break
        await asyncio.sleep(0.05)
    assert any("🚨" in t and "燃气味" in t for t in staff_group)


async def test_marked_chitchat_it_leaves_the_list_and_a_second_click_is_refused(bot: LiveBot,
                                                                               web: StaffBrowser) -> None:
    await bot.client.say("g-res-1", "r-liu", "今天好像要下雨 大家记得收衣服")
    _, page, _ = await web.get("/staff/unsure")
    [row_id] = kept_rows(page)
    form = {"csrf": csrf_of(page), "action": "chitchat"}
    status, _, _ = await web.post(f"/staff/unsure/{row_id}", {**form, "csrf": "forged"})
    assert status == 403
    status, _, location = await web.post(f"/staff/unsure/{row_id}", form)
    assert status == 303
    _, page, _ = await web.get(location)
    assert "已标为闲聊" in page and kept_rows(page) == {}
    status, page, _ = await web.post(f"/staff/unsure/{row_id}", {**form, "action": "file", "category": "repair"})
    assert status == 409 and "已经被李书记处理过了" in page
    [correction] = await corrections(bot)
    assert (correction.label, correction.previous, correction.source) == ("chitchat", "chitchat", "unsure")
    async with bot.linli.db.transaction() as session:
        assert (await session.scalars(select(Request))).all() == []  # nothing filed, nobody told
    assert await bot.client.user_timeline("r-liu") == []


async def test_a_requests_page_explains_its_reading_and_takes_a_category_correction(
        bot: LiveBot, web: StaffBrowser) -> None:
    number = number_in(await one_reply(bot, "g-res-1", "r-zhang", "3号楼2单元501 楼道灯下面堆满了垃圾 电话13900000000"))
    status, page, _ = await web.get(f"/staff/requests/{number}")
    assert status == 200 and 'id="explanation"' in page
    normalized = re.search(r'id="normalized">([^<]*)<', page)
    assert normalized and "楼道灯下面堆满了垃圾" in normalized.group(1)
    assert re.search(r'id="model">[^<]*(环境卫生|报修) 0\.\d{3}', page)  # the model's top labels with scores
    assert re.search(r'id="reason">模型[^<]+<', page) and 'id="hits"' in page and "楼道灯" in page
    form = await web.form_of(number)

    status, _, location = await web.post(f"/staff/requests/{number}/category", {**form, "value": "sanitation"})
    assert status == 303
    _, page, _ = await web.get(location)
    assert "类别已由「报修」改为「环境卫生」" in page and "<h2>#" in page and "环境卫生" in page
    status, page, _ = await web.post(f"/staff/requests/{number}/category", {**form, "value": "parking"})
    assert status == 409  # from the page as it was before the change
    async with bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
        events = [(e.action, e.from_value, e.to_value) for e in await repo.history(session, number)]
    assert req is not None and (req.category, req.version) == ("sanitation", 2)
    assert ("category", "repair", "sanitation") in events
    [correction] = await corrections(bot)
    assert (correction.label, correction.previous, correction.source, correction.request_id) == (
        "report:sanitation", "report:repair", "request", number)
    assert "139****0000" in correction.text and "***" in correction.text.split("单元")[1][:4]  # phone, room masked
    for _ in range(100):
        await bot.linli.drainer.drain_once()
        staff_group = [m["text"] for m in await bot.client.group_timeline("g-staff")]
        if staff_group:
            break
        await asyncio.sleep(0.05)
    assert any(f"#{number}" in t and "环境卫生" in t and "网页" in t for t in staff_group)
