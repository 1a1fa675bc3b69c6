"""Issue 18 item 1: staff notices to residents' groups, previewed, confirmed, sent once per group,
scheduled through the scheduler, and listed with who sent them and when."""

from __future__ import annotations

import datetime as dt

import pytest

from core.clock import FixedClock
from handlers.notices import parse_command, parse_send_time, resolve_audience
from storage import notices_repo
from storage.outbox_repo import enqueue
from tests.conftest import REFERENCE_NOW, LiveBot
from tests.handlers.ops_support import RESIDENT_GROUPS, Chat, at, one, outbox, to

WATER = "明天9:00-12:00停水，请提前储水"


async def test_staff_see_a_preview_and_the_notice_goes_to_each_group_once_after_confirming(
        live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    replies = await chat.say(f"通知 全部居民群 {WATER}", "g-staff", "staff-li")
    preview = one(replies, "g-staff")
    assert preview.startswith("【通知预览】#1")
    for name, members in (("幸福里1-4号楼居民群", 5), ("幸福里5-8号楼居民群", 5), ("幸福里9-12号楼居民群", 4)):
        assert f"{name}（{members}人）" in preview
    assert "共3个群、约14人" in preview and WATER in preview and "确认" in preview
    assert not any(to(replies, g) for g in RESIDENT_GROUPS)  # nothing goes out before 确认
    assert await outbox(live_bot_any_db, "notice:") == []

    sent = await chat.say("确认", "g-staff", "staff-li")
    assert "已发送到 3 个群" in one(sent, "g-staff")
    for group in RESIDENT_GROUPS:
        assert one(sent, group) == f"【社区通知】\n{WATER}\n—— 幸福里社区"
    rows = await outbox(live_bot_any_db, "notice:")
    assert sorted(r.idempotency_key for r in rows) == [f"notice:1:{g}" for g in RESIDENT_GROUPS]

    # A second 确认 (a double tap) sends nothing more: the preview was answered.
    again = await chat.say("确认", "g-staff", "staff-li")
    assert not any(to(again, g) for g in RESIDENT_GROUPS)
    for group in RESIDENT_GROUPS:
        assert (await chat.group(group)).count(f"【社区通知】\n{WATER}\n—— 幸福里社区") == 1
    # … and neither would a retry or a second process writing the same posts: the keys hold.
    async with live_bot_any_db.linli.db.transaction() as session:
        notice = await notices_repo.get(session, "xingfuli", 1)
        assert notice is not None and notice.status == "sent" and notice.confirmed_by == "staff-li"
        assert isinstance(await notices_repo.send_now(session, "xingfuli", 1, by="staff-wang", now=REFERENCE_NOW),
                          notices_repo.NotAllowed)
        from handlers.notices import notice_posts

        assert await enqueue(session, notice_posts(live_bot_any_db.linli.directory.communities[0], notice),
                             now=REFERENCE_NOW) == 0


async def test_a_notice_to_buildings_reaches_only_their_groups_and_can_be_dropped(live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    preview = one(await chat.say("通知 3号楼、11号楼 电梯年检，上午停运", "g-staff", "staff-wang"), "g-staff")
    assert "幸福里1-4号楼居民群" in preview and "幸福里9-12号楼居民群" in preview
    assert "幸福里5-8号楼居民群" not in preview and "共2个群" in preview
    assert "好的，这条通知作废了" in one(await chat.say("取消", "g-staff", "staff-wang"), "g-staff")
    assert await outbox(live_bot_any_db, "notice:") == []
    listing = one(await chat.say("通知列表", "g-staff", "staff-wang"), "g-staff")
    assert "#1 已撤回 王网格员" in listing


async def test_only_configured_staff_post_notices_and_only_where_residents_cannot_see_the_preview(
        live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    # A resident's "通知：…" among neighbours is talk, not a command: no answer at all.
    assert await chat.say("通知：明天小区门口有卖菜的", "g-res-1", "r-zhang") == []
    # Staff in a residents' group are told where to do it; nothing is drafted.
    assert "工作群或私聊" in one(await chat.say(f"通知 全部 {WATER}", "g-res-1", "staff-li"), "g-res-1")
    # A volunteer in the staff group is refused.
    assert "只有社区工作人员" in one(await chat.say(f"通知 全部 {WATER}", "g-staff", "v-xu"), "g-staff")
    async with live_bot_any_db.linli.db.transaction() as session:
        assert (await notices_repo.recent(session, "xingfuli"))[1] == 0
    # Someone else's 确认 does not send staff-li's notice: the question is the author's.
    await chat.say(f"通知 全部 {WATER}", "g-staff", "staff-li")
    other = await chat.say("确认", "g-staff", "staff-wang")
    assert not any(to(other, g) for g in RESIDENT_GROUPS)
    assert await outbox(live_bot_any_db, "notice:") == []


async def test_a_scheduled_notice_goes_out_at_its_time_through_the_scheduler(live_bot_any_db: LiveBot,
                                                                              clock: FixedClock) -> None:
    chat = Chat(live_bot_any_db)
    await chat.say("通知 1-4号楼 明早8点起3号楼停电检修", "g-staff", "staff-li")
    answer = one(await chat.say("定时 明天 7:30", "g-staff", "staff-li"), "g-staff")
    assert "将于 11月26日(周四) 07:30 发送到 1 个群" in answer
    scheduler = live_bot_any_db.linli.scheduler
    assert scheduler is not None
    clock.set(at(11, 26, 7, 29))
    assert [r.queued for r in await scheduler.tick("notices")] == []  # nothing due: no community touched
    assert await outbox(live_bot_any_db, "notice:") == []
    clock.set(at(11, 26, 7, 30))
    [run] = await scheduler.tick("notices")
    assert (run.status, run.queued) == ("done", 1)
    [row] = await outbox(live_bot_any_db, "notice:")
    assert (row.target, row.idempotency_key) == ("g-res-1", "notice:1:g-res-1")
    assert "3号楼停电检修" in row.text
    assert await scheduler.tick("notices") == []  # sent: nothing left to send
    assert "已发送" in one(await chat.say("通知列表", "g-staff", "staff-li"), "g-staff")


async def test_a_scheduled_notice_missed_by_hours_is_not_sent_late_and_staff_are_told(live_bot_any_db: LiveBot,
                                                                                      clock: FixedClock) -> None:
    chat = Chat(live_bot_any_db)
    await chat.say("通知 全部 今晚8点小区广场放电影", "g-staff", "staff-li")
    await chat.say("定时 今天 11:00", "g-staff", "staff-li")
    clock.set(at(11, 25, 14, 0))  # the bot was down from before 11:00 until 14:00
    scheduler = live_bot_any_db.linli.scheduler
    assert scheduler is not None
    [run] = await scheduler.tick("notices")
    assert run.queued == 1
    [row] = await outbox(live_bot_any_db, "notice-missed:")
    assert row.target == "g-staff" and "未发出" in row.text and "放电影" in row.text
    assert await outbox(live_bot_any_db, "notice:") == []


async def test_a_scheduled_notice_can_be_withdrawn_before_its_time(live_bot_any_db: LiveBot, clock: FixedClock) -> None:
    chat = Chat(live_bot_any_db)
    await chat.say("通知 全部 周六上午义诊", "g-staff", "staff-li")
    await chat.say("定时 明天 8:00", "g-staff", "staff-li")
    assert "已撤回" in one(await chat.say("取消通知 1", "g-staff", "staff-li"), "g-staff")
    assert "不能再改了" in one(await chat.say("取消通知 1", "g-staff", "staff-li"), "g-staff")
    clock.set(at(11, 26, 9, 0))
    assert live_bot_any_db.linli.scheduler is not None
    assert await live_bot_any_db.linli.scheduler.tick("notices") == []
    assert await outbox(live_bot_any_db, "notice:") == []


# --- reading the commands --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words", "body"), [
    (f"通知 全部居民群 {WATER}", ("全部居民群",), WATER),
    ("通知：明天停水", (), "明天停水"),
    ("@社区小助手 通知 3号楼、5号楼 电梯检修", ("3号楼", "5号楼"), "电梯检修"),
    ("通知 1-4号楼 幸福里9-12号楼居民群 第一行\n第二行", ("1-4号楼", "幸福里9-12号楼居民群"), "第一行\n第二行"),
    ("发通知 全部 防詐騙提醒", ("全部",), "防詐騙提醒"),  # the body stays as typed, Traditional included
])
def test_notice_commands(text: str, words: tuple[str, ...] | None, body: str | None) -> None:
    found = parse_command(text)
    if words is None:
        assert found is None
        return
    assert found is not None and (found.kind, found.words, found.body) == ("new", words, body)


@pytest.mark.parametrize("text", ["通知大家一下明天开会", "收到通知了", "通知"])
def test_talk_about_notices_is_no_command(text: str) -> None:
    assert parse_command(text) is None


def test_audiences(demo_directory) -> None:  # type: ignore[no-untyped-def]
    c = demo_directory.communities[0]
    assert [g.id for g in resolve_audience(c, ()).groups] == list(RESIDENT_GROUPS)
    assert [g.id for g in resolve_audience(c, ["5号楼"]).groups] == ["g-res-2"]
    assert [g.id for g in resolve_audience(c, ["8-9号楼"]).groups] == ["g-res-2", "g-res-3"]
    unknown = resolve_audience(c, ["99号楼", "3号楼"])
    assert [g.id for g in unknown.groups] == ["g-res-1"] and unknown.unknown == ("99号楼",)


@pytest.mark.parametrize(("text", "expected"), [
    ("明天 8:00", at(11, 26, 8, 0)),
    ("12月5日 下午3点", at(12, 5, 15, 0)),
    ("15:30", at(11, 25, 15, 30)),
    ("明天早上7点半", at(11, 26, 7, 30)),
])
def test_send_times(text: str, expected: dt.datetime) -> None:
    assert parse_send_time(text, REFERENCE_NOW) == expected


@pytest.mark.parametrize("text", ["9:00", "明天", "明年3月1日 8:00", "明天 25:00"])
def test_send_times_that_cannot_be_used(text: str) -> None:
    from handlers.notices import BadTime

    with pytest.raises(BadTime):
        parse_send_time(text, REFERENCE_NOW)


async def test_a_notice_too_long_for_a_message_is_refused_with_the_limit(live_bot_any_db: LiveBot) -> None:
    answer = one(await Chat(live_bot_any_db).say("通知 全部 " + "停水" * 1001, "g-staff", "staff-li"), "g-staff")
    assert "通知太长了（2002字）" in answer and "2000字以内" in answer
    async with live_bot_any_db.linli.db.transaction() as session:
        assert (await notices_repo.recent(session, "xingfuli"))[1] == 0
