"""Named days in a message ("圣诞节理发", "元旦那天能约吗", "国庆有活动吗"): the words only."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

# The public holidays as residents name them, each to the name the calendar gives it. Which date
# a name is comes from the calendar (handlers/named_days.py: chinesecalendar, the community file,
# the `holidays` package), never from here. LABELS.md dates no booking by a named day ("元旦那天"
# names none in the labelled sets), so find_days and parse_day, which the classifier reads, leave
# them out: only handlers that want a named day ask for it.
HOLIDAY_WORDS: dict[str, str] = {
    "元旦": "元旦", "春节": "春节", "大年初一": "春节", "除夕": "除夕", "大年三十": "除夕", "年三十": "除夕",
    "清明节": "清明节", "清明": "清明节", "劳动节": "劳动节", "五一": "劳动节", "端午节": "端午节", "端午": "端午节",
    "中秋节": "中秋节", "中秋": "中秋节", "国庆节": "国庆节", "国庆": "国庆节",
}
# 五一 inside a number (十五一, 二五一) or before a unit (五一个) is no holiday.
_NOT_BEFORE_NAMED = r"(?<![\d十百千零一二三四五六七八九两])"
_NOT_AFTER_NAMED = r"(?![\d个块元斤米号楼])"


@dataclass(frozen=True)
class NamedDayMention:
    """A named day in a text: `name` as the calendar knows it (春节 for 大年初一), and where."""

    name: str
    start: int
    end: int


@functools.lru_cache(maxsize=32)
def _named_day_pattern(words: frozenset[tuple[str, str]]) -> tuple[re.Pattern[str], dict[str, str]]:
    names = {**HOLIDAY_WORDS, **dict(words)}
    alternatives = "|".join(re.escape(w) for w in sorted(names, key=len, reverse=True))
    return re.compile(f"{_NOT_BEFORE_NAMED}(?:{alternatives}){_NOT_AFTER_NAMED}"), names


def find_named_days(text: str, words: Mapping[str, str] | None = None) -> list[NamedDayMention]:
    """Every named day in `text` (normalized), in text order: the public holidays, and the words of
    `words` (word -> name, e.g. the community file's {"圣诞": "圣诞节"}) besides."""
    pattern, names = _named_day_pattern(frozenset((words or {}).items()))
    return [NamedDayMention(names[m.group()], m.start(), m.end()) for m in pattern.finditer(text)]
