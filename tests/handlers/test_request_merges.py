"""Merges that are right (issue 16, item 2): the same category, object and place only; "+1" joins what it
answers and asks when several could be meant; staff undo a wrong merge and each resident is told
only about their own problem."""

from __future__ import annotations

import datetime as dt

from core.clock import FixedClock
from handlers.requests import object_of
from storage import requests_repo as repo
from storage.models_requests import Request
from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.requests_support import group_texts, private_texts
from tests.handlers.test_requests import number_in, requests_in_db

req_bot = requests_support.req_bot


async def say_number(bot: LiveBot, group: str, user: str, text: str) -> int:
    return number_in(group_texts(await bot.client.say(group, user, text), group)[0])


def quoted(name: str, text: str, reply: str) -> str:
    """A WeChat reply: the quote, a line of dashes, the reply."""
    return f"「{name}：{text}」\n- - - - - - - - - - - - - - -\n{reply}"


def test_objects_are_data(demo_directory) -> None:  # type: ignore[no-untyped-def]
    rules = demo_directory.communities[0].requests
    assert object_of(rules, "repair", "3号楼楼道灯不亮了") == "楼道灯"
    assert object_of(rules, "repair", "3号楼的门禁坏了 单元门关不上") == "门禁"
    assert object_of(rules, "repair", "电梯里的灯坏了") == "电梯"
    assert object_of(rules, "repair", "下水道堵了 返水") == "下水道"
    assert object_of(rules, "repair", "什么东西坏了") is None


async def test_a_door_lock_is_not_merged_into_a_hallway_light(req_bot: LiveBot, clock: FixedClock) -> None:
    light = await say_number(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯不亮了")
    clock.advance(minutes=10)
    door = await say_number(req_bot, "g-res-1", "r-liu", "3号楼门禁坏了 单元门关不上")
    assert door != light
    clock.advance(minutes=10)
    # the same door from another group's resident, same building: merged into the door, not the light
    again = await say_number(req_bot, "g-res-2", "r-chen", "3号楼的门禁又坏了")
    assert again == door
    rows = {r.id: r for r in await requests_in_db(req_bot)}
    assert (rows[light].object, rows[light].affected) == ("楼道灯", 1)
    assert (rows[door].object, rows[door].affected) == ("门禁", 2)


async def test_another_building_or_unit_is_another_request(req_bot: LiveBot, clock: FixedClock) -> None:
    first = await say_number(req_bot, "g-res-3", "r-sun", "11号楼1单元楼道灯坏了")
    clock.advance(minutes=5)
    assert await say_number(req_bot, "g-res-3", "v-tang", "12号楼楼道灯坏了") != first
    clock.advance(minutes=5)
    assert await say_number(req_bot, "g-res-3", "v-tang", "11号楼2单元楼道灯坏了") != first
    clock.advance(minutes=5)
    assert await say_number(req_bot, "g-res-3", "v-tang", "11号楼1单元的楼道灯也坏了") == first


async def test_plus_one_joins_the_report_just_above_in_that_group(req_bot: LiveBot, clock: FixedClock) -> None:
    pipe = await say_number(req_bot, "g-res-1", "r-zhang", "2号楼漏水了 楼上渗下来的")
    clock.advance(minutes=40)
    light = await say_number(req_bot, "g-res-1", "r-liu", "3号楼楼道灯不亮了")
    elsewhere = await say_number(req_bot, "g-res-2", "r-chen", "6号楼下水道堵了")
    clock.advance(minutes=2)
    body = await req_bot.client.say("g-res-1", "v-he", "+1")
    assert number_in(group_texts(body, "g-res-1")[0]) == light
    clock.advance(minutes=1)
    body = await req_bot.client.say("g-res-1", "r-zhang", "我家也是")
    assert number_in(group_texts(body, "g-res-1")[0]) == light
    rows = {r.id: r for r in await requests_in_db(req_bot)}
    assert (rows[pipe].affected, rows[light].affected, rows[elsewhere].affected) == (1, 3, 1)


async def test_a_quoted_plus_one_joins_the_quoted_report(req_bot: LiveBot, clock: FixedClock) -> None:
    pipe = await say_number(req_bot, "g-res-1", "r-zhang", "2号楼漏水了 楼上渗下来的")
    clock.advance(minutes=3)
    light = await say_number(req_bot, "g-res-1", "r-liu", "3号楼楼道灯不亮了")
    clock.advance(minutes=1)
    body = await req_bot.client.say("g-res-1", "v-he", quoted("张秀兰", "2号楼漏水了 楼上渗下来的", "同问"))
    assert number_in(group_texts(body, "g-res-1")[0]) == pipe != light


async def test_several_candidates_the_resident_is_asked_which(req_bot: LiveBot, clock: FixedClock) -> None:
    pipe = await say_number(req_bot, "g-res-1", "r-zhang", "2号楼漏水了")
    light = await say_number(req_bot, "g-res-1", "r-liu", "3号楼楼道灯不亮了")
    clock.advance(minutes=30)  # neither is "just above" any more
    body = await req_bot.client.say("g-res-1", "v-he", "+1")
    [question] = group_texts(body, "g-res-1")
    assert f"#{pipe}" in question and f"#{light}" in question and "哪一件" in question
    assert question.index(f"#{light}") < question.index(f"#{pipe}")  # the latest first
    # another neighbour is asked too, and "都不是" leaves both alone
    await req_bot.client.say("g-res-1", "r-sun", "+1")
    body = await req_bot.client.say("g-res-1", "r-sun", "都不是")
    assert "不合并" in group_texts(body, "g-res-1")[0]
    body = await req_bot.client.say("g-res-1", "v-he", "2")
    assert number_in(group_texts(body, "g-res-1")[0]) == pipe
    rows = {r.id: r for r in await requests_in_db(req_bot)}
    assert (rows[pipe].affected, rows[light].affected) == (2, 1)


async def test_staff_split_a_wrong_merge_and_each_resident_is_told_about_their_own(
        req_bot: LiveBot, clock: FixedClock) -> None:
    light = await say_number(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯不亮了")
    clock.advance(minutes=1)
    # a wrong merge, as the bot made them before (the door locks merged into a light)
    async with req_bot.linli.db.transaction() as session:
        req = await repo.get_request(session, "xingfuli", light)
        assert req is not None
        await repo.add_reporter(session, req, person_id="r-liu", name="刘德顺", channel="sim", group_id="g-res-1",
                                text="3号楼门锁坏了进不去", now=clock.now())
    [req] = await requests_in_db(req_bot)
    assert req.affected == 2
    clock.advance(minutes=30)
    body = await req_bot.client.say("g-staff", "staff-wang", f"#{light} 拆分 刘德顺")
    [staff_text] = group_texts(body, "g-staff")
    assert f"#{light}" in staff_text and "刘**" in staff_text
    told = private_texts(body)
    assert set(told) == {"r-liu"}
    assert "门锁" in told["r-liu"][0] and "楼道灯" not in told["r-liu"][0]
    rows = await requests_in_db(req_bot)
    assert len(rows) == 2
    old, new = rows
    assert (old.affected, new.affected, new.sender_id, new.building) == (1, 1, "r-liu", 3)
    assert number_in(staff_text.split("拆分为")[1]) == new.id
    # resolving each tells only its own residents, each about their own problem
    body = await req_bot.client.say("g-staff", "staff-wang", f"#{light} 已解决 换了灯泡")
    assert set(private_texts(body)) == {"r-zhang"}
    body = await req_bot.client.say("g-staff", "staff-wang", f"#{new.id} 已解决 换了门锁")
    [note] = private_texts(body)["r-liu"]
    assert "门锁" in note and "灯" not in note.replace("换了门锁", "")
    # the first reporter cannot be split out, and a stranger is not found
    assert "不能拆出" in group_texts(await req_bot.client.say("g-staff", "staff-wang", f"#{light} 拆分 张秀兰"),
                                     "g-staff")[0]
    assert "没有找到" in group_texts(await req_bot.client.say("g-staff", "staff-wang", f"#{light} 拆分 王五"),
                                    "g-staff")[0]


async def test_requests_of_other_communities_are_never_candidates(req_bot: LiveBot) -> None:
    async with req_bot.linli.db.transaction() as session:
        session.add(Request(community="elsewhere", channel="sim", group_id="g-res-1", sender_id="x", sender_name="某",
                            category="repair", text="3号楼楼道灯不亮了", building=3, grid="g", tier="grid",
                            urgent=False, status="new", affected=1, version=1, object="楼道灯",
                            created_at=req_bot.linli.clock.now(), updated_at=req_bot.linli.clock.now()))
    number = await say_number(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯不亮了")
    rows = [r for r in await requests_in_db(req_bot) if r.community == "xingfuli"]
    assert [r.id for r in rows] == [number] and rows[0].affected == 1


async def test_the_senders_open_request_of_the_last_minutes_is_found(req_bot: LiveBot, clock: FixedClock) -> None:
    """What a photo or a location sent after a report attaches to (issue 16, item 9 builds on it)."""
    light = await say_number(req_bot, "g-res-1", "r-zhang", "3号楼楼道灯不亮了")
    clock.advance(minutes=3)
    await req_bot.client.say("g-res-1", "r-liu", "+1")
    async with req_bot.linli.db.transaction() as session:
        since = clock.now() - dt.timedelta(minutes=10)
        mine = await repo.open_request_of_sender(session, "xingfuli", "r-zhang", since)
        joined = await repo.open_request_of_sender(session, "xingfuli", "r-liu", since)
        nobody = await repo.open_request_of_sender(session, "xingfuli", "r-chen", since)
        too_old = await repo.open_request_of_sender(session, "xingfuli", "r-zhang", clock.now())
    assert (mine and mine.id, joined and joined.id, nobody, too_old) == (light, light, None, None)
