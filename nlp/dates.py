"""The day and part of day a booking message names, relative to now, as shared/eval/LABELS.md defines them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nlp.normalize import CLAUSE_BREAKS

try:
    from zoneinfo import ZoneInfo

    SHANGHAI: dt.tzinfo = ZoneInfo("Asia/Shanghai")
except Exception:  # no tz database on the machine: China has kept UTC+8 without DST since 1991
    SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

Part = Literal["am", "pm"]

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_NUM = r"(?:\d{1,2}|[一二三四五六七八九十廿卅]{1,3})"

# 明个/今个/后个 (dialect for 明儿个; Jianghuai) only where 明 or 后 does not end a word: 说明个, 证明个,
# 聪明个, 最后个, 然后个. 赶明儿 is "some day", no day.
# 明后天 ("tomorrow or the day after") names no one day: the bot asks.
# 后日 (Wu, Cantonese, written Chinese) is the day after tomorrow, but not in 今后日子 / 日后 / 以后日常;
# so is 后朝 where 朝 is the day (Huizhou, Gan and Wu speech, beside 明朝 / 今朝), not in 以后朝南.
_RELATIVE = re.compile(r"大后天|(?<!明)后天|(?<![今以之往最落前日午然])后日(?![子常本])"
                       r"|(?<![今以之往最落前日午然背随其先])后朝(?![着向南北东西前后代])|明天|(?<!赶)明儿个?"
                       r"|明日|明早|明晚|明晨|今天|今儿个?|今日|今早|今晚|今晨|后儿个?"
                       r"|(?<![说证表聪发透声简阐注标写查讲指开光文清英辨分])明个儿?|(?<![如至而现古])今个儿?"
                       r"|(?<![今以之往最落前日午然背随其先])后个儿?(?![人月位子把])")
_RELATIVE_OFFSET = {"大": 3, "后": 2, "明": 1, "今": 0}
# Weekdays: 周六, 星期天, 礼拜六, 这周六, 这个礼拜六, 本周六, 下周二, 下个星期六, 下下周一.
# A space may stand between the prefix and the week word ("下个 星期六"), never before a bare one.
_WEEKDAY_RE = re.compile(
    r"(?:(?P<pre>下下个?|下个?|这个?|本|上上个?|上个?|每个?)\s?)?(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])"
)
_WEEKEND_RE = re.compile(r"(?:(?P<pre>下下个?|下个?|这个?|本|上个?|每个?)\s?)?周末")
# 3号 / 12月3号 / 12月3日 / 十二月三日 / 12月3 (month given, day word omitted).
_DAY_OF_MONTH = re.compile(
    # A day right before a clock time: 5号14点, 28日9:30.
    rf"(?<![\d第几.\-/])(?:(?P<cmonth>{_NUM})月份?)?(?P<cday>{_NUM})(?P<cunit>号|日)(?=\d{{1,2}}(?:点|:\d\d))"
    rf"|(?<![\d第几.\-/])(?:(?P<month>{_NUM})月份?)?(?P<day>{_NUM})(?P<unit>号|日)?"
    # A number followed by these is a building, a line, a bed... not a day: 3号楼, 一号线, 5号电池.
    r"(?![\d楼栋幢座单门院线床房机位车窗柜箱厅馆码店铺摊台桌电球场地口岗])"
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

_RELATIVE_CHARS = frozenset("天儿日早晚晨个朝")
_WEEK_CHARS = frozenset("周拜期")
_MONTH_CHARS = frozenset("号日月")

# Northern dialect: 头午 / 前晌 the morning, 后晌 / 下晌 / 过晌 the afternoon.
# After a meal: 早饭后 the morning, 午饭后 / 晚饭后 the afternoon or evening. Southern Min: 早起.
# Written Chinese: 午前 / 午后 (中午前 is the morning too). After work or school is the evening.
_AM_WORDS = ("上午", "早上", "早晨", "清早", "一早", "大早", "一大早", "凌晨", "上半天", "早上头", "头午", "前晌",
             "上半晌", "早饭后", "早起", "午前")
_PM_WORDS = ("下午", "晚上", "傍晚", "晚间", "夜里", "夜间", "夜晚", "下半天", "黄昏", "擦黑", "傍黑", "午后", "后晌",
             "下晌", "过晌", "下半晌", "午饭后", "晚饭后", "下班后", "下班以后", "放学后", "放学以后")
# 中午 is left undecided (None): noon sits between the morning and afternoon sessions, so the
# bot should ask rather than guess.
_PART_RE = re.compile("|".join(sorted(_AM_WORDS + _PM_WORDS, key=len, reverse=True)))
# 早起 is the morning in Southern Min (礼拜六早起) but getting up early in Mandarin (明天要早起): a part
# of day only right after a day.
_DAY_JUST_BEFORE = re.compile(r"(?:[天日号末]|[周期拜][一二三四五六日天])\s?$")
# 一上午 / 每天早上 / 天天晚上 are durations or habits, 早上好 a greeting: none names a session.
_PART_NOT_BEFORE = ("一", "每天", "天天", "整个", "整", "半", "大半", "每个", "每")
# 早上好 / 下午好啊 greet; 上半天好伐 / 下午好拿过来 ask whether that time suits ("好" before a verb or
# a question particle).
_GREETING_AFTER = re.compile(r"好(?:[啊呀哇吖哈鸭~]|$|[ ,.!?;:…])")
# 明早 / 今晚, and in written Chinese 明晨 / 今晨 (the morning).
_SHORT_PART = re.compile(r"[明今]([早晚晨])")
# A clause ending in going or coming ("上午人少的时候去"): the part of day times the visit
# (not 回来, 出去, 起来: coming back, going out, getting up).
_GOING_AT_END = re.compile(r"(?<![回出起下上进])(?:过)?[去来]$")
# A clause that is nothing but a part of day, maybe with 吧 / 行 / 都行 / 可以.
# 就上午吧, 还是下午, 下午些的 (Southwestern: "in the afternoon, rather").
_PART_ALONE = re.compile(r"(?:就|那就?|还是)?(?:上午|下午|早上|晚上|中午)(?:些|点)?的?(?:吧|行|都行|可以|也行|好了)?")


def _clause_of(text: str, pos: int) -> str:
    """The clause (run between spaces and punctuation) holding text[pos]."""
    start = max(text.rfind(ch, 0, pos) for ch in " ,.!?;:~") + 1
    ends = [i for i in (text.find(ch, pos) for ch in " ,.!?;:~") if i >= 0]
    return text[start:min(ends, default=len(text))]


# Words after a part of day showing it times an action: 下午能来, 上午有空, 晚上过去.
_ACTION_AFTER_PART = ("能", "可以", "可不可以", "有空", "有时间", "有没有", "有吗", "行", "去", "来", "过",
                      "在家", "送", "拿", "带", "约", "预约", "排")


@dataclass(frozen=True)
class DayMention:
    """One day named in a text, with where it was found."""

    date: dt.date
    start: int
    end: int
    weekday_named: bool


def local_now(now: dt.datetime) -> dt.datetime:
    """`now` in Asia/Shanghai; a naive `now` is taken to be Shanghai time already."""
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        return now.replace(tzinfo=SHANGHAI)
    return now.astimezone(SHANGHAI)


def cn_number(token: str) -> int | None:
    """1-99 from Arabic digits or Chinese numerals (三, 十二, 二十五, 廿五, 卅一)."""
    if token.isdigit():
        return int(token)
    token = token.replace("廿", "二十").replace("卅", "三十")
    if not token or any(ch not in _CN_DIGITS and ch != "十" for ch in token):
        return None
    if "十" not in token:
        return _CN_DIGITS[token] if len(token) == 1 else None
    tens, _, ones = token.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    value = (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return value


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

    # Most messages name no day: skip the patterns whose characters are absent (they are the
    # slowest part of reading a message otherwise).
    chars = set(text)
    for m in _RELATIVE.finditer(text) if chars & _RELATIVE_CHARS else ():
        add(today + dt.timedelta(days=_RELATIVE_OFFSET[m.group()[0]]), m.start(), m.end(), False)
    weekly = bool(chars & _WEEK_CHARS)
    for m in _WEEKEND_RE.finditer(text) if weekly else ():
        prefix, start = _week_prefix(text, m)
        saturday = resolve_weekday(today, 5, prefix)
        if saturday is not None and not prefix and today.weekday() == 6:
            saturday = today  # said on a Sunday, "周末" is the weekend we are in
        add(saturday, start, m.end(), True)
    for m in _WEEKDAY_RE.finditer(text) if weekly else ():
        prefix, start = _week_prefix(text, m)
        add(resolve_weekday(today, _WEEKDAY[m.group("day")], prefix), start, m.end(), True)
    monthly = bool(chars & _MONTH_CHARS)
    for m in _NEXT_MONTH.finditer(text) if monthly else ():
        day = cn_number(m.group("day"))
        month = today.month % 12 + 1
        year = today.year + (1 if month == 1 else 0)
        add(_valid(year, month, day) if day else None, m.start(), m.end(), False)
    for m in _SLASH_DATE.finditer(text) if "/" in chars or "." in chars else ():
        add(resolve_day_of_month(today, int(m.group("day")), int(m.group("month"))), m.start(), m.end(), False)
    for m in _BARE_SLASH_DATE.finditer(text) if "/" in chars or "." in chars else ():
        if m.group("dotday") is not None and _TIME_CONTEXT_BEFORE.search(text, max(0, m.start() - 4), m.start()):
            continue
        day_of_month = int(m.group("day") or m.group("dotday"))
        add(resolve_day_of_month(today, day_of_month, int(m.group("month"))), m.start(), m.end(), False)
    for m in _DAY_OF_MONTH.finditer(text) if monthly else ():
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


# Words taking back a day or time just named: "大后天下午，啊不是，大后天上午", "下礼拜二 / 打错了
# 下礼拜三", "明天上午 不对…那就周五上午", "这周六我回老家 那下周六". Not 还是 alone: "周六还是周日"
# offers two days.
_CORRECTION = re.compile(r"不对|不是|打错|说错|写错|搞错|记错|弄错|改口|算了|那就|那还是|不好意思是|应该是|更正"
                         r"|改(?!天)|换成|换到|那(?=\s?(?:下|这|本|周|星期|礼拜|明|后|大后))")


def corrected_from(text: str, starts: Sequence[int]) -> int:
    """Where the words meant begin when a message corrects itself: the end of the last correction word
    with a day or time named before it and another after it (0 when there is none)."""
    if len(starts) < 2:
        return 0
    cut = 0
    for m in _CORRECTION.finditer(text):
        if any(s < m.start() for s in starts) and any(s >= m.end() for s in starts):
            cut = m.end()
    return cut


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
    clauses = {_clause_start(text, p) for p in points} if text else set()
    days = [d for d in days if _clause_start(text, d.start) in clauses] or days
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


def find_parts(text: str) -> list[tuple[Part, int, int]]:
    """Every part-of-day word that can name a session (am/pm), with its span, in text order."""
    parts: list[tuple[Part, int, int]] = []
    for m in _PART_RE.finditer(text):
        before = text[max(0, m.start() - 2) : m.start()]
        if any(before.endswith(w) for w in _PART_NOT_BEFORE) and not _weekday_one(text, m.start()):
            continue
        if _GREETING_AFTER.match(text, m.end()):
            continue
        if m.group() == "早起" and not _DAY_JUST_BEFORE.search(text, 0, m.start()):
            continue
        if m.group().endswith("前") and text.startswith("后", m.end()):
            continue  # 中午前后: around noon, neither session
        parts.append(("am" if m.group() in _AM_WORDS else "pm", m.start(), m.end()))
    for m in _SHORT_PART.finditer(text):
        if not any(s <= m.start() < e for _, s, e in parts):
            parts.append(("pm" if m.group(1) == "晚" else "am", m.start(), m.end()))
    parts.sort(key=lambda p: p[1])
    return parts


def part_from(text: str, start: int) -> tuple[Part, tuple[int, int]] | None:
    """The first part of day at or after `start` that can time a booking (not of something done, nor
    of time the sender is busy), and its span: a sign-up chain's own entry ("3. 502 李阿姨 下午")."""
    for part, begin, end in find_parts(text):
        if begin >= start and not _not_for_booking(text, begin, end):
            return part, (begin, end)
    return None


def find_part(text: str, day: DayMention | None = None,
              anchors: Sequence[int] = ()) -> tuple[Part | None, tuple[int, int] | None]:
    """The part of day that goes with `day` (or with no day), and its span.

    `anchors` are where the words naming a bookable service start (理发, 义诊, 电饭煲); a part
    of day tied to one ("约个下午的义诊", "上午的理发") times the booking wherever it stands.

    With a day: the first part word in the day's clause or after it ("周五放学后 下午四点半");
    else one tied to the service in an earlier clause ("想约个下午的义诊 ... 明天行不"); another
    part word in an earlier clause describes something else ("这天儿晚上冷得很 ... 下周二送过去").
    Without a day: a part word counts when it times an action ("下午能来修吗") or the service.
    Never one of a past day ("昨天下午"), of something done ("上午排了好久") or of time the
    sender is not free ("下午要上班 上午行吗").
    """
    tied: tuple[Part, int, int] | None = None
    parts = find_parts(text)
    # "下礼拜二下午，不是不是，上午": the part of day after a correction is the one meant.
    cut = corrected_from(text, [p[1] for p in parts] + ([day.start] if day is not None else []))
    for part, start, end in parts:
        if start < cut or _not_for_booking(text, start, end):
            continue
        attached = _tied(text, start, end, anchors)
        if day is not None:
            if start >= _clause_start(text, day.start) or start >= day.start:
                return part, (start, end)
            if (attached or _times_action(text, end)) and tied is None:
                # An earlier clause's part of day counts only as a fallback, when it times the
                # service or an action ("下午能推她过去 就今天吧"), not a description ("这天儿晚上冷得很").
                tied = (part, start, end)
        elif (attached or _times_action(text, end)
              or (anchors and _PART_ALONE.fullmatch(_clause_of(text, start)))
              or (anchors and _GOING_AT_END.search(_clause_of(text, start)))):
            # ... or a clause of its own in a message naming the service ("帮我登记一下磨刀 下午").
            return part, (start, end)
    if tied is not None:
        return tied[0], (tied[1], tied[2])
    for part, start, end in find_clocks(text):
        # No part-of-day word: a clock time says it ("明天15:00", "周四9点前到", "5号14点").
        if start < cut or _not_for_booking(text, start, end):
            continue
        if day is not None and (start >= _clause_start(text, day.start) or start >= day.start):
            return part, (start, end)
        if day is None and (_times_action(text, end) or text.startswith(_AROUND_CLOCK, end)):
            return part, (start, end)
    return None, None


# A clock time: 15:00, 9点, 14时, 十点半, 两点钟. A Chinese numeral hour only with what shows it is an
# hour (钟, 半, 前, 左右 …): 一点 is "a little" (快一点) and never read as one o'clock.
_CLOCK = re.compile(
    r"(?<![\d.:/])(?P<hour>[012]?\d)(?:点|:[0-5]\d|时(?![间候期代刻常]))"
    r"|(?P<cn>十[一二]?|[二三四五六七八九两])点(?=钟|半|前|后|左右|多|以|之|整|到|过|[0-5]?\d分|[一二三四五]十)"
)
_AROUND_CLOCK = ("前", "以前", "之前", "左右", "到", "过来", "过去", "后", "以后")


def clock_part(hour: int, before: str = "") -> Part | None:
    """The part of day a clock hour falls in, as a resident means it: 6-11 the morning; 13-23 and
    1-5 the afternoon or evening (两点 is two in the afternoon: no service runs at night); noon
    and midnight undecided, as 中午 is. 早8点 / 晚8点 say which 8."""
    if before in ("早",):
        return "am"
    if before in ("晚", "夜"):
        return "pm"
    if 6 <= hour <= 11:
        return "am"
    if 13 <= hour <= 23 or 1 <= hour <= 5:
        return "pm"
    return None


def find_clocks(text: str) -> list[tuple[Part, int, int]]:
    """Every clock time in the text that falls in a part of day, with its span, in text order."""
    if "点" not in text and ":" not in text and "时" not in text:
        return []
    found: list[tuple[Part, int, int]] = []
    for m in _CLOCK.finditer(text):
        hour = int(m.group("hour")) if m.group("hour") else cn_number(m.group("cn"))
        part = clock_part(hour, text[m.start() - 1] if m.start() else "") if hour is not None else None
        if part is not None:
            found.append((part, m.start(), m.end()))
    return found


# A part of day of a day gone by: 昨天下午, 上周六上午, 前儿晚上.
_PAST_DAY_BEFORE = re.compile(
    r"(?:昨天|昨儿个?|昨日|昨|前天|前儿个?|上个?(?:周|星期|礼拜)[一二三四五六日天1-7]?)\s?$"
)
# Right after a part word: time the sender (or the one it is for) is not free.
_PART_BUSY = re.compile(r"(?:我|他|她|俺|都|就|还|要|得|也|可能|一般)*(?:不行|没空|没时间|不方便|不得空|不在家|有事|"
                        r"上班|上学|上课|值班|加班)")
# Anywhere after it in its clause: something done then ("上午排了好久", "下午修好了").
_PART_DONE = ("排了", "排过", "修好", "弄好", "去过", "剪了", "剪过", "量过", "看过")
# Verbs that take a part of day as what is booked: 约下午, 约个上午的, 改到晚上.
_BOOK_BEFORE_PART = ("约", "约个", "约一个", "预约", "预约个", "约在", "定在", "排在", "改到", "改成", "换到")


def _times_action(text: str, end: int) -> bool:
    """A part of day ending at `end` followed (maybe after one character) by an action: 下午能来, 晚上过去."""
    return text.startswith(_ACTION_AFTER_PART, end) or text.startswith(_ACTION_AFTER_PART, end + 1)


def _not_for_booking(text: str, start: int, end: int) -> bool:
    if _PAST_DAY_BEFORE.search(text, max(0, start - 6), start):
        return True
    if _PART_BUSY.match(text, end):
        return True
    stop = min((i for i in (text.find(ch, end) for ch in CLAUSE_BREAKS) if i >= 0), default=len(text))
    rest = text[end : min(stop, end + 8)]
    return any(word in rest for word in _PART_DONE)


def _tied(text: str, start: int, end: int, anchors: Sequence[int]) -> bool:
    """True when the part word times the service: 下午的义诊, 上午的那个理发, 约个上午的."""
    if text.startswith("的", end) and any(end < a <= end + 4 for a in anchors):
        return True
    return text.endswith(_BOOK_BEFORE_PART, 0, start)


def _clause_start(text: str, pos: int) -> int:
    cut = max(text.rfind(ch, 0, pos) for ch in CLAUSE_BREAKS)
    return cut + 1


def _weekday_one(text: str, pos: int) -> bool:
    """True when the 一 before `pos` is part of a day (周一上午, 12月1上午), not 一上午 (a whole morning)."""
    return pos >= 2 and text[pos - 1] == "一" and (text[pos - 2] in "周期拜十月" or text[pos - 2].isdigit())


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
