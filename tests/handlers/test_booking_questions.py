"""Issue 18 item 4: questions are not bookings. "周六能理发吗" gets the sessions and places left and an
offer; "帮我约" books; "候补" / "那我候补吧" join the waitlist; "算了" is acknowledged. Residents'
view in the simulator, with the real classifier."""

from __future__ import annotations

import pytest

from core.clock import FixedClock
from handlers.booking_answers import asks_to_book, is_question
from tests.conftest import LiveBot
from tests.handlers.booking_support import at as nov_at
from tests.handlers.booking_support import bookings, fill_session
from tests.handlers.ops_support import Chat, code_in, one, to


async def test_a_question_gets_the_places_left_and_an_offer_and_books_nothing(live_bot: LiveBot) -> None:
    chat = Chat(live_bot)
    offer = one(await chat.say("周六能理发吗"), "g-res-1")
    assert offer.startswith("11月28日(周六)有义剪理发，还有名额：")
    assert "义剪理发 11月28日(周六) 09:00-11:30 社区服务中心一楼活动室（剩12个名额）" in offer
    assert "回复“1”预约" in offer
    assert await bookings(live_bot) == []
    booked = await chat.say("1")
    assert "预约成功" in one(booked, "g-res-1") and {"v-he", "v-xu"} <= {r["target"] for r in booked}


async def test_today_afternoons_clinic_asked_about_offers_the_next_ones(live_bot: LiveBot) -> None:
    chat = Chat(live_bot)
    offer = one(await chat.say("今天下午义诊还能约吗"), "g-res-1")
    assert offer.startswith("今天11月25日(周三)下午没有健康义诊。")
    assert "1. 健康义诊 11月26日(周四)" in offer and "回复序号预约" in offer
    assert await bookings(live_bot) == []
    assert "好的，这次先不约了" in one(await chat.say("算了"), "g-res-1")
    assert await bookings(live_bot) == []


async def test_todays_sessions_asked_about_are_not_the_days_theme(live_bot: LiveBot, clock: FixedClock) -> None:
    chat = Chat(live_bot)
    clock.set(nov_at(26, 7))  # Thursday: clinic day
    offer = one(await chat.say("今天有义诊吗"), "g-res-1")
    assert offer.startswith("今天11月26日(周四)有健康义诊，还有名额：")
    assert "08:30-11:00" in offer and "14:00-16:30" in offer and "安全检查日" not in offer
    assert await bookings(live_bot) == []


@pytest.mark.parametrize("ask", ["帮我约周六理发", "我要约周六理发", "给我约个周六的理发"])
async def test_an_explicit_ask_books(live_bot: LiveBot, ask: str) -> None:
    booked = one(await Chat(live_bot).say(ask), "g-res-1")
    assert "预约成功" in booked and "11月28日(周六) 09:00-11:30" in booked
    assert [b.status for b in await bookings(live_bot)] == ["booked"]


@pytest.mark.parametrize("words", ["候补", "那我候补吧", "排队"])
async def test_the_waitlist_is_joined_with_any_of_its_words(live_bot: LiveBot, words: str) -> None:
    await fill_session(live_bot, "legal_aid", nov_at(28, 9, 30), 4)  # Saturday's 4 places, taken
    chat = Chat(live_bot)
    offer = one(await chat.say("周六上午能约律师吗"), "g-res-1")
    assert "已经约满了" in offer and "登记 11月28日(周六) 09:30-11:30 的候补" in offer
    waiting = one(await chat.say(words), "g-res-1")
    assert "已为您登记候补，排第1位" in waiting
    assert [b.status for b in await bookings(live_bot) if b.resident_id == "r-zhang"] == ["waitlisted"]


async def test_calling_it_off_is_acknowledged_even_late_or_unasked_when_addressed(live_bot: LiveBot,
                                                                                   clock: FixedClock) -> None:
    chat = Chat(live_bot)
    await chat.say("想理个发")
    clock.set(nov_at(25, 10, 30))  # the question expired
    assert "好的，这次先不约了" in one(await chat.say("算了"), "g-res-1")
    assert one(await chat.say("@社区小助手 算了"), "g-res-1") == "好的～有需要随时@我。"
    assert await chat.say("算了") == []  # unaddressed, with nothing pending: talk among neighbours


async def test_the_bots_own_suggestion_is_a_question_too(live_bot: LiveBot) -> None:
    """The weekend answer suggests "周六能理发吗"; saying it books nothing."""
    chat = Chat(live_bot)
    weekend = one(await chat.say("周六有什么活动"), "g-res-1")
    assert "周六能理发吗" in weekend
    assert "回复“1”预约" in one(await chat.say("周六能理发吗"), "g-res-1")
    assert await bookings(live_bot) == []


async def test_a_need_with_a_day_still_books_as_the_readme_shows(live_bot: LiveBot) -> None:
    replies = await Chat(live_bot).say("我家热水壶坏了，周六上午能修不")
    code_in(one(replies, "g-res-1"))
    assert to(replies, "v-he")


@pytest.mark.parametrize(("text", "question"), [
    ("周六能理发吗", True), ("今天下午义诊还能约吗", True), ("今天有义诊吗", True), ("周六理发有没有名额", True),
    ("磨刀几点开始", True), ("义诊在哪里", True), ("周六理发？", True),
    ("帮我约周六理发", False), ("我要约周六理发", False), ("给我约个周六的理发", False),
    ("能帮我约周六的理发吗", False),  # a question in form, an ask in substance
    ("我家热水壶坏了，周六上午能修不", False), ("想理个发", False), ("周六上午理发", False),
])
def test_questions_are_read_from_the_words(text: str, question: bool) -> None:
    assert is_question(text) is question


def test_explicit_asks() -> None:
    assert asks_to_book("帮我约一个") and asks_to_book("我想约周六的") and not asks_to_book("周六能约吗")
