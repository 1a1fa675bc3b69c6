"""Reading residents' words about bookings: the services they name, their answer to a pending
question ("1", "第二个", "周六那个", "排队", "算了"), and what a cancel request names ("取消 K7P3QX",
"周六的理发不去了"). Pure functions of the normalized text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from config.community import Community
from handlers.named_days import named_day, words_of
from nlp.dates import find_days
from nlp.day_parts import find_parts
from nlp.named_days import find_named_days
from nlp.numerals import cn_number
from nlp.understanding import Understanding

# Words for each service: found anywhere in a resident's text ("周六的理发不去了"), or typed exactly
# by staff as a command's service ("加场 理发 …"), besides the service's id and configured name.
SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "haircut": ("理发", "剪头", "剪发", "推头", "推个头", "义剪", "头发"),
    "appliance_repair": ("家电维修", "维修", "修理", "家电", "小家电", "修家电", "电器", "修"),
    "free_clinic": ("义诊", "体检", "血压", "血糖", "看病", "医生"),
    "knife_sharpening": ("磨刀", "磨剪子", "磨剪", "磨"),
    "legal_aid": ("法律咨询", "法律", "律师"),
}


def services_mentioned(community: Community, text: str, *, shortest: int = 1) -> set[str]:
    """The services a (normalized) text names, by config name or by the usual words of at least
    `shortest` characters (2: "修" alone, in 修路 or 修电梯, names no service)."""
    found = {s.id for s in community.services if s.name in text}
    found |= {sid for sid, words in SERVICE_WORDS.items() if any(len(w) >= shortest and w in text for w in words)}
    return found


def service_from_word(community: Community, word: str) -> str | None:
    """The service a staff member means by one word: its id, its configured name, or a usual word."""
    for service in community.services:
        if word in (service.id, service.name) or word in SERVICE_WORDS.get(service.id, ()):
            return service.id
    return None


@dataclass(frozen=True)
class Answer:
    kind: Literal["exit", "number", "day", "waitlist", "yes", "all"]
    number: int | None = None
    day: dt.date | None = None
    part: str | None = None


# A booking asked for as a change of one already made: "改成周日上午吧", "能不能推到下午", "不对 我要的是
# 下午", "换个时间". Not a bare 换 (换个发型) nor 不是 (我不是约了周六吗).
_MOVES = re.compile(r"改(?:成|到|为|约|一下|个时间|个日子|时间|期)|换(?:成|到|一天|个时间|个日子|个时候|一场|个场)"
                    r"|推到|推迟|往后推|挪到|挪一下|调到|调一下|延到|延后|不对")


def moves_booking(text: str) -> bool:
    """Whether a booking message asks to move a booking already made rather than add one."""
    return bool(_MOVES.search(text))


_PUNCT = re.compile(r"[\s,.!?;:~，。！？；：、…'\"“”‘’()（）\[\]【】-]+")
_EXIT = re.compile(r"^(?:算了|不约了|不用了|不要了|取消|不了|先不约了|先不了|不约|没事了|不用|不去了|不需要了)"
                   r"(?:吧|啦|了|哈|呀|啊|谢谢)*$")
_NUMBER = re.compile(r"^(?:我?(?:要|选|约|就|就要|就约))?第?(\d{1,2}|[一二两三四五六七八九十]{1,3})"
                     r"(?:个|场|号场)?(?:吧|的|那个|那场|就行|好了|谢谢|呀|啊)*$")
_ALL = re.compile(r"^(?:都|全部|全都|两个都|都要)(?:取消|不去了|退了|退掉)?(?:吧|了|啦|谢谢)*$")
_WAITLIST = re.compile(r"排队|候补|等位|排个队")
_YES = {"好", "好的", "行", "可以", "嗯", "嗯嗯", "对", "是", "是的", "ok", "好吧", "行吧", "可以的", "没问题",
        "约吧", "就这个", "就它", "好嘞", "中"}
# What may surround a day or a waitlist word in an answer ("周六那个吧", "那就排队吧").
_FILLER = re.compile(
    r"那个|那场|这个|这场|那就|那|就|的|吧|要|选|约|我|呢|啊|呀|嗯|哈|了|啦|谢谢|麻烦|可以|行|好|一个|个|场|还是|先"
)


def answer_text(text: str) -> str:
    """A normalized text as `parse_answer` reads it: without punctuation or spaces."""
    return _PUNCT.sub("", text)


def parse_answer(text: str, now: dt.datetime) -> Answer | None:
    """How a short reply answers "which session?" / "which booking?"; None if it is no answer.

    `text` is normalized and without punctuation or spaces (`answer_text`).
    """
    if not text or len(text) > 16:
        return None
    if _ALL.match(text):
        return Answer("all")
    if _EXIT.match(text):
        return Answer("exit")
    m = _NUMBER.match(text)
    if m:
        number = cn_number(m.group(1).replace("两", "二"))
        return Answer("number", number=number) if number is not None else None
    if text in _YES:
        return Answer("yes")
    if _WAITLIST.search(text) and not _FILLER.sub("", _WAITLIST.sub("", text)):
        return Answer("waitlist")
    days = find_days(text, now)
    parts = find_parts(text)
    if days or parts:
        rest = text
        spans = [(d.start, d.end) for d in days] + [(s, e) for _, s, e in parts]
        for start, end in sorted(spans, reverse=True):
            rest = rest[:start] + rest[end:]
        if not _FILLER.sub("", rest):
            return Answer("day", day=days[0].date if days else None, part=parts[0][0] if parts else None)
    return None


def day_named(community: Community, understanding: Understanding, text: str, now: dt.datetime
              ) -> tuple[dt.date | None, str | None]:
    """The day and part of day a booking message names: the classifier's, else a date it did not
    read (12.19), else a named day from the calendar (元旦, 圣诞节: LABELS.md dates none of them)."""
    day, part = understanding.date, understanding.part
    if day is None:
        days = find_days(text, now)
        day = days[0].date if days else None
    if day is None:
        named = named_day(community, text, now.date())
        day = named.day if named is not None else None
    if part is None:
        parts = find_parts(text)
        part = parts[0][0] if parts else None
    return day, part


def bare_booking(community: Community, text: str, now: dt.datetime) -> str | None:
    """"圣诞节理发", "12.19 理发": a day and one service and nothing else is a booking, whatever the
    classifier made of it (it dates no named day). The service, or None."""
    if len(text) > BARE_LONGEST or len(services_mentioned(community, text)) != 1:
        return None  # most chit-chat: no dates read at all
    spans = [(d.start, d.end) for d in find_days(text, now)]
    spans += [(n.start, n.end) for n in find_named_days(text, words_of(community))]
    if not spans:
        return None
    return bare_service(community, text, spans + [(start, end) for _, start, end in find_parts(text)])


def is_exit(text: str) -> bool:
    """"算了" / "不约了" (normalized, without punctuation: `answer_text`)."""
    return bool(_EXIT.match(text))


# ---------------------------------------------------------------------------------------------
# A question about availability, or an explicit ask to book

# "周六能理发吗", "今天下午义诊还能约吗", "有没有理发", "还有名额不": the text asks. (V不 at the end,
# "周六上午能修不", stays a booking: with a need told, residents mean "please do".)
_QUESTION = re.compile(r"[吗嘛么][?？!！。~～]*$|[?？]|还能|还可以|有没有|能不能|可不可以|行不行|还有没有|还有名额|"
                       r"还有位|还有号|几点|什么时候|啥时候|哪天|哪一天|几号|在哪|哪里|多少人|吗[，,。 ]")
# "帮我约", "我要约", "给我约个", "我想约": the resident asks for the booking itself.
_EXPLICIT_ASK = re.compile(r"帮我约|给我约|替我约|帮忙约|我要约|我想约|我要预约|我想预约|帮我预约|给我预约|"
                           r"帮我报名|给我报名|帮我报个?名|我要报名|帮我登记|给我登记|帮我挂个?号|约上吧|就约")


def is_question(text: str) -> bool:
    """True when a (normalized) booking message asks whether, when or where, rather than asks to be
    booked: it then gets the sessions and places left, and an offer to book."""
    return bool(_QUESTION.search(text)) and not _EXPLICIT_ASK.search(text)


def asks_to_book(text: str) -> bool:
    return bool(_EXPLICIT_ASK.search(text))


BARE_LONGEST = 24  # characters: a bare booking is a few words
# What may stand beside a day and a service word in a bare booking ("圣诞节理发", "元旦那天想理个发").
_BARE_FILLER = re.compile(
    r"那天|当天|那日|这天|的时候|我想|我要|想|要|帮我|给我|约个?|预约|个|的|去|吧|能|吗|可以|一下|了")


def bare_service(community: Community, text: str, spans: list[tuple[int, int]]) -> str | None:
    """The one service a text names when, besides the given spans (a day) and filler, it names
    nothing else ("圣诞节理发"): such a message is a booking whatever the classifier thought."""
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    found = services_mentioned(community, rest)
    if len(found) != 1:
        return None
    (service,) = found
    words = sorted({community.service(service).name, *SERVICE_WORDS.get(service, ())}, key=len,  # type: ignore[union-attr]
                   reverse=True)
    for word in words:
        rest = rest.replace(word, " ")
    return service if not _BARE_FILLER.sub("", _PUNCT.sub("", rest)) else None


# "取消 K7P3QX" / "取消预约 k7p3qx" / "退掉 K7P3QX": six letters or digits after a cancel word.
_CANCEL_CODE = re.compile(
    r"^(?:请|帮我)?(?:取消|退掉|退订|撤销)(?:预约|候补)?(?:码)?[:：]?\s*([a-z0-9]{6})(?:吧|谢谢)?$"
)


def cancel_code(text: str) -> str | None:
    """The booking code of a "取消 <code>" command (normalized text), upper-cased."""
    m = _CANCEL_CODE.match(text.replace(" ", ""))
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class Cancelling:
    """Which of the sender's bookings a cancel request names: one by its code, or those of the
    services, day and part of day it mentions (all of them when it says 都)."""

    code: str | None = None
    services: frozenset[str] = frozenset()
    day: dt.date | None = None
    part: str | None = None
    everything: bool = False


def read_cancelling(community: Community, understanding: Understanding, text: str, now: dt.datetime
                    ) -> Cancelling | None:
    """What a cancel request (normalized `text`) names; None when the message is none: neither
    labelled cancel_booking nor "取消 <code>"."""
    code = cancel_code(_PUNCT.sub(" ", text).strip())
    if code is not None:
        return Cancelling(code=code)
    if understanding.label != "cancel_booking":
        return None
    days = find_days(text, now)
    parts = find_parts(text)
    return Cancelling(
        services=frozenset(services_mentioned(community, text)),
        day=understanding.date or (days[0].date if days else None),
        part=understanding.part or (parts[0][0] if parts else None),
        everything=any(w in text for w in ("都", "全部", "全都")),
    )
