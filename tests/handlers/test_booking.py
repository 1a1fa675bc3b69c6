"""Residents book, look up and cancel services through the simulator API, as in a group chat.

Driven with a small keyword classifier (booking_support.booking_understand), so these tests only
depend on the labels; the real classifier's part is in test_booking_nlp.py.
Reference time: Wednesday 2026-11-25 10:00 Shanghai.
"""

from __future__ import annotations

import re

from core.clock import FixedClock
from tests.conftest import LiveBot
from tests.handlers.booking_support import (
    at,
    booking_bot_fixture,  # noqa: F401  (fixture "booking_bot")
    bookings,
    code_in,
    fill_session,
    one_reply,
    session_at,
    sqlite_booking_bot_fixture,  # noqa: F401  (fixture "sqlite_booking_bot")
)

TEAM = ("v-he", "v-xu")  # 匠心便民服务队: haircut, appliance repair, knife sharpening


async def test_kettle_repair_on_saturday_morning_is_booked_and_the_team_told(booking_bot: LiveBot) -> None:
    client = booking_bot.client
    body = await client.say("g-res-1", "r-zhang", "我家热水壶坏了，周六上午能修不")

    text = one_reply(body)
    code = code_in(text)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{6}", code)
    assert "张**" in text and "张秀兰" not in text
    assert "11月28日(周六) 09:00-11:30" in text
    assert "社区服务中心门口便民服务点" in text
    # Nothing that identifies the home: no phone, no room, no building.
    for secret in ("13800000101", "501", "3号楼"):
        assert secret not in text

    [booking] = await bookings(booking_bot)
    assert (booking.code, booking.status, booking.item, booking.resident_id) == (code, "booked", "热水壶", "r-zhang")

    for member in TEAM:
        [note] = [m["text"] for m in await client.user_timeline(member)]
        assert "热水壶" in note and "3号楼2单元501" in note and "张秀兰" in note and code in note
    group = await client.group_timeline("g-res-1")
    assert not any("3号楼2单元501" in m["text"] for m in group)


async def test_no_day_named_offers_numbered_sessions_and_the_next_message_books(
    sqlite_booking_bot: LiveBot,
) -> None:
    client = sqlite_booking_bot.client
    offer = one_reply(await client.say("g-res-1", "r-liu", "想理个发"))
    # The next haircut sessions with places, soonest first: today 14:30, Saturday 09:00, next Wednesday.
    assert "1. 义剪理发 11月25日(周三) 14:30-16:30" in offer
    assert "2. 义剪理发 11月28日(周六) 09:00-11:30" in offer
    assert "3. 义剪理发 12月2日(周三) 14:30-16:30" in offer
    assert await bookings(sqlite_booking_bot) == []

    # Other residents talking in between do not disturb the pending question.
    await client.say("g-res-1", "r-zhang", "2")
    await client.say("g-res-1", "r-zhang", "大家早上好")

    text = one_reply(await client.say("g-res-1", "r-liu", "第二个"))
    assert "刘**" in text and "11月28日(周六) 09:00-11:30" in text
    [booking] = await bookings(sqlite_booking_bot)
    assert (booking.resident_id, booking.status) == ("r-liu", "booked")

    # The question is answered: a later "1" is an ordinary message again (chit-chat, no reply).
    assert (await client.say("g-res-1", "r-liu", "1"))["replies"] == []


async def test_a_weekday_phrase_picks_the_offered_session_of_that_day(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-2", "r-chen", "@社区小助手 想理个发")
    text = one_reply(await client.say("g-res-2", "r-chen", "周六那个吧"))
    assert "陈**" in text and "11月28日(周六) 09:00-11:30" in text


async def test_two_sessions_that_day_ask_which_and_a_part_of_day_answers(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    offer = one_reply(await client.say("g-res-2", "r-chen", "电饭煲坏了 周六能修不"))
    assert "1. 小家电维修 11月28日(周六) 09:00-11:30" in offer
    assert "2. 小家电维修 11月28日(周六) 14:00-16:00" in offer
    text = one_reply(await client.say("g-res-2", "r-chen", "下午那个"))
    assert "11月28日(周六) 14:00-16:00" in text
    [booking] = await bookings(sqlite_booking_bot)
    assert booking.item == "电饭煲"  # kept from the first message across the question


async def test_a_pending_question_expires_after_ten_minutes(sqlite_booking_bot: LiveBot, clock: FixedClock) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-liu", "想理个发")
    clock.advance(minutes=10, seconds=1)
    text = one_reply(await client.say("g-res-1", "r-liu", "1"))
    assert text == "刚才的选择已过期，请重新说一下想约什么、哪天。"
    assert await bookings(sqlite_booking_bot) == []
    # Told once; the question is gone.
    assert (await client.say("g-res-1", "r-liu", "1"))["replies"] == []


async def test_an_unrelated_message_is_not_captured_by_a_pending_question(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-liu", "想理个发")
    activity = one_reply(await client.say("g-res-1", "r-liu", "今天有什么活动"))
    assert "政策宣讲日" in activity  # answered by the activity handler, not read as a choice
    assert (await client.say("g-res-1", "r-liu", "楼下那家面馆挺好吃"))["replies"] == []
    text = one_reply(await client.say("g-res-1", "r-liu", "1"))
    assert "预约成功" in text  # the question was still waiting


async def test_suanle_exits_the_question(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-liu", "想理个发")
    assert one_reply(await client.say("g-res-1", "r-liu", "算了")) == "好的，这次先不约了。需要的时候随时说～"
    assert (await client.say("g-res-1", "r-liu", "1"))["replies"] == []
    assert await bookings(sqlite_booking_bot) == []


async def test_a_number_that_is_not_offered_gets_a_clear_answer_and_the_question_stays(
    sqlite_booking_bot: LiveBot,
) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-liu", "想理个发")
    assert one_reply(await client.say("g-res-1", "r-liu", "第九个")) == "请回复 1 到 3 之间的序号，或说“算了”不约了。"
    assert one_reply(await client.say("g-res-1", "r-liu", "好的")) == "请回复 1 到 3 之间的序号，或说“算了”不约了。"
    assert "预约成功" in one_reply(await client.say("g-res-1", "r-liu", "3"))


async def test_a_day_without_a_session_says_so_and_offers_the_nearest(sqlite_booking_bot: LiveBot) -> None:
    text = one_reply(await sqlite_booking_bot.client.say("g-res-1", "r-liu", "下周一想理发"))
    assert text.startswith("11月30日(周一)没有义剪理发的场次。")
    assert "1. 义剪理发 11月25日(周三) 14:30-16:30" in text
    assert await bookings(sqlite_booking_bot) == []


async def test_a_session_that_has_started_is_not_booked(sqlite_booking_bot: LiveBot, clock: FixedClock) -> None:
    clock.set(at(28, 9, 30))  # Saturday, half an hour into the haircut session
    text = one_reply(await sqlite_booking_bot.client.say("g-res-1", "r-liu", "今天上午理发还行吗"))
    assert text.startswith("义剪理发 11月28日(周六) 09:00-11:30 这一场已经开始或结束了。")
    # "上午" was asked for: the next morning sessions come first.
    assert "1. 义剪理发 12月5日(周六) 09:00-11:30" in text
    assert await bookings(sqlite_booking_bot) == []


async def test_a_date_far_in_the_future_gets_a_clear_answer(sqlite_booking_bot: LiveBot) -> None:
    text = one_reply(await sqlite_booking_bot.client.say("g-res-1", "r-liu", "12月31日理发"))
    assert text.startswith("12月31日(周四)太远了，目前只开放到12月22日(周二)的预约。")
    assert "1. 义剪理发" in text


async def test_a_full_session_offers_other_sessions_and_the_waitlist_which_gets_the_freed_place(
    booking_bot: LiveBot,
) -> None:
    client = booking_bot.client
    saturday = at(28, 9)
    await fill_session(booking_bot, "haircut", saturday, 12)

    offer = one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发"))
    assert offer.startswith("义剪理发 11月28日(周六) 09:00-11:30 已经约满了。")
    assert "11月28日(周六)" not in offer.split("\n", 1)[1].split("也可以")[0]  # not offered again
    assert "回复“排队”" in offer
    text = one_reply(await client.say("g-res-1", "r-zhang", "排队"))
    assert "候补" in text and "排第1位" in text and "张**" in text
    statuses = {b.resident_id: b.status for b in await bookings(booking_bot)}
    assert statuses["r-zhang"] == "waitlisted" and list(statuses.values()).count("booked") == 12

    # One of the twelve cancels with their code: the first waitlisted gets the place, and is told.
    freed = next(b for b in await bookings(booking_bot) if b.resident_id == "filler-3")
    cancel = one_reply(await client.say("g-res-3", "filler-3", f"取消 {freed.code}", name="邻居3"))
    assert "已取消" in cancel
    statuses = {b.resident_id: b.status for b in await bookings(booking_bot)}
    assert statuses["r-zhang"] == "booked" and statuses["filler-3"] == "cancelled"
    [private] = [m["text"] for m in await client.user_timeline("r-zhang")]
    assert "候补转为预约成功" in private and "11月28日(周六) 09:00-11:30" in private
    team = [m["text"] for m in await client.user_timeline("v-he")]
    assert any(t.startswith("【取消预约】") and freed.code in t for t in team)
    assert any(t.startswith("【候补转正】") and "张秀兰" in t for t in team)


async def test_booking_the_same_session_again_is_not_a_second_place(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    first = one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发"))
    again = one_reply(await client.say("g-res-1", "r-zhang", "周六上午想理发"))
    assert again == f"张**，您已经约好了 义剪理发 11月28日(周六) 09:00-11:30（预约码 {code_in(first)}），不用重复预约。"
    assert len(await bookings(sqlite_booking_bot)) == 1


async def test_my_bookings_lists_only_my_own_upcoming_bookings(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    haircut = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发")))
    repair = code_in(one_reply(await client.say("g-res-1", "r-zhang", "热水壶坏了 周六下午修")))
    liu = code_in(one_reply(await client.say("g-res-1", "r-liu", "周六上午理发")))

    text = one_reply(await client.say("g-res-1", "r-zhang", "我的预约"))
    assert text.startswith("张**，您的预约：")
    assert f"1. 义剪理发 11月28日(周六) 09:00-11:30（预约码 {haircut}）" in text
    assert f"2. 小家电维修 11月28日(周六) 14:00-16:00（预约码 {repair}）" in text
    assert liu not in text
    assert one_reply(await client.say("g-res-1", "r-liu", "我约的啥时候来着")).count("（预约码") == 1
    nothing = one_reply(await client.say("g-res-2", "r-chen", "我的预约"))
    assert nothing.startswith("陈**，您目前没有待参加的预约。")


async def test_cancel_by_code_only_for_the_owner(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    code = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发")))

    refused = one_reply(await client.say("g-res-1", "r-liu", f"取消 {code}"))
    assert refused == f"没有找到预约码为 {code} 的预约，请核对一下。可以说“我的预约”查看自己的预约。"
    unknown = one_reply(await client.say("g-res-1", "r-zhang", "取消 ZZZZ99"))
    assert unknown.startswith("没有找到预约码为 ZZZZ99 的预约")
    assert [b.status for b in await bookings(sqlite_booking_bot)] == ["booked"]

    done = one_reply(await client.say("g-res-1", "r-zhang", f"取消 {code.lower()}"))
    assert done == f"张**，已取消 义剪理发 11月28日(周六) 09:00-11:30 的预约（{code}）。"
    assert [b.status for b in await bookings(sqlite_booking_bot)] == ["cancelled"]
    assert one_reply(await client.say("g-res-1", "r-zhang", f"取消 {code}")) == f"预约 {code} 已经取消过了。"
    # The team hears of the cancellation, with what they need.
    assert any(m["text"].startswith("【取消预约】义剪理发") for m in await client.user_timeline("v-xu"))


async def test_cancel_in_words_cancels_the_matching_booking(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-zhang", "周六上午理发")
    await client.say("g-res-1", "r-zhang", "热水壶坏了 周六下午修")
    text = one_reply(await client.say("g-res-1", "r-zhang", "周六的理发不去了"))
    assert text.startswith("张**，已取消 义剪理发 11月28日(周六) 09:00-11:30")
    assert {b.service: b.status for b in await bookings(sqlite_booking_bot)} == {
        "haircut": "cancelled", "appliance_repair": "booked"}


async def test_an_ambiguous_cancel_asks_which_and_a_number_answers(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-zhang", "周六上午理发")
    await client.say("g-res-1", "r-zhang", "热水壶坏了 周六下午修")
    question = one_reply(await client.say("g-res-1", "r-zhang", "周六的不去了"))
    assert "要取消哪一个" in question and "1. 义剪理发" in question and "2. 小家电维修" in question
    text = one_reply(await client.say("g-res-1", "r-zhang", "2"))
    assert text.startswith("张**，已取消 小家电维修")
    assert {b.service: b.status for b in await bookings(sqlite_booking_bot)} == {
        "haircut": "booked", "appliance_repair": "cancelled"}


async def test_a_session_closed_while_someone_is_choosing_it_gets_a_clear_answer(
    sqlite_booking_bot: LiveBot,
) -> None:
    client = sqlite_booking_bot.client
    await client.say("g-res-1", "r-liu", "想理个发")
    saturday = await session_at(sqlite_booking_bot, "haircut", at(28, 9))
    closed = one_reply(await client.say("g-staff", "staff-li", f"关闭场次 {saturday.id}"))
    assert closed.startswith(f"已关闭场次 #{saturday.id}")

    text = one_reply(await client.say("g-res-1", "r-liu", "2"))
    assert text.startswith("抱歉，您选的义剪理发场次刚刚被取消了。")
    assert "11月28日" not in text
    assert "预约成功" in one_reply(await client.say("g-res-1", "r-liu", "1"))


async def test_when_every_session_is_full_the_waitlist_is_offered(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    for day in (29, 6, 13, 20):  # every Sunday knife sharpening of the next four weeks, 15 places each
        await fill_session(sqlite_booking_bot, "knife_sharpening", at(day, 9, month=11 if day == 29 else 12), 15,
                           prefix=f"f{day}")
    offer = one_reply(await client.say("g-res-1", "r-liu", "想磨刀"))
    assert "可以约的场次" not in offer
    assert "也可以回复“排队”登记 11月29日(周日) 09:00-11:00 的候补。" in offer
    assert one_reply(await client.say("g-res-1", "r-liu", "1")) == (
        "近期场次都约满了，回复“排队”可以登记候补，或说“算了”不约了。")
    text = one_reply(await client.say("g-res-1", "r-liu", "好"))
    assert "已为您登记候补，排第1位" in text
    mine = [b for b in await bookings(sqlite_booking_bot) if b.resident_id == "r-liu"]
    assert [(b.service, b.status) for b in mine] == [("knife_sharpening", "waitlisted")]
