"""Staff manage sessions at run time: add, list, close, roster, export; nobody else may."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.staff_sessions import BadCommand, parse_command, parse_new_session
from tests.conftest import REFERENCE_NOW, SHANGHAI, LiveBot
from tests.handlers.booking_support import (
    at,
    booking_bot_fixture,  # noqa: F401  (fixture "booking_bot")
    bookings,
    code_in,
    one_reply,
    session_at,
    sqlite_booking_bot_fixture,  # noqa: F401  (fixture "sqlite_booking_bot")
)


async def test_staff_add_a_session_and_residents_can_book_it(booking_bot: LiveBot) -> None:
    client = booking_bot.client
    added = one_reply(await client.say("g-staff", "staff-li", "加场 理发 12月6日 14:00-16:00 10人"))
    row = await session_at(booking_bot, "haircut", dt.datetime(2026, 12, 6, 14, 0, tzinfo=SHANGHAI))
    assert added == f"已加场 #{row.id}：义剪理发 12月6日(周日) 14:00-16:00，10人，地点：社区服务中心一楼活动室"
    assert (row.capacity, row.source, row.created_by) == (10, "staff", "staff-li")

    text = one_reply(await client.say("g-res-2", "r-chen", "12月6日下午理发"))
    assert "预约成功" in text and "12月6日(周日) 14:00-16:00" in text

    again = one_reply(await client.say("g-staff", "staff-wang", "加场 义剪 12月6日 14:00-15:00 5人"))
    assert again.startswith(f"这个时间已经有义剪理发场次了：#{row.id}")


async def test_a_place_can_be_given_and_bad_commands_are_explained(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    added = one_reply(await client.say("g-staff", "staff-zhao", "加场 义诊 12月7日 9:00-11:00 名额20 三号楼门口"))
    assert "健康义诊 12月7日(周一) 09:00-11:00，20人，地点：三号楼门口" in added
    bad = one_reply(await client.say("g-staff", "staff-zhao", "加场 理发 12月7日 10人"))
    assert bad == "没看懂这条命令：缺少时间，例如 14:00-16:00\n发“场次帮助”查看格式。"
    unknown = one_reply(await client.say("g-staff", "staff-zhao", "加场 按摩 12月7日 9:00-11:00 5人"))
    assert "不认识服务“按摩”" in unknown


async def test_only_staff_may_use_session_commands(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    refusal = "抱歉，场次管理命令只有社区工作人员可以使用。需要预约的话直接说，比如“周六上午想理发”。"
    assert one_reply(await client.say("g-res-1", "r-zhang", "加场 理发 12月6日 14:00-16:00 10人")) == refusal
    # A volunteer may see their own team's rosters (issue 18: tests/handlers/test_volunteers.py), not close sessions.
    assert one_reply(await client.say("g-vol", "v-he", "关闭场次 1")) == refusal
    # A newcomer who names themselves like staff is still not staff.
    assert one_reply(await client.say("g-staff", "impostor", "导出 1", name="李书记")) == refusal
    assert one_reply(await client.say("g-res-1", "staff-wang", "场次名单 1")) == (
        "场次命令会显示居民信息，请在工作群或私聊里发送。")
    async with sqlite_booking_bot.linli.db.transaction() as session:
        from sqlalchemy import func, select

        from storage.models_booking import ServiceSession

        staff_added = await session.scalar(
            select(func.count()).select_from(ServiceSession).where(ServiceSession.source == "staff"))
    assert staff_added == 0


async def test_closing_a_session_cancels_its_bookings_and_tells_everyone(booking_bot: LiveBot) -> None:
    client = booking_bot.client
    code = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发")))
    row = await session_at(booking_bot, "haircut", at(28, 9))

    closed = one_reply(await client.say("g-staff", "staff-li", f"关闭场次 #{row.id}"))
    assert closed == f"已关闭场次 #{row.id}（义剪理发 11月28日(周六) 09:00-11:30），取消了 1 个预约并已私信通知居民。"
    assert [b.status for b in await bookings(booking_bot)] == ["cancelled"]
    [private] = [m["text"] for m in await client.user_timeline("r-zhang")]
    assert "这一场取消了" in private and code in private
    assert any(m["text"].startswith("【场次取消】义剪理发") for m in await client.user_timeline("v-he"))
    again = one_reply(await client.say("g-staff", "staff-li", f"关闭场次 {row.id}"))
    assert again == f"场次 #{row.id} 之前已经关闭了。"
    # A closed session is not offered, and re-materializing the rules does not bring it back.
    text = one_reply(await client.say("g-res-1", "r-liu", "周六上午理发"))
    assert text.startswith("11月28日(周六)上午没有义剪理发的场次。")
    assert one_reply(await client.say("g-staff", "staff-li", "关闭场次 99999")).startswith("没有编号为 #99999 的场次")


async def test_roster_and_csv_export_go_to_staff_only(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    code = code_in(one_reply(await client.say("g-res-1", "r-zhang", "热水壶坏了 周六上午修")))
    row = await session_at(sqlite_booking_bot, "appliance_repair", at(28, 9))

    roster = one_reply(await client.say("g-staff", "staff-wang", f"场次名单 {row.id}"))
    assert roster.startswith(f"场次 #{row.id} 小家电维修 11月28日(周六) 09:00-11:30\n已约 1/10：")
    assert f"1. 张秀兰 3号楼2单元501 需要：热水壶 [{code}]" in roster

    sent = one_reply(await client.say("g-staff", "staff-wang", f"导出 {row.id}"))
    assert sent == f"场次 #{row.id} 的预约名单（1 条）已私信发给您。"
    [csv_text] = [m["text"] for m in await client.user_timeline("staff-wang")]
    lines = csv_text.split("\n")
    assert lines[0].startswith(f"场次 #{row.id} 小家电维修")
    assert lines[1] == "预约码,状态,姓名,地址,电话,需要,预约时间"
    assert lines[2] == f"{code},已预约,张秀兰,3号楼2单元501,13800000101,热水壶,2026-11-25 10:00"
    # Nothing of it reached the staff group or any residents' group.
    for group in ("g-staff", "g-res-1"):
        assert not any("13800000101" in m["text"] for m in await client.group_timeline(group))


async def test_help_and_session_list(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    help_text = one_reply(await client.say("g-staff", "staff-li", "场次帮助"))
    for command in ("场次列表", "加场 理发 12月6日 14:00-16:00 10人", "关闭场次 12", "场次名单 12", "导出 12"):
        assert command in help_text
    await client.say("g-res-1", "r-zhang", "周六上午理发")
    listing = one_reply(await client.say("g-staff", "staff-li", "场次列表 理发"))
    row = await session_at(sqlite_booking_bot, "haircut", at(28, 9))
    assert f"#{row.id} 义剪理发 11月28日(周六) 09:00-11:30 1/12" in listing
    assert "小家电维修" not in listing


def test_commands_are_recognized_only_in_their_exact_shape() -> None:
    assert parse_command("关闭场次 12").session_id == 12  # type: ignore[union-attr]
    assert parse_command("导出#7").verb == "export"  # type: ignore[union-attr]
    assert parse_command("＠社区小助手 场次帮助") is not None
    for text in ("导出来了吗", "加场吗", "场次名单", "关闭场次 十二", "帮我导出一下"):
        assert parse_command(text) is None, text


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("理发 12月6日 16:00-14:00 10人", "结束时间要晚于开始时间"),
        ("理发 11月20日 14:00-16:00 10人", None),  # 11月20日 already passed this year: next year's
        ("理发 2026-11-24 14:00-16:00 10人", "这个时间已经过去了"),
        ("理发 14:00-16:00 10人", "缺少日期，例如 12月6日"),
        ("理发 12月6日 14:00-16:00", "缺少人数，例如 10人"),
        ("理发 12月6日 25:00-26:00 10人", "时间不对，例如 14:00-16:00"),
        ("理发 12月6日 14:00-16:00 0人", "人数要在 1 到 1000 之间"),
    ],
)
def test_new_session_arguments_are_checked(demo_directory, args: str, problem: str | None) -> None:  # type: ignore[no-untyped-def]
    community = demo_directory.communities[0]
    if problem is None:
        new = parse_new_session(community, args, REFERENCE_NOW)
        assert new.starts_at == dt.datetime(2027, 11, 20, 14, 0, tzinfo=SHANGHAI)
        return
    with pytest.raises(BadCommand) as exc:
        parse_new_session(community, args, REFERENCE_NOW)
    assert str(exc.value) == problem


def test_a_weekday_names_the_next_such_day() -> None:
    from config.loader import load_directory
    from config.settings import DEFAULT_COMMUNITY_FILE

    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    new = parse_new_session(community, "磨刀 下周六 9:30-11:00 8人", REFERENCE_NOW)
    assert (new.service, new.starts_at, new.capacity, new.place) == (
        "knife_sharpening", dt.datetime(2026, 12, 5, 9, 30, tzinfo=SHANGHAI), 8, None)
