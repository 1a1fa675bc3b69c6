"""A booking moved, not doubled: "理发改到下周三下午吧" from a resident who has a haircut booked.

The new place is taken first and the old one cancelled only then (its place goes to the waitlist,
the team hears of both); a move that only finds a waitlist place keeps the old booking. Driven by
the small keyword classifier (booking_support.py), and once through the real one, as a reply
quoting the bot's confirmation. Reference time: Wednesday 2026-11-25 10:00 Shanghai.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.clock import FixedClock
from tests.conftest import LiveBot, make_settings, start_live_bot
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

SEP = "\n- - - - - - - - - - - - - - -\n"


async def test_a_booking_moved_to_another_day_frees_the_old_place(booking_bot: LiveBot) -> None:
    client = booking_bot.client
    first = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发")))
    moved = one_reply(await client.say("g-res-1", "r-zhang", "理发改到下周三下午吧"))
    assert moved.startswith("张**，已为您改约！")
    assert "12月2日(周三) 14:30-16:30" in moved
    assert f"原来 11月28日(周六) 09:00-11:30 的预约（{first}）已取消。" in moved
    statuses = {b.code: b.status for b in await bookings(booking_bot)}
    assert statuses.pop(first) == "cancelled" and list(statuses.values()) == ["booked"]
    # the team hears of the new booking and of the freed place
    team = [m["text"] for m in await client.user_timeline("v-he")]
    assert any(t.startswith("【取消预约】") and first in t for t in team)
    assert sum("12月2日" in t for t in team) == 1


async def test_a_move_without_change_words_or_with_nothing_booked_is_a_booking(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    # nothing booked: "改到" books, it cancels nothing
    text = one_reply(await client.say("g-res-1", "r-liu", "理发改到周六上午吧"))
    assert text.startswith("刘**，预约成功！")
    # a second service, or the same one without words of a change, is a second booking
    text = one_reply(await client.say("g-res-1", "r-liu", "下周三下午也约个理发"))
    assert text.startswith("刘**，预约成功！")
    assert [b.status for b in await bookings(sqlite_booking_bot)] == ["booked", "booked"]


async def test_a_move_that_asks_which_session_moves_once_answered(sqlite_booking_bot: LiveBot) -> None:
    client = sqlite_booking_bot.client
    first = code_in(one_reply(await client.say("g-res-2", "r-chen", "周六上午理发")))
    offer = one_reply(await client.say("g-res-2", "r-chen", "理发能不能改个时间"))
    assert "1. 义剪理发 11月25日(周三) 14:30-16:30" in offer
    moved = one_reply(await client.say("g-res-2", "r-chen", "1"))
    assert moved.startswith("陈**，已为您改约！") and f"（{first}）已取消" in moved
    statuses = {b.code: b.status for b in await bookings(sqlite_booking_bot)}
    assert statuses[first] == "cancelled" and sorted(statuses.values()) == ["booked", "cancelled"]


async def test_a_move_to_a_full_session_keeps_the_old_place_until_a_new_one_is_certain(
    booking_bot: LiveBot,
) -> None:
    client = booking_bot.client
    first = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午理发")))
    wednesday = at(2, 14, 30, month=12)
    capacity = (await session_at(booking_bot, "haircut", wednesday)).capacity
    await fill_session(booking_bot, "haircut", wednesday, capacity)
    offer = one_reply(await client.say("g-res-1", "r-zhang", "理发推到下周三下午"))
    assert "已经约满了" in offer
    waiting = one_reply(await client.say("g-res-1", "r-zhang", "排队"))
    assert "候补" in waiting and f"原来 11月28日(周六) 09:00-11:30 的预约（{first}）先为您保留" in waiting
    mine = {b.code: b.status for b in await bookings(booking_bot) if b.resident_id == "r-zhang"}
    assert mine[first] == "booked" and "waitlisted" in mine.values()


@pytest.fixture
async def nlp_bot(sqlite_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    bot, close = await start_live_bot(make_settings(sqlite_url), clock)  # the real classifier
    try:
        yield bot
    finally:
        await close()


async def test_a_reply_quoting_the_bots_confirmation_moves_the_booking(nlp_bot: LiveBot) -> None:
    client = nlp_bot.client
    confirmation = one_reply(await client.say("g-res-1", "r-zhang", "@社区小助手 周六上午想理个发"))
    first = code_in(confirmation)
    quoted = "「社区小助手：" + confirmation.replace("\n", " ") + "」" + SEP + "不对不对 我要下周三下午的"
    moved = one_reply(await client.say("g-res-1", "r-zhang", quoted))
    assert moved.startswith("张**，已为您改约！") and "12月2日(周三) 14:30-16:30" in moved, moved
    statuses = {b.code: b.status for b in await bookings(nlp_bot)}
    assert statuses[first] == "cancelled" and sorted(statuses.values()) == ["booked", "cancelled"]
