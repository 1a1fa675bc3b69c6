"""The part of day (am/pm) a booking message names: the words for mornings, afternoons and
evenings (dialects' among them), clock times, and which of them time the booking rather than
something done or time the sender is busy; also the words that take back a day or time just named.
nlp/dates.py reads the day and puts the two together."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, Protocol

from nlp.normalize import CLAUSE_BREAKS
from nlp.numerals import cn_number

Part = Literal["am", "pm"]


class NamedDay(Protocol):
    """A day named in the text (nlp.dates.DayMention): where its words start."""

    @property
    def start(self) -> int: ...


# Northern dialect: 头午 / 前晌 the morning, 后晌 / 下晌 / 过晌 the afternoon.
# After a meal: 早饭后 the morning, 午饭后 / 晚饭后 the afternoon or evening. Southern Min: 早起.
# Written Chinese: 午前 / 午后 (中午前 is the morning too). After work or school is the evening.
# Before or after noon (中午, northern 晌午) says which session; noon alone does not (below).
# Northern 早半晌 / 晚半晌: the morning, the late afternoon.
_AM_WORDS = ("上午", "早上", "早晨", "清早", "一早", "大早", "一大早", "凌晨", "上半天", "早上头", "头午", "前晌",
             "上半晌", "早半晌", "早饭后", "早起", "午前", "中午以前", "中午之前", "晌午以前", "晌午之前")
_PM_WORDS = ("下午", "晚上", "傍晚", "晚间", "夜里", "夜间", "夜晚", "下半天", "黄昏", "擦黑", "傍黑", "午后", "后晌",
             "下晌", "过晌", "下半晌", "晚半晌", "午饭后", "晚饭后", "下班后", "下班以后", "放学后", "放学以后",
             "中午以后", "中午之后", "晌午以后", "晌午之后")
# 中午 is left undecided (None): noon sits between the morning and afternoon sessions, so the
# bot should ask rather than guess.
_PART_RE = re.compile("|".join(sorted(_AM_WORDS + _PM_WORDS, key=len, reverse=True)))
# A character every part-of-day word (and 明早, 今晚, 明晨) has: most messages have none, and then no
# pattern is run. (半 of 上半天: 天 alone is in most messages.)
_PART_CUE = re.compile("[午早晚晨晌半夜昏黑班学]")
# 早起 is the morning in Southern Min (礼拜六早起) but getting up early in Mandarin (明天要早起): a part
# of day only right after a day.
_DAY_JUST_BEFORE = re.compile(r"(?:[天日号末]|[周期拜][一二三四五六日天])\s?$")
# 一上午 / 每天早上 / 天天晚上 are durations or habits, 早上好 a greeting: none names a session.
_PART_NOT_BEFORE = ("一", "每天", "天天", "整个", "整", "半", "大半", "每个", "每")
# 早上好 / 下午好啊 greet; 上半天好伐 / 下午好拿过来 ask whether that time suits ("好" before a verb or
# a question particle).
_GREETING_AFTER = re.compile(r"好(?:[啊呀哇吖哈鸭~]|$|[ ,.!?;:…])")
# 明早 / 今晚, and in written Chinese 明晨 / 今晨 (the morning).
# Not 明早个 / 今早个: in Gansu and Qinghai speech tomorrow and today, the whole day.
_SHORT_PART = re.compile(r"[明今]([早晚晨])(?!个)")
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


def find_parts(text: str) -> list[tuple[Part, int, int]]:
    """Every part-of-day word that can name a session (am/pm), with its span, in text order."""
    parts: list[tuple[Part, int, int]] = []
    if not _PART_CUE.search(text):
        return parts
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


def find_part(text: str, day: NamedDay | None = None,
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
            if start >= clause_start(text, day.start) or start >= day.start:
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
        if day is not None and (start >= clause_start(text, day.start) or start >= day.start):
            return part, (start, end)
        if day is None and (_times_action(text, end) or text.startswith(_AROUND_CLOCK, end)):
            return part, (start, end)
    return None, None


# A clock time: 15:00, 9点, 14时, 十点半, 两点钟. A Chinese numeral hour only with what shows it is an
# hour (钟, 半, 前, 左右 …): 一点 is "a little" (快一点) and never read as one o'clock. Four digits
# as the army and timetables write the time (0900, 1400以后, 1000时) only right after a day or
# before what marks a time (`_HHMM_AFTER`): 1402 after a building, before 室 or alone is a room.
# (The lookahead first: the characters a match starts with, so that the regex engine skips other
# places fast, as nlp/dates.py's patterns do.)
_CLOCK = re.compile(
    r"(?=[\d十二三四五六七八九两])(?:(?<![\d.:/])(?P<hour>[012]?\d)(?:点|:[0-5]\d|时(?![间候期代刻常]))"
    r"|(?P<cn>十[一二]?|[二三四五六七八九两])点(?=钟|半|前|后|左右|多|以|之|整|到|过|[0-5]?\d分|[一二三四五]十)"
    r"|(?<![\d.:/\-])(?P<hhmm>(?:[01]\d|2[0-3])[0-5]\d)(?![\d.:/\-]))"
)
_CLOCK_CUE = re.compile(r"[点:时]|\d{4}")
_HHMM_AFTER = ("时", "以后", "以前", "之前", "之后", "前", "后", "左右", "到")
_HHMM_NOT_AFTER = ("室", "房", "户", "号", "栋", "幢", "楼", "单元", "元", "块", "年")
_DAY_BEFORE_HHMM = re.compile(r"(?:[日号天]|[周期拜][一二三四五六日天])$")
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
    if not _CLOCK_CUE.search(text):
        return []
    found: list[tuple[Part, int, int]] = []
    for m in _CLOCK.finditer(text):
        if m.group("hhmm"):
            if text.startswith(_HHMM_NOT_AFTER, m.end()) or not (
                    text.startswith(_HHMM_AFTER, m.end()) or _DAY_BEFORE_HHMM.search(text, 0, m.start())):
                continue
            hour: int | None = int(m.group("hhmm")[:2])
        else:
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
# ... unless a question follows it: 下午拿去修好不 / 修得好吗 / 修好伐 asks whether it can be done.
_ASKED_AFTER_DONE = re.compile(r"(?:吗|嘛|么|不|伐|伓|无|冇|没|没有|啵|否)(?:$|[^\w])")
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
    return any(word in rest and not _ASKED_AFTER_DONE.match(rest, rest.index(word) + len(word))
               for word in _PART_DONE)


def _tied(text: str, start: int, end: int, anchors: Sequence[int]) -> bool:
    """True when the part word times the service: 下午的义诊, 上午的那个理发, 约个上午的."""
    if text.startswith("的", end) and any(end < a <= end + 4 for a in anchors):
        return True
    return text.endswith(_BOOK_BEFORE_PART, 0, start)


def clause_start(text: str, pos: int) -> int:
    cut = max(text.rfind(ch, 0, pos) for ch in CLAUSE_BREAKS)
    return cut + 1


def _weekday_one(text: str, pos: int) -> bool:
    """True when the 一 before `pos` is part of a day (周一上午, 12月1上午), not 一上午 (a whole morning)."""
    return pos >= 2 and text[pos - 1] == "一" and (text[pos - 2] in "周期拜十月" or text[pos - 2].isdigit())
