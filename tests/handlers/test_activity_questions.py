"""Issue 18 item 5: questions about other days' activities, holidays and where an activity meets; dates
written 12.19 / 12/19 and named days (元旦, 圣诞节, 国庆, 春节, 中秋) dated from the calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from config.community import Directory
from config.themes import CalendarHoliday, HolidayCalendar
from core.clock import FixedClock
from handlers.named_days import resolve
from tests.conftest import LiveBot
from tests.handlers.booking_support import bookings
from tests.handlers.ops_support import Chat, at, one

D = dt.date
TODAY = D(2026, 11, 25)


async def test_the_theme_of_another_day(live_bot: LiveBot) -> None:
    answer = one(await Chat(live_bot).say("下周三是什么主题日"), "g-res-1")
    assert answer.startswith("下周三（12月2日 周三）的社区活动：\n【政策宣讲日】")
    assert "14:30-16:30" in answer


async def test_where_and_when_an_activity_meets_comes_from_the_community_file(live_bot: LiveBot) -> None:
    chat = Chat(live_bot)
    answer = one(await chat.say("这周五清洁日几点集合"), "g-res-1")
    assert answer == ("这周五（11月27日 周五）清洁家园日：\n时间：15:00-17:00\n地点：小区中心广场集合\n"
                      "温馨提示：手套和扫帚社区提供，带上好心情就行")
    # Without a day: the next one; on a day it is not: said so, with that day's activity.
    assert "（11月27日 周五）清洁家园日" in one(await chat.say("清洁日在哪集合"), "g-res-1")
    other = one(await chat.say("下周一清洁日几点开始"), "g-res-1")
    assert other.startswith("下周一（11月30日 周一）不是清洁家园日，【学习日】")


async def test_a_holiday_asked_about_gets_its_days_off_from_the_calendar(live_bot: LiveBot,
                                                                        clock: FixedClock) -> None:
    chat = Chat(live_bot)
    # 2027 is past chinesecalendar 1.11: the holidays package's rules, said to be provisional.
    national_day = one(await chat.say("国庆有活动吗"), "g-res-1")
    assert national_day.startswith("国庆节假期（2027年10月1日-10月5日）社区主题活动暂停")
    assert "以国务院公布的为准" in national_day
    # Within chinesecalendar's years: the official days off, no caveat.
    clock.set(at(9, 20, 10))
    official = one(await chat.say("国庆有活动吗"), "g-res-1")
    assert official.startswith("国庆节假期（10月1日-10月7日）") and "国务院" not in official
    # 圣诞节 is no public holiday: its day's activity, from the community file's date.
    clock.set(at(11, 25, 10))
    christmas = one(await chat.say("圣诞节有什么活动"), "g-res-1")
    assert christmas.startswith("圣诞节是12月25日(周五)。") and "清洁家园日" in christmas


async def test_dates_written_with_a_dot_a_slash_or_as_a_named_day_are_kept(live_bot: LiveBot) -> None:
    chat = Chat(live_bot)
    assert "12月19日(周六) 09:00-11:30" in one(await chat.say("12.19 理发"), "g-res-1")
    assert "12月19日(周六) 09:00-11:30" in one(await chat.say("12/19理发", user="r-liu"), "g-res-1")
    christmas = one(await chat.say("圣诞节理发", user="r-sun", group="g-res-3"), "g-res-3")
    assert christmas.startswith("12月25日(周五)太远了")  # dated, and beyond the sessions opened so far
    new_year = one(await chat.say("元旦那天能约理发吗"), "g-res-1")
    assert new_year.startswith("1月1日(周五)太远了") and "回复序号预约" in new_year
    assert len(await bookings(live_bot)) == 2


async def test_a_named_day_within_reach_books_that_day(live_bot: LiveBot, clock: FixedClock) -> None:
    clock.set(at(12, 10, 10))
    chat = Chat(live_bot)
    booked = one(await chat.say("平安夜上午想去义诊"), "g-res-1")  # 12-24, a Thursday: clinic day
    assert "预约成功" in booked and "12月24日(周四) 08:30-11:00" in booked
    assert one(await chat.say("圣诞节想理发", user="r-liu"), "g-res-1").startswith("12月25日(周五)没有义剪理发的场次")


# --- dating named days -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "today", "day", "first", "last", "provisional"), [
    ("元旦", TODAY, D(2027, 1, 1), D(2027, 1, 1), D(2027, 1, 1), True),
    ("春节", TODAY, D(2027, 2, 6), D(2027, 2, 6), D(2027, 2, 10), True),  # the lunar new year, by rule
    ("中秋节", TODAY, D(2027, 9, 15), D(2027, 9, 15), D(2027, 9, 15), True),
    ("国庆节", D(2026, 9, 1), D(2026, 10, 1), D(2026, 10, 1), D(2026, 10, 7), False),  # chinesecalendar
    ("国庆节", D(2026, 10, 3), D(2026, 10, 1), D(2026, 10, 1), D(2026, 10, 7), False),  # we are in it
    ("春节", D(2026, 1, 5), D(2026, 2, 17), D(2026, 2, 15), D(2026, 2, 23), False),
    ("圣诞节", TODAY, D(2026, 12, 25), D(2026, 12, 25), D(2026, 12, 25), False),  # the community file's date
    ("圣诞节", D(2026, 12, 26), D(2027, 12, 25), D(2027, 12, 25), D(2027, 12, 25), False),
])
def test_named_days_are_dated_by_the_calendar(demo_directory: Directory, name: str, today: dt.date, day: dt.date,
                                              first: dt.date, last: dt.date, provisional: bool) -> None:
    found = resolve(demo_directory.communities[0], name, today)
    assert found is not None and (found.day, found.first, found.last, found.provisional) == (
        day, first, last, provisional)


def test_the_community_files_schedule_wins_for_the_days_off(demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    calendar = HolidayCalendar(holidays=[CalendarHoliday.model_validate(
        {"name": "春节", "from": "2027-02-05", "to": "2027-02-13"})], workdays=[D(2027, 2, 20)])
    entered = community.model_copy(update={"themes": community.themes.model_copy(update={"calendar": calendar})})
    found = resolve(entered, "春节", TODAY)
    assert found is not None and (found.day, found.first, found.last, found.provisional) == (
        D(2027, 2, 6), D(2027, 2, 5), D(2027, 2, 13), False)


def test_a_name_the_calendar_does_not_know_is_no_day(demo_directory: Directory) -> None:
    assert resolve(demo_directory.communities[0], "情人节", TODAY) is None  # not in this community file
