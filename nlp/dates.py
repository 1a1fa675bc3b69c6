"""The day a booking message names, relative to now, as shared/eval/LABELS.md defines it; its part of
day is read by nlp/day_parts.py, and `parse_day` gives both."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from nlp.day_parts import Part, clause_start, corrected_from, find_clocks, find_part, find_parts
from nlp.normalize import CLAUSE_BREAKS
from nlp.numerals import cn_number

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on the machine: China has kept UTC+8 without DST since 1991
    SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_NUM = r"(?:\d{1,2}|[一二三四五六七八九十廿卅]{1,3})"

# 大后个 / 大后儿个 (northern, northwestern) are 大后天.
# 明个/今个/后个 (dialect for 明儿个; Jianghuai) only where 明 or 后 does not end a word: 说明个, 证明个,
# 聪明个, 最后个, 然后个. 赶明儿 is "some day", no day.
# 明后天 ("tomorrow or the day after") names no one day: the bot asks.
# 后日 (Wu, Cantonese, written Chinese) is the day after tomorrow, but not in 今后日子 / 日后 / 以后日常;
# so is 后朝 where 朝 is the day (Huizhou, Gan and Wu speech, beside 明朝 / 今朝), not in 以后朝南.
#
# Each pattern here starts with a lookahead of the characters its matches start with: one that starts
# with a lookbehind or an optional group is otherwise tried in full at every character, and the
# lookahead lets the regex engine skip the other places fast (3-4x faster over a message).
_RELATIVE = re.compile(r"(?=[大后明今])(?:大后(?:天|儿个?|个儿?)|(?<!明)后天"
                       r"|(?<![今以之往最落前日午然])后日(?![子常本])"
                       r"|(?<![今以之往最落前日午然背随其先])后朝(?![着向南北东西前后代])|明天|(?<!赶)明儿个?"
                       r"|明日|明早|明晚|明晨|今天|今儿个?|今日|今早|今晚|今晨|后儿个?"
                       r"|(?<![说证表聪发透声简阐注标写查讲指开光文清英辨分])明个儿?|(?<![如至而现古])今个儿?"
                       r"|(?<![今以之往最落前日午然背随其先])后个儿?(?![人月位子把]))")
_RELATIVE_OFFSET = {"大": 3, "后": 2, "明": 1, "今": 0}
# Weekdays: 周六, 星期天, 礼拜六, 这周六, 这个礼拜六, 本周六, 下周二, 下个星期六, 下下周一.
# A space may stand between the prefix and the week word ("下个 星期六"), never before a bare one.
_WEEKDAY_RE = re.compile(
    r"(?=[下这本上每周星礼])(?:(?P<pre>下下个?|下个?|这个?|本|上上个?|上个?|每个?)\s?)?(?:周|星期|礼拜)"
    r"(?P<day>[一二三四五六日天1-7])"
)
_WEEKEND_RE = re.compile(r"(?=[下这本上每周])(?:(?P<pre>下下个?|下个?|这个?|本|上个?|每个?)\s?)?周末")
# 3号 / 12月3号 / 12月3日 / 十二月三日 / 12月3 (month given, day word omitted).
_DAY_OF_MONTH = re.compile(
    r"(?=[\d一二三四五六七八九十廿卅])(?:"
    # A day right before a clock time: 5号14点, 28日9:30.
    rf"(?<![\d第几.\-/])(?:(?P<cmonth>{_NUM})月份?)?(?P<cday>{_NUM})(?P<cunit>号|日)(?=\d{{1,2}}(?:点|:\d\d))"
    rf"|(?<![\d第几.\-/])(?:(?P<month>{_NUM})月份?)?(?P<day>{_NUM})(?P<unit>号|日)?"
    # A number followed by these is a building, a line, a bed... not a day: 3号楼, 一号线, 5号电池.
    r"(?![\d楼栋幢座单门院线床房机位车窗柜箱厅馆码店铺摊台桌电球场地口岗]))"
)
_NEXT_MONTH = re.compile(rf"下个?月(?P<day>{_NUM})(?:号|日)")
# 12/3上午, 12.3号: only with a day or part word after it, because 1.5 is more often a price.
_SLASH_DATE = re.compile(r"(?<![\d.])(?P<month>1[0-2]|0?[1-9])[./](?P<day>3[01]|[12]\d|0?[1-9])"
                         r"(?=号|日|上午|下午|早上|晚上|中午)")
# 12/19理发, 12.19 理发: a month and day standing alone. "/" reads as a date unless a digit, a
# unit or a price follows (130/80 is a blood pressure: no date starts after a digit); "." only with
# a two-digit day and not right after a day or part-of-day word, because 9.30 after 明天 / 上午 is
# a time, and 1.5 / 12.50元 are prices.
_BARE_SLASH_DATE = re.compile(
    r"(?<![\d./¥￥$])(?P<month>1[0-2]|0?[1-9])(?:/(?P<day>3[01]|[12]\d|0?[1-9])|\.(?P<dotday>3[01]|[12]\d|0[1-9]))"
    r"(?![\d./:%％元块角毛分斤两克米万千百个岁点号日])"
)
_TIME_CONTEXT_BEFORE = re.compile(
    r"(?:[今明后]天|[今明][早晚]|上午|下午|早上|晚上|中午|傍晚|点|[周期拜][一二三四五六日天])\s*$")

# A character every match of the patterns above has (of _RELATIVE, the weekday and weekend words,
# the days of the month): most messages have none, and then those patterns, the slowest part of
# reading a message otherwise, are not run.
_RELATIVE_CUE = re.compile("[今明后]")
_WEEK_CUE = re.compile("[周拜期]")
_MONTH_CUE = re.compile("[号日月]")
# What a day of the month read from _DAY_OF_MONTH has: a month, or a number right before 号/日
# (the pattern, tried at every character, is the slowest of these; a bare number is no day).
_DAY_OF_MONTH_CUE = re.compile(r"[\d一二三四五六七八九十廿卅][号日]|月")

@dataclass(frozen=True)
class DayMention:
    """One day named in a text, with where it was found."""

    date: dt.date
    start: int
    end: int
    weekday_named: bool


def local_now(now: dt.datetime) -> dt.datetime:
    """`now` in Asia/Shanghai; a naive `now` is taken to be Shanghai time already."""
    if now.tzinfo is SHANGHAI:  # already (a caller passing on what it was given)
        return now
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        return now.replace(tzinfo=SHANGHAI)
    return now.astimezone(SHANGHAI)


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def resolve_weekday(today: dt.date, weekday: int, prefix: str) -> dt.date | None:
    """The date of a weekday word.

    Bare and 这周/本周: this week's if still ahead or today, else next week's.
    下周: always next calendar week (weeks start on Monday); 下下周: the week after.
    上周 / 每周 name no bookable day.
    """
    prefix = prefix.rstrip("个")
    if prefix.startswith("上") or prefix.startswith("每"):
        return None
    monday = today - dt.timedelta(days=today.weekday())
    if prefix.startswith("下"):
        weeks = prefix.count("下")
        return monday + dt.timedelta(weeks=weeks, days=weekday)
    if weekday >= today.weekday():
        return monday + dt.timedelta(days=weekday)
    return monday + dt.timedelta(weeks=1, days=weekday)


def resolve_day_of_month(today: dt.date, day: int, month: int | None = None) -> dt.date | None:
    """N号 is this month's unless already past (then next month's); M月N号 is next year's once past."""
    if month is not None:
        if not 1 <= month <= 12:
            return None
        candidate = _valid(today.year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        return _valid(today.year + 1, month, day)
    if not 1 <= day <= 31:
        return None
    year, month_ = today.year, today.month
    for _ in range(3):  # 31号 in a 30-day month falls through to the next month that has one
        candidate = _valid(year, month_, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month_ = (year + 1, 1) if month_ == 12 else (year, month_ + 1)
    return None


def find_days(text: str, now: dt.datetime) -> list[DayMention]:
    """Every bookable (today or later) day the text names, in text order."""
    today = local_now(now).date()
    found: list[DayMention] = []
    taken: list[tuple[int, int]] = []

    def add(date: dt.date | None, start: int, end: int, weekday_named: bool) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        if date is not None and date >= today:
            found.append(DayMention(date, start, end, weekday_named))

    for m in _RELATIVE.finditer(text) if _RELATIVE_CUE.search(text) else ():
        add(today + dt.timedelta(days=_RELATIVE_OFFSET[m.group()[0]]), m.start(), m.end(), False)
    weekly = _WEEK_CUE.search(text)
    for m in _WEEKEND_RE.finditer(text) if weekly else ():
        prefix, start = _week_prefix(text, m)
        saturday = resolve_weekday(today, 5, prefix)
        if saturday is not None and not prefix and today.weekday() == 6:
            saturday = today  # said on a Sunday, "周末" is the weekend we are in
        add(saturday, start, m.end(), True)
    for m in _WEEKDAY_RE.finditer(text) if weekly else ():
        prefix, start = _week_prefix(text, m)
        add(resolve_weekday(today, _WEEKDAY[m.group("day")], prefix), start, m.end(), True)
    monthly = _MONTH_CUE.search(text)
    for m in _NEXT_MONTH.finditer(text) if monthly else ():
        day = cn_number(m.group("day"))
        month = today.month % 12 + 1
        year = today.year + (1 if month == 1 else 0)
        add(_valid(year, month, day) if day else None, m.start(), m.end(), False)
    dated = "/" in text or "." in text
    for m in _SLASH_DATE.finditer(text) if dated else ():
        add(resolve_day_of_month(today, int(m.group("day")), int(m.group("month"))), m.start(), m.end(), False)
    for m in _BARE_SLASH_DATE.finditer(text) if dated else ():
        if m.group("dotday") is not None and _TIME_CONTEXT_BEFORE.search(text, max(0, m.start() - 4), m.start()):
            continue
        day_of_month = int(m.group("day") or m.group("dotday"))
        add(resolve_day_of_month(today, day_of_month, int(m.group("month"))), m.start(), m.end(), False)
    for m in _DAY_OF_MONTH.finditer(text) if monthly and _DAY_OF_MONTH_CUE.search(text) else ():
        month_token, unit = m.group("month") or m.group("cmonth"), m.group("unit") or m.group("cunit")
        day_token = m.group("day") or m.group("cday")
        if month_token is None and unit is None:
            continue  # a bare number is not a day
        if month_token is None and unit == "日" and not day_token.isdigit():
            continue  # 一日三餐: Chinese numeral + 日 only reads as a date after a month
        month = cn_number(month_token) if month_token else None
        day = cn_number(day_token)
        if day is None or (month_token and month is None):
            continue
        add(resolve_day_of_month(today, day, month), m.start(), m.end(), False)
    found.sort(key=lambda d: d.start)
    return found


# A day the booking is moved to: "本来约的周五 改成周四吧", "明天去不了 换到后天下午".
_MOVED_TO = re.compile(r"(?:改|换|挪|推|调|延)(?:成|到|为)\s?$")


def names_a_time(text: str) -> bool:
    """Whether the text names a day, a part of day or a clock time to book (whatever the date now):
    "那就下周五吧", "不对 我要的是下午", "推到3点"."""
    if find_parts(text) or find_clocks(text) or _RELATIVE.search(text) or _WEEKEND_RE.search(text):
        return True
    if any(not (m.group("pre") or "").startswith(("上", "每")) for m in _WEEKDAY_RE.finditer(text)):
        return True
    return any(m.group("unit") or m.group("cunit") for m in _DAY_OF_MONTH.finditer(text))


def booking_day(days: Sequence[DayMention], points: Sequence[int], text: str = "") -> DayMention | None:
    """The day a booking is for, of the `days` `text` names: a day it is moved to (改成, 换到) if
    any, else the one nearest the `points` (where the words naming the service or booking it
    start), the later one on a tie; the first day when there are no such words. A message that
    corrects itself means a day after the correction ("周二。。。不好意思是周四"); a day in the clause of
    those words comes before one in another clause.
    "今天下午我去医院复查 … 下周三上午想约个义诊" is for next Wednesday."""
    cut = corrected_from(text, [d.start for d in days]) if text else 0
    if cut:
        days = [d for d in days if d.start >= cut]
    moved = [d for d in days if _MOVED_TO.search(text, max(0, d.start - 3), d.start)]
    days = _weekends_narrowed(moved or days, text)
    if len(days) <= 1 or not points:
        return days[0] if days else None
    # A day in the clause of the service is the booking's; one in another clause may be the reason
    # ("今天下午还能理发吗 明天要去喝喜酒").
    clauses = {clause_start(text, p) for p in points} if text else set()
    days = [d for d in days if clause_start(text, d.start) in clauses] or days
    return min(days, key=lambda d: (min(abs(p - d.start) for p in points), -d.start))


def _weekends_narrowed(days: Sequence[DayMention], text: str) -> Sequence[DayMention]:
    """The days without a weekend that another of them narrows to one of its days ("律师周末坐班 …
    周日下午可约否" is for the Sunday)."""
    weekends = [d for d in days if text.endswith("周末", 0, d.end)]
    if not weekends:
        return days
    named = {d.date for d in days if d not in weekends}
    return [d for d in days if d not in weekends
            or not named & {d.date, d.date + dt.timedelta(days=1)}] or days


def _week_prefix(text: str, m: re.Match[str]) -> tuple[str, int]:
    """The prefix of a weekday match (下, 这个, ...) and where the day starts.

    下 is not "next" where it ends a verb: 一下 ("问一下周六有没有") or a verb before a space
    ("修一下 周四下午"); the weekday is then a bare one. A space after the prefix is only allowed
    when the prefix starts its clause ("下个 星期六").
    """
    prefix = m.group("pre") or ""
    if not prefix:
        return "", m.start()
    at = m.start("pre")
    before = text[at - 1] if at > 0 else ""
    spaced = not text[m.end("pre")].startswith(("周", "星", "礼"))
    if spaced and before and before not in CLAUSE_BREAKS:
        return "", m.end("pre") + 1
    if prefix.startswith("下") and before == "一":
        rest = prefix[1:]  # 看一下下周一: 一下 + 下周一
        return (rest, at + 1) if rest.startswith("下") else ("", m.end("pre"))
    return prefix, m.start()


def parse_day(text: str, now: dt.datetime) -> tuple[dt.date | None, Part | None, bool]:
    """(date, part, weekday_named) of the first bookable day in `text` relative to `now`.

    `text` should be normalized (Simplified, half-width). Days already past (昨天, 上周六) are
    not returned: a booking can only be for today or later.
    """
    days = find_days(text, now)
    day = days[0] if days else None
    part, _ = find_part(text, day)
    if day is None:
        return None, part, False
    return day.date, part, day.weekday_named
