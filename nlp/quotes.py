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
* **A booking whose day is only in the quote** ("我也约一个" under "本周六上午义诊…", "能帮我
  改到下午吗" under "您已预约 11月27日…"): the reply names no day, the quote does; the booking
  is for the quote's day, and its part of day unless the reply names its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from nlp.dates import DayMention, Part, find_days, find_part
from nlp.rules import Hit

AGREE = ("cue", "agree")
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
