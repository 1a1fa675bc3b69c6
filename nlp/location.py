"""Where in the community a message is about: building, unit and room ("3号楼2单元501", "5栋", "3-2-501").

Pure functions over the text; `room_spans` also tells the privacy helpers which characters
are a room number so it can be masked in anything a neighbour may read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "[零〇一二两三四五六七八九十百]{1,5}"
_NUM = rf"(?:\d{{1,3}}|{_CN_NUM})"
# Traditional forms residents type; the classifier normalizes, but this module must not depend on it.
_TRADITIONAL = str.maketrans({"號": "号", "樓": "楼", "棟": "栋", "單": "单"})

# "3号楼", "3#楼", "3#", "5栋", "5幢", "十二号楼"; not "18楼" (a floor) nor "3号" (a date).
# Chinese numerals only with 号 ("三号楼"): "这两栋楼" and "一栋楼" are not building numbers.
_BUILDING = re.compile(
    rf"(?<![\d零〇一二两三四五六七八九十百])(?:(\d{{1,3}})\s*(?:号楼|号栋|#楼|#|栋|幢)|({_CN_NUM})号(?:楼|栋))"
)
_UNIT = re.compile(rf"(?<![\d零〇一二两三四五六七八九十百])({_NUM})\s*单元")
# A room right after a building or unit ("…单元501", "5号楼602"), or marked 室/房/户 ("501室").
_ROOM_AFTER = re.compile(r"(?:单元|号楼|号栋|\d栋|\d幢|\d#楼?)\s*(\d{3,4})(?![\d年月日号层])")
_ROOM_MARKED = re.compile(r"(?<![\d.])(\d{3,4})\s*(?:室|房|户)")
# "3-2-501" / "3－2－501": building-unit-room.
_TRIPLE = re.compile(r"(?<![\d-])(\d{1,3})\s*-\s*(\d{1,2})\s*-\s*(\d{3,4})(?![\d-])")

MAX_BUILDING = 999


@dataclass(frozen=True)
class Location:
    building: int | None = None
    unit: int | None = None
    room: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.building is None and self.unit is None and self.room is None

    def describe(self, *, show_room: bool = True) -> str:
        """"3号楼2单元501" (or "3号楼2单元***" where a neighbour could read it)."""
        parts = []
        if self.building is not None:
            parts.append(f"{self.building}号楼")
        if self.unit is not None:
            parts.append(f"{self.unit}单元")
        if self.room is not None:
            parts.append(self.room if show_room else "*" * len(self.room))
        return "".join(parts)


def chinese_number(text: str) -> int | None:
    """"十二" -> 12, "二十一" -> 21, "三" -> 3, "一百零五" -> 105; None if not a number."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch not in "十百" for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _CN_DIGITS[ch]
    return total + current


def _prepare(text: str) -> str:
    # NFKC turns full-width digits and ＃/－ into ASCII; lengths of CJK text are unchanged,
    # which `room_spans` relies on (it reports offsets into the text it was given).
    return unicodedata.normalize("NFKC", text).translate(_TRADITIONAL)


def _number(raw: str) -> int | None:
    value = chinese_number(raw)
    return value if value is not None and 0 < value <= MAX_BUILDING else None


def extract_location(text: str) -> Location:
    """The first building, unit and room the text names; fields it does not name stay None."""
    text = _prepare(text)
    triple = _TRIPLE.search(text)
    if triple:
        building, unit = _number(triple.group(1)), _number(triple.group(2))
        if building is not None and unit is not None:
            return Location(building, unit, triple.group(3))
    building = unit = None
    room: str | None = None
    if m := _BUILDING.search(text):
        building = _number(m.group(1) or m.group(2))
    if m := _UNIT.search(text):
        unit = _number(m.group(1))
    if m := (_ROOM_AFTER.search(text) or _ROOM_MARKED.search(text)):
        room = m.group(1)
    return Location(building, unit, room)


def room_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the room numbers in `text`, for masking."""
    if len(_prepare(text)) != len(text):  # NFKC changed the length (ligatures…): be safe, use as is
        prepared = text
    else:
        prepared = _prepare(text)
    spans = [m.span(3) for m in _TRIPLE.finditer(prepared)]
    spans += [m.span(1) for m in _ROOM_AFTER.finditer(prepared)]
    spans += [m.span(1) for m in _ROOM_MARKED.finditer(prepared)]
    return sorted(set(spans))
