"""Quoted replies: when the quote is what the reply asks.

WeChat shows a reply as 「name：quoted text」, a line of dashes and the reply (nlp/normalize.py
splits them). The rules and the model read the sender's own words; the quote matters in two
structural cases, whatever the words:

* **The reply only agrees or chases up** ("同问", "+1", "我们这栋也是", "都四天了还没人来"), or
  opens by agreeing and adds a little ("同问 想带孙子去", "+1 我也一夜没睡 那家到底管不管"): the
  sender says the quote again for themselves, so the message is read as the quote followed by
  the reply. The agreeing words are the cue set `agree` of config/nlp/keywords.yaml (data); the
  reply must hold nothing else but particles, marks, "+1" and a duration (都四天了).
  So is a short reply that books without naming a service ("帮我也约一个", "我也报个名") under a
  quote that names one: the service is the quote's. A day the reply names still comes first.
* **A reply to the bot's own message about a service** (its confirmation, reminder, "which
  session?", "this week is full", its morning post) that names only a time or picks a session
  ("不对 我要的是下午", "那就下周五吧 还是下午", "能不能推到下午", "第一场") or asks about it and
  names nothing of its own ("几点结束？在哪个屋"): the reply is about that service, so it is read
  with the service's name before it (only the name: the bot's "您已预约" and "提醒" are not the
  resident's words), and the quote's day and part of day unless the reply names its own.
  "好的谢谢", "收到" and "👍" name no time and ask nothing: still chit-chat.
* **A booking whose day is only in the quote** ("我也约一个" under "本周六上午义诊…", "能帮我
  改到下午吗" under "您已预约 11月27日…"): the reply names no day, the quote does; the booking
  is for the quote's day, and its part of day unless the reply names its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from nlp.dates import DayMention, find_days, names_a_time
from nlp.day_parts import Part, find_part, find_parts
from nlp.rules import Hit

AGREE = ("cue", "agree")
ASK = ("cue", "ask")
BOOK = ("cue", "book")
# A reply longer than this says something of its own.
AGREE_MAX_CHARS = 24
# What may stand around the agreeing words: marks, particles, "+1", and how long it has been.
_AGREE_REST = re.compile(
    r"[\s,.!?~…:;()\[\]【】+＋]|[啊呀的了吧呢哈嘛哦喔噢呐啦咧]|加?1|[都已经有快]*[0-9一二三四五六七八九十两几半]+个?"
    r"(?:天|周|星期|礼拜|月|小时)多?了?")


def agrees(own: str, hits: Sequence[Hit]) -> bool:
    """Whether the sender's own words (normalized, and the rules' hits in them) only agree with a
    quote or chase it up."""
    if not own or len(own) > AGREE_MAX_CHARS:
        return False
    spans = [(h.start, h.end) for h in hits if AGREE in h.names]
    if not spans and own.strip(" +") not in ("1", "加1"):
        return False
    rest = "".join(ch for i, ch in enumerate(own) if not any(s <= i < e for s, e in spans))
    return not _AGREE_REST.sub("", rest)


def opens_agreeing(own: str, hits: Sequence[Hit]) -> bool:
    """Whether a short reply opens by agreeing ("同问 想带孙子去", "+1 我也一夜没睡 到底管不管"): the
    sender takes up the quote and adds to it, so the quote is read with the reply."""
    if not own or len(own) > AGREE_MAX_CHARS:
        return False
    if _OPENING_PLUS_ONE.match(own):
        return True
    return any(AGREE in h.names and not own[: h.start].strip(" +,.!?~") for h in hits)


_OPENING_PLUS_ONE = re.compile(r"^[+＋]\s*1(?!\d)|^加1")


def books_the_quoted(own: str, hits: Sequence[Hit], quote_hits: Sequence[Hit]) -> bool:
    """Whether a short reply books (a `book` cue) without naming a service, under a quote that names one."""
    if len(own) > AGREE_MAX_CHARS or not any(BOOK in h.names for h in hits):
        return False
    return not any(_names_service(h) for h in hits) and any(_names_service(h) for h in quote_hits)


def _names_service(hit: Hit) -> bool:
    return any(kind in ("keyword", "object") and name.startswith("booking:") for kind, name in hit.names)


def quote_day(quote: str, now: dt.datetime) -> tuple[DayMention | None, Part | None]:
    """The first bookable day the quote names and its part of day ((None, None) when it names no
    day: a weekly schedule, 每周四下午, is no day)."""
    days = find_days(quote, now)
    if not days:
        return None, None
    return days[0], find_part(quote, days[0])[0]


# "第一场", "第二个", "1": the session a reply picks from the ones the bot offered.
_ORDINAL = re.compile(r"^\s*(?:第\s?([一二三123])\s?(?:场|个|次|个时段)?|([123①②③]))(?![\d号点])")
_ORDINALS = {"一": 1, "二": 2, "三": 3, "1": 1, "2": 2, "3": 3, "①": 1, "②": 2, "③": 3}


def answers_the_bot(own: str, hits: Sequence[Hit], quote_hits: Sequence[Hit]) -> bool:
    """Whether a short reply to the bot's own message about a service is about that service: it
    names a time or picks a session, or asks, and names nothing of its own (no keyword, no object)."""
    if not own or len(own) > AGREE_MAX_CHARS:
        return False
    # One service: the bot's menu, or its list of the week's services, is no one booking.
    services = {name for h in quote_hits for kind, name in h.names if kind in ("keyword", "object")
                and name.startswith("booking:")}
    if len(services) != 1:
        return False
    if any(kind in ("keyword", "object") for h in hits for kind, _ in h.names):
        return False
    return bool(names_a_time(own) or _ORDINAL.match(own) or any(ASK in h.names for h in hits))


def quoted_service(quote_hits: Sequence[Hit]) -> str:
    """The words naming the one service of a quote ("" when none)."""
    return next((h.term for h in quote_hits if _names_service(h) or any(
        kind == "object" and name.startswith("booking:") for kind, name in h.names)), "")


def picked_part(quote: str, own: str) -> Part | None:
    """The part of day of the session a reply picks by its number ("第二场" under "① 上午… ② 下午…")."""
    match = _ORDINAL.match(own)
    if not match:
        return None
    index = _ORDINALS[match.group(1) or match.group(2)] - 1
    parts = find_parts(quote)
    return parts[index][0] if 0 <= index < len(parts) else None
