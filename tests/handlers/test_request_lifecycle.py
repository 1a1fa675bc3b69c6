"""A request's life through the simulator (issue 16, items 3-6): only residents file, unknown commands get
a usage line, residents follow their own requests, every step is told, owners and categories; and the
volunteers asked to call a resident back (issue 18, item 2)."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import FixedClock
from storage import requests_repo as repo
from storage.models_learning import LabelCorrection
from storage.models_requests import Request, RequestEvent
from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.requests_support import group_texts, private_texts
from tests.handlers.test_requests import number_in, requests_in_db

req_bot = requests_support.req_bot


async def file(bot: LiveBot, text: str = "3号楼2单元楼道灯坏了", user: str = "r-zhang", group: str = "g-res-1") -> int:
    return number_in(group_texts(await bot.client.say(group, user, text), group)[0])


async def staff(bot: LiveBot, text: str, user: str = "staff-wang", group: str = "g-staff") -> dict:
    return await bot.client.say(group, user, text)


def one(body: dict, group: str = "g-staff") -> str:
    [text] = group_texts(body, group)
    return text


async def events(bot: LiveBot, number: int) -> list[RequestEvent]:
    async with bot.linli.db.transaction() as session:
        return list(await repo.history(session, number))


# --- item 3: only residents file requests ---------------------------------------------------------


async def test_staff_and_volunteer_chat_is_never_filed_as_a_report(req_bot: LiveBot) -> None:
    for group, user, text in [
        ("g-staff", "staff-li", "群发 明天停水"),
        ("g-staff", "staff-wang", "3号楼漏水那户我下午去看一下"),
        ("g-vol", "v-xu", "今天3号楼楼道灯坏了 我看到了"),
        ("g-res-1", "staff-wang", "3号楼楼道灯坏了 我来处理"),  # staff in a residents' group
        ("g-street", "street-chen", "11号楼燃气味的事街道知道了"),
    ]:
        body = await req_bot.client.say(group, user, text)
        assert body["replies"] == [], (group, text)
    assert await requests_in_db(req_bot) == []


async def test_staff_and_volunteer_groups_start_no_booking(live_bot_any_db: LiveBot) -> None:
    # Only commands are acted upon there: a booking, or a question about places, starts nothing.
    for group, user, text in [
        ("g-staff", "staff-li", "我要理发"),
        ("g-staff", "staff-wang", "周六能理发吗"),
        ("g-vol", "v-xu", "想理个发 周六上午"),
        ("g-street", "street-chen", "帮我约个法律咨询"),
    ]:
        body = await live_bot_any_db.client.say(group, user, text)
        assert body["replies"] == [], (group, text)
    # The same words in a residents' group, from a resident, are a booking as ever.
    body = await live_bot_any_db.client.say("g-res-1", "r-zhang", "想理个发 周六上午")
    assert body["replies"] and "理发" in body["replies"][0]["text"]


async def test_a_volunteers_reply_and_a_category_change_never_create_a_request(req_bot: LiveBot) -> None:
    number = await file(req_bot, "低保的申请条件是啥", user="r-chen", group="g-res-2")
    body = await req_bot.client.say("g-vol", "v-xu", f"#{number} 回复：可以带户口本和收入证明到社区办理")
    assert "私信" in one(body, "g-vol")
    assert private_texts(body)["r-chen"][0].endswith("可以带户口本和收入证明到社区办理")
    body = await staff(req_bot, f"#{number} 改为报修")
    assert "「报修」" in one(body)
    [req] = await requests_in_db(req_bot)
    assert req.category == "repair" and req.team is None and req.tier == "grid"


async def test_unknown_commands_get_a_usage_line_and_status_words_leave_no_stray_note(req_bot: LiveBot) -> None:
    number = await file(req_bot)
    assert "工单指令" in one(await staff(req_bot, f"#{number} 随便说说"))
    assert "工单指令" in one(await staff(req_bot, "指派 王网格员"))
    assert "代报格式" in one(await staff(req_bot, "代报 漏水"))
    assert "#编号 进度" in one(await req_bot.client.say("g-res-1", "r-zhang", f"#{number} 怎么还没人管"), "g-res-1")
    assert "「处理中」" in one(await staff(req_bot, f"#{number} 在处理了"))
    assert [e.note for e in await events(req_bot, number) if e.action == "status"] == [None]
    assert len(await requests_in_db(req_bot)) == 1


async def test_staff_file_for_a_resident(req_bot: LiveBot) -> None:
    body = await staff(req_bot, "代报 3号楼2单元 漏水 张阿姨 13900000001", user="staff-li")
    reply = one(body)
    number = number_in(reply)
    assert "张**" in reply and "转告" in reply  # 张阿姨 is not in the file: staff pass the news on
    [req] = await requests_in_db(req_bot)
    assert (req.category, req.object, req.building, req.unit, req.sender_name) == ("repair", "漏水", 3, 2, "张阿姨")
    assert req.sender_id == "staff-li" and "13900000001" in req.text
    # a resident of the file is matched by phone, and told of every step herself
    body = await staff(req_bot, "代报 门禁 坏了 刘德顺 13800000103")
    assert "刘**本人" in one(body)
    body = await staff(req_bot, f"#{number_in(one(body))} 处理中")
    assert set(private_texts(body)) == {"r-liu"}
    assert (await events(req_bot, number))[0].actor_id == "staff-li"


# --- item 4: status on demand ------------------------------------------------------------------------


async def test_residents_ask_after_their_own_requests(req_bot: LiveBot, clock: FixedClock) -> None:
    light = await file(req_bot, "3号楼2单元501楼道灯坏了 电话13900000000")
    clock.advance(minutes=5)
    door = await file(req_bot, "3号楼门禁坏了", user="r-liu")
    clock.advance(minutes=5)
    await staff(req_bot, f"#{light} 指派 王网格员")
    await staff(req_bot, f"#{light} 处理中")
    before = len(await requests_in_db(req_bot))
    mine = one(await req_bot.client.say("g-res-1", "r-zhang", "我的报修"), "g-res-1")
    assert f"#{light}" in mine and "处理中" in mine and "王网格员" in mine and f"#{door}" not in mine
    assert "501" not in mine and "13900000000" not in mine
    asked = one(await req_bot.client.say("g-res-1", "r-zhang", "我报的楼道灯修好了没"), "g-res-1")
    assert f"#{light}" in asked and "处理中" in asked
    progress = one(await req_bot.client.say("g-res-1", "r-zhang", f"#{light} 进度"), "g-res-1")
    assert f"#{light}" in progress and "处理中" in progress
    # someone else's request is not shown
    other = one(await req_bot.client.say("g-res-1", "r-zhang", f"#{door} 进度"), "g-res-1")
    assert "自己" in other and "门禁" not in other
    none = one(await req_bot.client.say("g-res-2", "r-chen", "我的报修"), "g-res-2")
    assert "没有查到" in none
    assert len(await requests_in_db(req_bot)) == before
    # staff see more
    detail = one(await staff(req_bot, f"#{light} 进度"))
    assert "王网格员" in detail and "网格层级" in detail and "期限" in detail


async def test_asking_after_a_hazard_report_is_a_status_question_unless_it_is_happening_now(
        req_bot: LiveBot, clock: FixedClock) -> None:
    body = await req_bot.client.say("g-res-3", "r-sun", "11号楼3单元闻到燃气味")
    number = number_in(group_texts(body, "g-res-3")[0])
    assert group_texts(body, "g-staff")
    clock.advance(hours=3)
    body = await req_bot.client.say("g-res-3", "r-sun", "我报的燃气味的事处理了没")
    assert group_texts(body, "g-staff") == [] and f"#{number}" in group_texts(body, "g-res-3")[0]
    body = await req_bot.client.say("g-res-3", "r-sun", "我报的燃气味现在更大了 快来人")
    assert group_texts(body, "g-staff")  # happening now: staff hear it at once


async def test_a_residents_words_that_start_like_a_command_are_not_one(req_bot: LiveBot) -> None:
    for text in ("改成周六吧", "上报社区了吗", "交给你了"):
        body = await req_bot.client.say("g-res-1", "r-zhang", text)
        assert not any("指令" in r["text"] for r in body["replies"]), text


# --- item 5: every step told ---------------------------------------------------------------------------


async def test_every_reporter_is_told_at_each_step(req_bot: LiveBot, clock: FixedClock) -> None:
    number = await file(req_bot, "3号楼2单元501楼道灯坏了")
    clock.advance(minutes=5)
    await req_bot.client.say("g-res-1", "r-liu", "+1")
    steps = [
        ("收到", "受理"),
        ("处理中", "在处理"),
        ("上报社区", "上报社区"),
        ("上报区里", "城关街道办事处"),
    ]
    for command, told in steps:
        clock.advance(minutes=10)
        body = await staff(req_bot, f"#{number} {command}")
        private = private_texts(body)
        assert {"r-zhang", "r-liu"} <= set(private), command
        for person in ("r-zhang", "r-liu"):
            assert told in private[person][0] and f"#{number}" in private[person][0]
            assert "501" not in private[person][0]  # r-liu never learns r-zhang's room
    clock.advance(minutes=10)
    body = await staff(req_bot, f"#{number} 驳回 属于物业维修范围，请联系物业", user="staff-li")
    private = private_texts(body)
    assert set(private) == {"r-zhang", "r-liu"} and "物业维修范围" in private["r-liu"][0]


async def test_the_street_office_gets_the_escalated_request_with_its_history(req_bot: LiveBot,
                                                                               clock: FixedClock) -> None:
    number = await file(req_bot, "3号楼2单元501门禁坏了好几天 电话13900000000")
    clock.advance(minutes=30)
    await staff(req_bot, f"#{number} 处理中")
    clock.advance(hours=1)
    body = await staff(req_bot, f"#{number} 转街道 需要街道协调更换")
    [group_post] = group_texts(body, "g-street")
    assert f"#{number}" in group_post and "处理经过" in group_post and "处理中" in group_post
    assert "13900000000" not in group_post and "501" not in group_post  # a group: masked
    [private] = private_texts(body)["street-chen"]
    assert "13900000000" in private and "张秀兰" in private  # privately, as staff see it
    # the street office's people may act on it from their group
    assert "「已解决」" in one(await staff(req_bot, f"#{number} 已解决 街道已安排更换", user="street-chen",
                                          group="g-street"), "g-street")


# --- item 6: owners and categories --------------------------------------------------------------------


async def test_assign_tells_the_owner_who_lists_their_own(req_bot: LiveBot, clock: FixedClock) -> None:
    first = await file(req_bot, "3号楼2单元501楼道灯坏了 电话13900000000")
    second = await file(req_bot, "6号楼下水道堵了", user="r-chen", group="g-res-2")
    body = await staff(req_bot, f"#{first} 指派 王网格员", user="staff-li")
    assert "王网格员" in one(body)
    [note] = private_texts(body)["staff-wang"]
    assert "13900000000" in note and "张秀兰" in note and "期限" in note  # as staff see it, privately
    body = await staff(req_bot, f"#{second} 指派 staff-zhao", user="staff-li")
    assert set(private_texts(body)) == {"staff-zhao"}
    mine = one(await staff(req_bot, "我的工单"))
    assert f"#{first}" in mine and f"#{second}" not in mine
    assert "没有未办结" in one(await staff(req_bot, "我的工单", user="staff-li"))
    assert "没有找到" in one(await staff(req_bot, f"#{first} 指派 张三"))
    assert "已经由王网格员负责" in one(await staff(req_bot, f"#{first} 交给王网格员"))
    async with req_bot.linli.db.transaction() as session:
        owners = dict((await session.execute(select(Request.id, Request.owner_id))).all())
    assert owners == {first: "staff-wang", second: "staff-zhao"}


async def test_a_category_change_moves_the_tier_and_tells_the_new_team(req_bot: LiveBot) -> None:
    number = await file(req_bot, "3号楼楼道灯坏了")
    body = await staff(req_bot, f"#{number} 改为 政策咨询", user="staff-li")
    assert "由「报修」改为「政策咨询」" in one(body) and "社区层级" in one(body)
    assert set(private_texts(body)) == {"v-xu", "v-lin"}  # the policy team is asked to call back
    assert "没有“维修站”这个类别" in one(await staff(req_bot, f"#{number} 改为 维修站"))
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and (req.category, req.tier, req.team) == ("policy", "community", "kangnaixin")
    assert [(e.action, e.from_value, e.to_value) for e in await events(req_bot, number)][-1] == (
        "category", "repair", "policy")
    async with req_bot.linli.db.transaction() as session:  # and the bot learns from it (the next training)
        [correction] = (await session.scalars(select(LabelCorrection))).all()
    assert (correction.text, correction.label, correction.previous, correction.source, correction.actor_id) == (
        "3号楼楼道灯坏了", "inquiry:policy", "report:repair", "command", "staff-li")


# --- issue 18, item 2: the volunteers asked to call a resident back -------------------------------------


async def test_policy_volunteers_reach_the_resident_and_mark_the_question_answered(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-2", "r-chen", "低保的申请条件是啥 我家情况比较困难")
    number = number_in(group_texts(body, "g-res-2")[0])
    assert "13800000102" in private_texts(body)["v-lin"][0]  # the number, privately
    body = await req_bot.client.say("g-vol", "v-lin", f"#{number} 联系方式")
    assert "私信" in one(body, "g-vol") and "13800000102" not in one(body, "g-vol")
    assert "13800000102" in private_texts(body)["v-lin"][0]
    # a volunteer of another team, and a resident, are refused
    assert "工作人员" in one(await req_bot.client.say("g-vol", "v-ma", f"#{number} 联系方式"), "g-vol")
    assert "工作人员" in one(await req_bot.client.say("g-res-2", "r-zhou", f"#{number} 已解答"), "g-res-2")
    body = await req_bot.client.say("g-vol", "v-lin", f"#{number} 已解答 已电话告知申请材料")
    assert "「已解决」" in one(body, "g-vol")
    assert "已电话告知申请材料" in private_texts(body)["r-chen"][0]
    # a team member cannot take staff-only steps
    assert "工作人员" in one(await req_bot.client.say("g-vol", "v-lin", f"#{number} 上报街道"), "g-vol")


async def test_a_finished_request_cannot_be_assigned_or_escalated_and_says_why(req_bot: LiveBot) -> None:
    number = await file(req_bot)
    await staff(req_bot, f"#{number} 已解决 换了灯泡")
    for command in (f"#{number} 指派 王网格员", f"#{number} 上报街道", f"#{number} 指派 康乃馨"):
        assert "重新处理" in one(await staff(req_bot, command)), command
    assert "「处理中」" in one(await staff(req_bot, f"#{number} 重新处理"))
    assert "王网格员" in one(await staff(req_bot, f"#{number} 指派 王网格员"))
