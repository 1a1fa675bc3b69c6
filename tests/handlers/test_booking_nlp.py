"""The issue's example sentences, end to end through the REAL classifier (`nlp.understand`).

Depends on the classifier (nlp/): every test here uses the `real_classifier` fixture, which
documents that dependency. A failure here with the booking tests of test_booking.py passing
means the classifier labels one of these sentences differently; the assertion message says how.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.clock import FixedClock
from nlp import understand
from tests.conftest import REFERENCE_NOW, LiveBot, make_settings, start_live_bot
from tests.handlers.booking_support import bookings, code_in, one_reply


@pytest.fixture
def real_classifier() -> None:
    """Marks a test as depending on the real classifier; fails early naming a sentence it misreads."""
    expected = {
        "我家热水壶坏了，周六上午能修不": ("booking:appliance_repair", "热水壶"),
        "想理个发": ("booking:haircut", None),
        "我的预约": ("query:my_bookings", None),
        "我约的啥时候来着": ("query:my_bookings", None),
        "周六的理发不去了": ("cancel_booking", None),
    }
    for text, (label, item) in expected.items():
        u = understand(text, REFERENCE_NOW)
        assert u.label == label, f"the classifier labels {text!r} as {u.label!r}, not {label!r}"
        if item is not None:
            assert u.item == item, f"the classifier reads the item of {text!r} as {u.item!r}, not {item!r}"


@pytest.fixture
async def nlp_bot(sqlite_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    bot, close = await start_live_bot(make_settings(sqlite_url), clock)  # the default: nlp.understand
    try:
        yield bot
    finally:
        await close()


pytestmark = pytest.mark.usefixtures("real_classifier")


async def test_kettle_sentence_books_saturday_morning_repair(nlp_bot: LiveBot) -> None:
    text = one_reply(await nlp_bot.client.say("g-res-1", "r-zhang", "我家热水壶坏了，周六上午能修不"))
    assert "张**" in text and "小家电维修：11月28日(周六) 09:00-11:30" in text
    [booking] = await bookings(nlp_bot)
    assert (booking.item, booking.code) == ("热水壶", code_in(text))


@pytest.mark.parametrize("answer", ["2", "第二个", "周六那个"])
async def test_haircut_without_a_day_is_completed_by_the_next_message(nlp_bot: LiveBot, answer: str) -> None:
    offer = one_reply(await nlp_bot.client.say("g-res-1", "r-liu", "想理个发"))
    assert "2. 义剪理发 11月28日(周六) 09:00-11:30" in offer
    text = one_reply(await nlp_bot.client.say("g-res-1", "r-liu", answer))
    assert "刘**，预约成功！" in text and "11月28日(周六) 09:00-11:30" in text


async def test_my_bookings_and_cancelling_in_words(nlp_bot: LiveBot) -> None:
    client = nlp_bot.client
    code = code_in(one_reply(await client.say("g-res-1", "r-zhang", "周六上午想理发")))
    for question in ("我的预约", "我约的啥时候来着"):
        assert f"义剪理发 11月28日(周六) 09:00-11:30（预约码 {code}）" in one_reply(
            await client.say("g-res-1", "r-zhang", question))
    text = one_reply(await client.say("g-res-1", "r-zhang", "周六的理发不去了"))
    assert text == f"张**，已取消 义剪理发 11月28日(周六) 09:00-11:30 的预约（{code}）。"
    assert [b.status for b in await bookings(nlp_bot)] == ["cancelled"]
