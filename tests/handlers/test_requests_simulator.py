"""The issue's example sentences through the real classifier (`nlp.understand`) and the live simulator."""

from __future__ import annotations

from sqlalchemy import select

from core.clock import FixedClock
from storage.models_requests import Request, RequestEvent
from tests.conftest import LiveBot
from tests.handlers.test_requests import number_in


def group_reply(body: dict, group: str) -> str:
    texts = [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == group]
    assert len(texts) == 1, body
    return texts[0]


async def test_report_merge_and_staff_lifecycle(live_bot: LiveBot, clock: FixedClock) -> None:
    sim = live_bot.client
    body = await sim.say("g-res-1", "r-zhang",
                         "3号楼2单元楼道灯以经坏了好几天了 晚上黑咕隆咚的 上楼全靠手机照着 啥时候能来修一下啊")
    number = number_in(group_reply(body, "g-res-1"))
    clock.advance(minutes=10)
    merged = group_reply(await sim.say("g-res-1", "r-liu", "我家也是"), "g-res-1")
    assert number_in(merged) == number and "2 户" in merged
    for command, shown in ((f"#{number} 处理中", "处理中"), (f"#{number} 上报街道", "街道"),
                           (f"#{number} 已解决 换了水阀", "已解决")):
        clock.advance(minutes=5)
        assert shown in group_reply(await sim.say("g-staff", "staff-wang", command), "g-staff")
    private = [m["text"] for m in await sim.user_timeline("r-zhang")]
    assert any("换了水阀" in t for t in private)


async def test_water_cut_reported_twice_is_one_request(live_bot: LiveBot, clock: FixedClock) -> None:
    sim = live_bot.client
    first = group_reply(await sim.say("g-res-2", "r-chen", "停水了？？？6号楼这边一滴水都没有 也没看到通知啊 咋回事"),
                        "g-res-2")
    clock.advance(minutes=3)
    second = group_reply(await sim.say("g-res-2", "r-zhou", "我家也停水了"), "g-res-2")
    assert number_in(second) == number_in(first) and "2 户" in second


async def test_gas_smell_alerts_staff_at_once(live_bot: LiveBot) -> None:
    body = await live_bot.client.say(
        "g-res-3", "r-sun", "刚路过11号楼那边闻到好大一股燃气味!!不知道谁家的 我也不敢按门铃 快找人来看看吧")
    assert "紧急" in group_reply(body, "g-staff")


async def test_policy_faq_and_volunteers(live_bot: LiveBot) -> None:
    sim = live_bot.client
    answer = group_reply(await sim.say("g-res-1", "r-liu", "请问明年的城乡居民医保啥时候开始交,今年一个人交多少钱"),
                         "g-res-1")
    assert "缴费" in answer
    body = await sim.say("g-res-2", "r-chen",
                         "低保的申请条件是啥 我家情况比较困难 老公瘫在床上 我一个人打零工 孩子还在上学")
    assert "康乃馨" in group_reply(body, "g-res-2")
    assert {r["target"] for r in body["replies"] if r["to"] == "user"} == {"v-xu", "v-lin"}


async def test_reject_with_reason(live_bot: LiveBot) -> None:
    sim = live_bot.client
    body = await sim.say("g-res-2", "r-zhou", "楼上那家装修天天早上七点就开始砸墙 能不能管管啊")
    number = number_in(group_reply(body, "g-res-2"))
    reply = group_reply(await sim.say("g-staff", "staff-li", f"#{number} 驳回 不属于社区职责"), "g-staff")
    assert "已驳回" in reply


# --- issue 16's wordings through the real classifier ---------------------------------------------------


async def test_issue16_emergencies_alert_and_a_hazard_question_is_answered(live_bot: LiveBot,
                                                                          clock: FixedClock) -> None:
    sim = live_bot.client
    body = await sim.say("g-res-1", "r-zhang", "电梯卡住了，我被困在里面")
    assert "紧急" in group_reply(body, "g-staff")
    old = number_in(group_reply(await sim.say("g-res-2", "r-chen", "5号楼楼道灯坏了好几天了"), "g-res-2"))
    clock.advance(minutes=20)
    body = await sim.say("g-res-2", "r-zhou", "5号楼电梯里关了个小孩出不来了！快来人")
    alert = group_reply(body, "g-staff")
    assert "紧急" in alert and f"#{old}" not in alert  # not merged into the old light
    for text in ("我妈叫不醒了", "小孩爬到窗台外面了"):  # the classifier calls these chit-chat
        assert "紧急" in group_reply(await sim.say("g-res-3", "r-sun", text), "g-staff")
    answer = await sim.say("g-res-1", "r-liu", "要是家里燃气泄漏了应该打什么电话")
    assert "0000-96777" in group_reply(answer, "g-res-1")
    assert [r for r in answer["replies"] if r["target"] == "g-staff"] == []


async def test_issue16_staff_chat_and_status_questions_never_become_requests(live_bot: LiveBot,
                                                                             clock: FixedClock) -> None:
    sim = live_bot.client
    number = number_in(group_reply(await sim.say("g-res-1", "r-zhang", "3号楼楼道灯又不亮了"), "g-res-1"))
    said = [
        ("g-staff", "staff-li", "群发 明天停水"),
        ("g-staff", "staff-wang", "3号楼漏水那户我下午去看一下"),
        ("g-staff", "staff-li", f"#{number} 改为报修"),
        ("g-staff", "staff-wang", f"#{number} 在处理了"),
        ("g-staff", "staff-li", f"#{number} 上报区里"),
        ("g-res-1", "r-zhang", "我的报修"),
        ("g-res-1", "r-zhang", "我报的楼道灯修好了没"),
        ("g-res-1", "r-zhang", f"#{number} 进度"),
    ]
    for group, user, text in said:
        clock.advance(minutes=1)
        await sim.say(group, user, text)
    progress = [m["text"] for m in await sim.group_timeline("g-res-1") if m["from"] == "bot"][-1]
    assert f"#{number}" in progress and "处理中" in progress
    told = [m["text"] for m in await sim.user_timeline("r-zhang")]
    assert any("在处理" in t for t in told) and any("城关街道办事处" in t for t in told)
    street = [m["text"] for m in await sim.group_timeline("g-street")]
    assert any(f"#{number}" in t for t in street)
    async with live_bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(Request))).all()
        notes = (await session.scalars(select(RequestEvent.note).where(RequestEvent.action == "status"))).all()
    assert len(rows) == 1 and notes == [None]
