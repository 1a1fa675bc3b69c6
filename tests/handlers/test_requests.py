"""Residents' requests through the live bot: intake, merging, urgent alerts, the policy FAQ, privacy."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from config.community import RequestRules
from core.clock import FixedClock
from handlers.hazard_alerts import is_urgent
from handlers.requests import is_bare_also_reply, match_faq, tier_for
from storage.models_requests import Request, RequestEvent, RequestReporter
from tests.conftest import LiveBot
from tests.handlers import requests_support

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier

NUMBER = re.compile(r"#(\d+)")


def number_in(text: str) -> int:
    m = NUMBER.search(text)
    assert m, f"no request number in {text!r}"
    return int(m.group(1))


async def one_reply(bot: LiveBot, group: str, user: str, text: str) -> str:
    body = await bot.client.say(group, user, text)
    group_replies = [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == group]
    assert len(group_replies) == 1, body
    return group_replies[0]


async def requests_in_db(bot: LiveBot) -> list[Request]:
    async with bot.linli.db.transaction() as session:
        return list((await session.scalars(select(Request).order_by(Request.id))).all())


async def test_a_report_becomes_a_request_with_place_grid_and_tier(req_bot: LiveBot) -> None:
    reply = await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼2单元501家里漏水了 楼上渗下来的 电话13900000000")
    number = number_in(reply)
    assert "张**" in reply and "张秀兰" not in reply
    assert "501" not in reply and "13900000000" not in reply
    assert "第一网格" not in reply and "3号楼2单元" in reply
    [req] = await requests_in_db(req_bot)
    assert req.id == number
    assert (req.category, req.building, req.unit, req.room) == ("repair", 3, 2, "501")
    assert (req.grid, req.tier, req.status, req.urgent, req.affected) == ("grid-1", "grid", "new", False, 1)
    assert req.sender_id == "r-zhang" and "13900000000" in req.text  # staff see the full text


async def test_without_a_building_the_grid_comes_from_the_senders_group(req_bot: LiveBot) -> None:
    await one_reply(req_bot, "g-res-2", "r-chen", "小区里的垃圾好几天没人清了")
    [req] = await requests_in_db(req_bot)
    assert (req.building, req.grid) == (None, "grid-2")


async def test_tier_cues_raise_a_grid_matter_to_the_community(req_bot: LiveBot) -> None:
    await one_reply(req_bot, "g-res-2", "r-chen", "6号楼停水了 一滴水都没有")
    [req] = await requests_in_db(req_bot)
    assert req.tier == "community"


async def test_same_problem_from_neighbours_is_merged_with_a_count(req_bot: LiveBot, clock: FixedClock) -> None:
    first = await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼2单元楼道灯坏了好几天了")
    number = number_in(first)
    clock.advance(minutes=30)
    second = await one_reply(req_bot, "g-res-1", "r-liu", "3号楼的楼道灯晚上也不亮")
    assert number_in(second) == number and "2 户" in second and "刘**" in second
    clock.advance(minutes=5)
    # "+1" is chit-chat to the classifier; it joins the group's recent request
    plus = await one_reply(req_bot, "g-res-1", "v-he", "+1")
    assert number_in(plus) == number and "3 户" in plus
    # the same resident again is not counted twice
    again = await one_reply(req_bot, "g-res-1", "r-liu", "+1")
    assert number_in(again) == number and "户" not in again
    [req] = await requests_in_db(req_bot)
    assert req.affected == 3
    async with req_bot.linli.db.transaction() as session:
        reporters = (await session.scalars(select(RequestReporter.person_id)
                                           .where(RequestReporter.request_id == number))).all()
        merged = await session.scalar(select(func.count()).select_from(RequestEvent)
                                      .where(RequestEvent.request_id == number, RequestEvent.action == "merged"))
    assert set(reporters) == {"r-zhang", "r-liu", "v-he"} and merged == 2

    # outside the merge window the same building and category is a new request
    clock.advance(hours=3)
    later = await one_reply(req_bot, "g-res-1", "r-liu", "3号楼的楼道灯又坏了")
    assert number_in(later) != number


async def test_me_too_report_without_building_joins_the_groups_recent_request(req_bot: LiveBot,
                                                                                clock: FixedClock) -> None:
    first = await one_reply(req_bot, "g-res-2", "r-chen", "6号楼停水了 也没看到通知")
    clock.advance(minutes=20)
    also = await one_reply(req_bot, "g-res-2", "r-zhou", "我家也停水了！！")
    assert number_in(also) == number_in(first)
    assert len(await requests_in_db(req_bot)) == 1


async def test_bare_plus_one_without_a_recent_request_gets_no_answer(req_bot: LiveBot, clock: FixedClock) -> None:
    body = await req_bot.client.say("g-res-1", "r-zhang", "+1")
    assert body["replies"] == []
    await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼2单元楼道灯坏了")
    clock.advance(hours=2, minutes=1)
    body = await req_bot.client.say("g-res-1", "r-liu", "+1")
    assert body["replies"] == []
    # a "+1" in another group does not join this group's request either
    clock.advance(hours=-1)
    body = await req_bot.client.say("g-res-2", "r-chen", "+1")
    assert body["replies"] == []


async def test_urgent_hazard_alerts_the_staff_group_at_once(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-3", "r-sun", "11号楼3单元602闻到好大一股燃气味 我电话13800000104")
    to_staff = [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == "g-staff"]
    to_group = [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == "g-res-3"]
    assert len(to_staff) == 1 and len(to_group) == 1
    alert = to_staff[0]
    number = number_in(to_group[0])
    assert f"#{number}" in alert and "紧急" in alert and "11号楼3单元" in alert
    assert "602" not in alert and "13800000104" not in alert and "138****0104" in alert
    assert "119" in to_group[0]
    [req] = await requests_in_db(req_bot)
    assert req.urgent and req.tier == "street"  # 燃气味 is a street-office matter in the demo config
    staff_timeline = await req_bot.client.group_timeline("g-staff")
    assert any(f"#{number}" in m["text"] for m in staff_timeline)


async def test_a_hypothetical_hazard_is_not_urgent(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-2", "r-zhou", "7号楼一楼有人拉电线给电瓶车充电 这要是着火了咋整")
    assert [r for r in body["replies"] if r["target"] == "g-staff"] == []
    [req] = await requests_in_db(req_bot)
    assert not req.urgent


async def test_policy_question_answered_from_the_faq(req_bot: LiveBot) -> None:
    reply = await one_reply(req_bot, "g-res-1", "r-liu", "请问明年的城乡居民医保啥时候开始交 今年一个人交多少钱")
    assert "缴费" in reply and "#" not in reply
    assert await requests_in_db(req_bot) == []


async def test_policy_question_without_faq_goes_to_the_policy_volunteers(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-2", "r-chen", "低保的申请条件是啥 我家情况比较困难 我电话13800000102")
    group = [r["text"] for r in body["replies"] if r["to"] == "group"]
    private = {r["target"]: r["text"] for r in body["replies"] if r["to"] == "user"}
    assert len(group) == 1 and "康乃馨" in group[0]
    number = number_in(group[0])
    assert set(private) == {"v-xu", "v-lin"}  # the kangnaixin team
    # the volunteers who must call back get the resident's number privately, as staff see it
    assert f"#{number}" in private["v-xu"] and "低保" in private["v-xu"] and "13800000102" in private["v-xu"]
    assert "陈建国" in private["v-xu"] and "5号楼1单元302" in private["v-xu"]
    [req] = await requests_in_db(req_bot)
    assert (req.category, req.team, req.tier) == ("policy", "kangnaixin", "community")


async def test_no_group_message_ever_shows_a_residents_phone_or_room(req_bot: LiveBot, clock: FixedClock) -> None:
    says = [
        ("g-res-1", "r-zhang", "3号楼2单元501漏水了 电话13900000000"),
        ("g-res-1", "r-liu", "+1"),
        ("g-res-2", "r-zhou", "7号楼2单元1101楼道灯不亮 联系我13800000105"),
        ("g-res-3", "r-sun", "11-3-602 燃气味很大 13800000104"),
    ]
    for group, user, text in says:
        await req_bot.client.say(group, user, text)
        clock.advance(minutes=1)
    [first, *_] = await requests_in_db(req_bot)
    await req_bot.client.say("g-staff", "staff-wang", f"#{first.id} 已解决 换了水阀 有事打13800000101")
    for group in ("g-res-1", "g-res-2", "g-res-3", "g-staff"):
        bot_says = [m for m in await req_bot.client.group_timeline(group) if m["from"] == "bot"]
        assert bot_says, group
        for msg in bot_says:
            for secret in ("13900000000", "13800000105", "13800000104", "13800000101", "501", "1101", "602"):
                assert secret not in msg["text"], (group, msg["text"])


# --- pure rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("刚路过11号楼闻到好大一股燃气味", True),
        ("电梯困人了 快来人", True),
        ("楼梯口有人摔倒了", True),
        ("万一着火消防车都进不来", False),
        ("这要是着火了咋整", False),
        ("楼道灯坏了", False),
    ],
)
def test_is_urgent(demo_directory, text: str, urgent: bool) -> None:  # type: ignore[no-untyped-def]
    rules = demo_directory.communities[0].requests
    assert is_urgent(rules, text) is urgent


@pytest.mark.parametrize(
    ("category", "text", "tier"),
    [
        ("repair", "楼道灯坏了", "grid"),
        ("repair", "电梯又坏了", "community"),
        ("safety", "有人冒充社区打电话 是诈骗吧", "street"),
        ("elderly_care", "独居老人没人照顾", "community"),
        ("unknown", "什么", "grid"),
    ],
)
def test_tier_for(demo_directory, category: str, text: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    assert tier_for(demo_directory.communities[0].requests, category, text) == tier


@pytest.mark.parametrize(
    ("text", "faq"),
    [
        ("医保啥时候交", "medical_insurance_payment"),
        ("养老保险认证是在手机上弄吗", "pension_certification"),
        ("老年证在哪办", "senior_card"),
        ("医保个人账户的钱能给家里人用吗", None),
        ("低保怎么申请", None),
    ],
)
def test_match_faq(demo_directory, text: str, faq: str | None) -> None:  # type: ignore[no-untyped-def]
    found = match_faq(demo_directory.communities[0].requests, text)
    assert (found.id if found else None) == faq


@pytest.mark.parametrize(
    ("text", "bare"),
    [("+1", True), ("＋1", True), ("我家也是", True), ("同上！", True), ("我们也停水了", True),
     ("哈哈我也是这么想的 周末去公园玩吧大家", False), ("谢谢", False), ("", False)],
)
def test_bare_also_reply(text: str, bare: bool) -> None:
    assert is_bare_also_reply(RequestRules(), text) is bare
