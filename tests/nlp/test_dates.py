"""parse_day(): the day and part of day a booking names, as shared/eval/LABELS.md defines them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlp.dates import local_now, parse_day, resolve_day_of_month, resolve_weekday
from nlp.named_days import find_named_days
from nlp.normalize import normalize
from nlp.numerals import cn_number

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)  # Wednesday, LABELS.md's reference
D = dt.date


@pytest.mark.parametrize(
    ("text", "date", "part"),
    [
        # The table of LABELS.md
        ("今天", D(2026, 11, 25), None),
        ("明天", D(2026, 11, 26), None),
        ("后天", D(2026, 11, 27), None),
        ("周六", D(2026, 11, 28), None),
        ("这周六", D(2026, 11, 28), None),
        ("本周六", D(2026, 11, 28), None),
        ("这个礼拜六", D(2026, 11, 28), None),
        ("星期六", D(2026, 11, 28), None),
        ("下周六", D(2026, 12, 5), None),
        ("下个星期六", D(2026, 12, 5), None),
        ("周四", D(2026, 11, 26), None),
        ("周日", D(2026, 11, 29), None),
        ("周一", D(2026, 11, 30), None),
        ("周二", D(2026, 12, 1), None),
        ("下周二", D(2026, 12, 1), None),
        ("下周四", D(2026, 12, 3), None),
        ("下个礼拜四", D(2026, 12, 3), None),
        ("周末", D(2026, 11, 28), None),
        ("3号", D(2026, 12, 3), None),
        ("12月3号", D(2026, 12, 3), None),
        ("12月3日", D(2026, 12, 3), None),
        ("周六上午", D(2026, 11, 28), "am"),
        ("明天早上", D(2026, 11, 26), "am"),
        ("后天下午", D(2026, 11, 27), "pm"),
        ("周日晚上", D(2026, 11, 29), "pm"),
        # More ways of saying it
        ("今儿下午", D(2026, 11, 25), "pm"),
        ("明儿个上午", D(2026, 11, 26), "am"),
        ("大后天", D(2026, 11, 28), None),
        ("明早", D(2026, 11, 26), "am"),
        ("今晚能去吗", D(2026, 11, 25), "pm"),
        ("周三", D(2026, 11, 25), None),  # today is still this week's
        ("礼拜天下午", D(2026, 11, 29), "pm"),
        ("星期天", D(2026, 11, 29), None),
        ("下下周一", D(2026, 12, 7), None),
        ("下周末", D(2026, 12, 5), None),
        ("周一上午", D(2026, 11, 30), "am"),  # the 一 of 周一 is not 一上午
        ("下周一上午我带他过来", D(2026, 11, 30), "am"),
        ("傍晚", None, None),  # a part of day with no day, describing nothing to do
        ("下午能来修吗", None, "pm"),
        # Chinese numerals
        ("三号", D(2026, 12, 3), None),
        ("十二月三日", D(2026, 12, 3), None),
        ("二十五号", D(2026, 11, 25), None),
        ("廿八号", D(2026, 11, 28), None),
        ("十二月三十一号上午", D(2026, 12, 31), "am"),
        # Month and year roll-over
        ("20号", D(2026, 12, 20), None),  # the 20th has passed this month
        ("25号", D(2026, 11, 25), None),  # today is not past
        ("31号", D(2026, 12, 31), None),  # November has no 31st
        ("1月5号", D(2027, 1, 5), None),
        ("11月20号", D(2027, 11, 20), None),  # already past this year
        ("下个月3号", D(2026, 12, 3), None),
        ("12/5上午", D(2026, 12, 5), "am"),
        ("12.3号", D(2026, 12, 3), None),
        # Traps
        ("3号楼", None, None),
        ("5号楼老陈", None, None),
        ("一号线", None, None),
        ("12月份", None, None),
        ("电话13800000000", None, None),
        ("1.5一个", None, None),
        ("5号电池", None, None),
        ("3-2-501", None, None),
        ("一日三餐", None, None),
        ("磨刀几号", None, None),
        ("挂个号", None, None),
        ("周建国", None, None),  # a name
        ("上周六", None, None),  # past: not bookable
        ("昨天", None, None),
        ("每周六", None, None),  # a habit, not a day
        ("早上好", None, None),  # a greeting
        ("下午好啊 明天理发", D(2026, 11, 26), None),
        ("礼拜六上半天好伐", D(2026, 11, 28), "am"),  # asking whether it suits, not greeting
        ("明朝下半天好拿过来修修伐", D(2026, 11, 26), "pm"),
        ("排一上午", None, None),  # a duration
        ("天天早上", None, None),  # a habit
        ("9点", None, None),  # an hour alone is not a part of day (LABELS.md names none)
        ("中午", None, None),  # between the two sessions: the bot asks
        # Real messages
        ("@社区小助手 周六上午理发还有号没？给我留一个 5号楼老陈", D(2026, 11, 28), "am"),
        ("喂那个小助手啊周六上午有啊给我们报个名吧就是3号楼2单元501老张家", D(2026, 11, 28), "am"),
        ("帮我爸约个测血糖 12月3号下午 他叫刘德顺 电话13800000000", D(2026, 12, 3), "pm"),
        ("老伴说家里电热毯不热了 这天儿晚上冷得很 能不能修 要是能的话下周二送过去", D(2026, 12, 1), None),
        ("给我家孩子推个头 小学生 周五放学后 下午四点半以后行不嘛", D(2026, 11, 27), "pm"),
        ("挂个号太难了 排一上午 想问问下周六能不能给他约一个", D(2026, 12, 5), None),
        ("量血压 明早 我和我家那口子", D(2026, 11, 26), "am"),
        # 一下 / a verb before a space: 下 ends the verb, the weekday is a bare one
        ("想预约修一下 周四下午", D(2026, 11, 26), "pm"),
        ("问一下周六有没有", D(2026, 11, 28), None),
        ("商量一下周末", D(2026, 11, 28), None),
        ("下个 星期六", D(2026, 12, 5), None),
        ("想问问下周六能不能", D(2026, 12, 5), None),
        # a part of day of a day gone by, of something done, or of busy time is not the booking's
        ("昨天下午刚修好的水壶又坏了 周五上午能再看看不", D(2026, 11, 27), "am"),
        ("上午排了好久没轮上 明天下午还能理发不", D(2026, 11, 26), "pm"),
        ("周六下午不行 上午可以", D(2026, 11, 28), "am"),
        ("周六理发 我下午要上班", D(2026, 11, 28), None),
        # an earlier clause's part of day that times an action is the booking's when the day's has none
        ("她家里人说下午能推她过去,就今天吧", D(2026, 11, 25), "pm"),
        ("明天下午行不行", D(2026, 11, 26), "pm"),
        # dialect
        ("明个上午", D(2026, 11, 26), "am"),
        ("说明个问题", None, None),
        # written Chinese: 午前 and 明晨 the morning, 今晨 this morning
        ("十二月一日午前", D(2026, 12, 1), "am"),
        ("中午前能来修吗", None, "am"),
        ("后天中午前后能去义诊看一下吗", D(2026, 11, 27), None),  # around noon: the bot asks
        ("明晨", D(2026, 11, 26), "am"),
        # before or after noon says the session; noon alone does not. Northern 早半晌 / 晚半晌
        ("这礼拜六社区义诊给我挂一个 晌午以前的", D(2026, 11, 28), "am"),
        ("明天中午以后能来修吗", D(2026, 11, 26), "pm"),
        ("30号义诊 想约一个 晚半晌有没有", D(2026, 11, 30), "pm"),
        ("周五早半晌", D(2026, 11, 27), "am"),
        # Gansu and Qinghai: 明早个 is tomorrow, not its morning; 大后个 the day after the day after tomorrow
        ("剪子钝了 明早个磨给下", D(2026, 11, 26), None),
        ("明早个后晌我拿上过来 修给下", D(2026, 11, 26), "pm"),
        ("磨刀约一个 大后个后晌", D(2026, 11, 28), "pm"),
        ("大后儿个上午", D(2026, 11, 28), "am"),
        # four-digit times as the army and timetables write them, not rooms
        ("请求义诊一次 12月5日1000时 地点社区卫生站", D(2026, 12, 5), "am"),
        ("报告 本人头发超标 请求明日0900理发", D(2026, 11, 26), "am"),
        ("申请上门维修 时间 本周六1400以后", D(2026, 11, 28), "pm"),
        ("周六1402室理发", D(2026, 11, 28), None),
        ("3号楼1402 周六理发", D(2026, 11, 28), None),
        ("周六 1402", D(2026, 11, 28), None),
        ("今晨", D(2026, 11, 25), "am"),
        # Huizhou and Gan speech: 后朝 is the day after tomorrow (明朝 tomorrow), 以后朝南 no day
        ("后朝下昼", D(2026, 11, 27), "pm"),
        ("以后朝南的房子", None, None),
        # something done in the part of day's clause is no booking's time; asking whether it can be is
        ("周五下午修好了", D(2026, 11, 27), None),
        ("热水壶坏了 礼拜五下午拿去修好不", D(2026, 11, 27), "pm"),
        ("电饭煲 周五下午拿过去修好吗", D(2026, 11, 27), "pm"),
    ],
)
def test_parse_day(text: str, date: dt.date | None, part: str | None) -> None:
    assert parse_day(normalize(text), NOW)[:2] == (date, part)


@pytest.mark.parametrize(
    "text", ["下週六可以幫我家老頭子預約剪頭髮嗎", "磨刀師傅下禮拜六來嗎", "下個星期六 推個頭"]
)
def test_traditional_input(text: str) -> None:
    assert parse_day(normalize(text), NOW)[0] == D(2026, 12, 5)


@pytest.mark.parametrize(
    ("text", "named"), [("周六", True), ("周末", True), ("明天", False), ("12月3号", False)]
)
def test_weekday_named(text: str, named: bool) -> None:
    assert parse_day(text, NOW)[2] is named


def test_first_day_wins() -> None:
    assert parse_day("明天或者后天都行", NOW)[0] == D(2026, 11, 26)


def test_now_in_another_zone_is_read_in_shanghai() -> None:
    # 2026-11-25 20:00 UTC is already Thursday 04:00 in Shanghai.
    late_utc = dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)
    assert parse_day("明天", late_utc)[0] == D(2026, 11, 27)
    assert local_now(late_utc).tzinfo is not None


def test_naive_now_is_shanghai_time() -> None:
    naive = dt.datetime(2026, 11, 25, 23, 30)  # noqa: DTZ001 - the case under test
    assert parse_day("明天", naive)[0] == D(2026, 11, 26)
    assert local_now(naive).utcoffset() == dt.timedelta(hours=8)


def test_year_end_rollover() -> None:
    new_year_eve = dt.datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)
    assert parse_day("明天", new_year_eve)[0] == D(2027, 1, 1)
    assert parse_day("3号", new_year_eve)[0] == D(2027, 1, 3)
    assert parse_day("周六", new_year_eve)[0] == D(2027, 1, 2)


def test_weekend_said_on_sunday_is_today() -> None:
    sunday = dt.datetime(2026, 11, 29, 9, 0, tzinfo=SHANGHAI)
    assert parse_day("周末", sunday)[0] == D(2026, 11, 29)
    assert parse_day("周六", sunday)[0] == D(2026, 12, 5)


@pytest.mark.parametrize(("token", "value"), [("3", 3), ("十", 10), ("十二", 12), ("二十五", 25),
                                               ("廿五", 25), ("卅一", 31), ("三十", 30), ("十十", None), ("", None)])
def test_cn_number(token: str, value: int | None) -> None:
    assert cn_number(token) == value


def test_resolvers() -> None:
    today = D(2026, 11, 25)
    assert resolve_weekday(today, 0, "上") is None
    assert resolve_day_of_month(today, 31, 2) is None  # no 31 February, this year or next
    assert resolve_day_of_month(today, 0) is None
    assert resolve_day_of_month(today, 5, 13) is None


def test_a_part_tied_to_the_service_counts_before_the_day() -> None:
    """find_part with the places of service words: "约个下午的义诊 ... 明天行不" is the afternoon."""
    from nlp.dates import find_days
    from nlp.day_parts import find_part

    text = "我妈想去下午的义诊 她最近老头晕 明天行不"
    day = find_days(text, NOW)[0]
    assert find_part(text, day)[0] is None  # untied, an earlier clause's part describes something else
    assert find_part(text, day, anchors=[text.index("义诊")])[0] == "pm"
    text = "想给我妈约个下午的 她最近老头晕 明天行不"  # tied by the booking verb before it
    assert find_part(text, find_days(text, NOW)[0])[0] == "pm"
    assert find_part("上午的理发还有号吗", None, anchors=[3])[0] == "am"


# Round 7: every date form of LABELS.md with its variants, the decisions taken for the unclear
# ones, and the traps, as a table (text, date, part).
ROUND7 = [
    # weekdays and their prefixes
    ("这个礼拜天", D(2026, 11, 29), None),
    ("礼拜日上午", D(2026, 11, 29), "am"),
    ("星期天早晨", D(2026, 11, 29), "am"),
    ("周天", D(2026, 11, 29), None),
    ("这礼拜六", D(2026, 11, 28), None),
    ("本周日上午", D(2026, 11, 29), "am"),
    ("下礼拜天", D(2026, 12, 6), None),
    ("下个星期天", D(2026, 12, 6), None),
    ("下个礼拜一早上", D(2026, 11, 30), "am"),
    ("下下周三", D(2026, 12, 9), None),  # decided: two calendar weeks on
    ("下下周六", D(2026, 12, 12), None),
    ("周三晚上", D(2026, 11, 25), "pm"),  # today
    # weekends
    ("这周末", D(2026, 11, 28), None),
    ("这个周末下午", D(2026, 11, 28), "pm"),
    ("本周末", D(2026, 11, 28), None),
    ("下周末", D(2026, 12, 5), None),
    ("下个周末", D(2026, 12, 5), None),
    # days of the month
    ("本月28号下午", D(2026, 11, 28), "pm"),
    ("28日上午", D(2026, 11, 28), "am"),
    ("29号上午", D(2026, 11, 29), "am"),
    ("12月10日", D(2026, 12, 10), None),
    ("12月8日下午", D(2026, 12, 8), "pm"),
    # relative days
    ("明儿个一早", D(2026, 11, 26), "am"),
    ("明儿个早晨", D(2026, 11, 26), "am"),
    ("今儿个下午", D(2026, 11, 25), "pm"),
    ("大后天傍晚", D(2026, 11, 28), "pm"),
    ("后儿个", D(2026, 11, 27), None),
    ("明天午后", D(2026, 11, 26), "pm"),
    # parts that name no session
    ("周四中午", D(2026, 11, 26), None),
    ("后天晚点儿去", D(2026, 11, 27), None),
    ("周六早点去", D(2026, 11, 28), None),
    ("明天12点以后", D(2026, 11, 26), None),
    # no day: decided null
    ("明后天", None, None),  # two days, the bot asks
    ("元旦那天", None, None),
    ("十二月初三", None, None),  # lunar
    ("腊月初八", None, None),
    ("明年开春", None, None),
    ("月底", None, None),
    ("下周", None, None),
    # traps
    ("3号楼的老张 约周六", D(2026, 11, 28), None),
    ("5号线那边 周日上午", D(2026, 11, 29), "am"),
    ("电话13912345678 下周四上午", D(2026, 12, 3), "am"),
    ("2单元的 后天早上", D(2026, 11, 27), "am"),
    ("上个月没去成 这回明天", D(2026, 11, 26), None),
    ("昨天下午没排上 今天还能不", D(2026, 11, 25), None),
    ("上周六", None, None),
    # session 11: 后日 (Wu, Cantonese) and a clock time where no part-of-day word stands
    ("后日下午", D(2026, 11, 27), "pm"),
    ("今后日子", None, None),
    ("以后日常", None, None),
    ("明天15:00能来", D(2026, 11, 26), "pm"),
    ("周六9点前", D(2026, 11, 28), "am"),
    ("周六早8点", D(2026, 11, 28), "am"),
    ("周六晚8点", D(2026, 11, 28), "pm"),
    ("周六两点钟", D(2026, 11, 28), "pm"),
    ("周六快一点", D(2026, 11, 28), None),  # 一点: "a little"
    ("明天晚饭后", D(2026, 11, 26), "pm"),
    ("28日9:30", D(2026, 11, 28), "am"),
    ("5号14点", D(2026, 12, 5), "pm"),
    ("3号楼14点", None, None),  # a building, not a day
    ("赶明儿有空", None, None),  # "some day" (Beijing)
    ("昨天下午3点修好了 明天", D(2026, 11, 26), None),  # a time of the past
]


@pytest.mark.parametrize(("text", "date", "part"), ROUND7)
def test_round7_date_forms(text: str, date: dt.date | None, part: str | None) -> None:
    assert parse_day(normalize(text), NOW)[:2] == (date, part)


# Issue 18: a month and day written 12.19 / 12/19 on their own ("12.19 理发", "12/19理发").
BARE_SLASH_DATES = [
    ("12.19 理发", D(2026, 12, 19)),
    ("12/19理发", D(2026, 12, 19)),
    ("12/5上午", D(2026, 12, 5)),
    ("1/8 磨刀", D(2027, 1, 8)),  # past this year: next year's
    ("12.3号", D(2026, 12, 3)),  # as before
    # not dates
    ("1.5一个", None),  # a price
    ("12.50元", None),
    ("价格12.19元", None),
    ("草莓29.9两斤", None),
    ("血压130/80 还行", None),
    ("高压120/80", None),
    ("明天9.30到", D(2026, 11, 26)),  # 9.30 after 明天 is a time, not September 30
    ("上午10.15集合", None),
    ("12.5", None),  # one digit after the dot: a number, not a day
]


@pytest.mark.parametrize(("text", "date"), BARE_SLASH_DATES)
def test_a_month_and_day_with_a_slash_or_a_dot(text: str, date: dt.date | None) -> None:
    assert parse_day(normalize(text), NOW)[0] == date


NAMED = [
    ("圣诞节理发", [("圣诞节", 0, 3)]),
    ("元旦那天能约理发吗", [("元旦", 0, 2)]),
    ("国庆有活动吗", [("国庆节", 0, 2)]),
    ("国庆节放几天", [("国庆节", 0, 3)]),
    ("大年初一理发", [("春节", 0, 4)]),
    ("中秋 春节", [("中秋节", 0, 2), ("春节", 3, 5)]),
    ("五一有活动吗", [("劳动节", 0, 2)]),
    ("十五一个", []),  # a number
    ("周六理发", []),
]


@pytest.mark.parametrize(("text", "found"), NAMED)
def test_named_days_are_found_with_the_calendars_name(text: str, found: list[tuple[str, int, int]]) -> None:
    words = {"圣诞节": "圣诞节", "圣诞": "圣诞节"}  # from a community file (12-25 is data, not code)
    assert [(m.name, m.start, m.end) for m in find_named_days(normalize(text), words)] == found


def test_named_days_name_no_day_for_the_labelled_sets() -> None:
    """LABELS.md: 元旦 names no booking day; parse_day (what the classifier reads) keeps it so."""
    assert parse_day(normalize("元旦那天能约理发吗"), NOW)[0] is None
    assert find_named_days("圣诞节理发") == []  # 圣诞节 is no public holiday: only a community file names it
