"""Masking of personal data in anything that is not meant to carry it: phones, ID numbers, rooms, names.

`mask_text` is the one function every staff-group post, digest, chart label and export runs free
text through; `masked_excerpt` masks first and cuts after, so a cut never leaves a number's head
("电话139123456…") unmasked. Only the staff web's request page and the volunteers' private
call-back notice show a resident's text as written.

Hand-written because no library finds numbers the way residents type them: in Chinese numerals
(一三九…, 幺 for 1, 两 for 2), with 、 or dots between the groups, or typed with a wrong digit
(libphonenumber's matcher finds none of the first two, and a mistyped number is still personal).
python-stdnum decides what an ID number is: its GB 11643 check digit and its table of region codes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from stdnum import numdb
from stdnum.cn import ric

from handlers.texts_requests import excerpt
from nlp.location import room_spans

# One character in, one out, so offsets found in this view are offsets in the text as written.
_CN_DIGITS = str.maketrans("零〇一二三四五六七八九幺两", "0012345678912")
# What people put between the groups of a number: 139 1234 5678, 139-1234-5678, 139.1234.5678, 139、1234、5678.
_GAP = r"[\s\-.、—–_]{0,3}"
_D = r"\d"


def _digits(count: int) -> str:
    """`count` digits with optional gaps between them."""
    return _D + f"(?:{_GAP}{_D})" * (count - 1)


# Mobile: 1[3-9] and nine more digits, optionally after +86 / 0086 / 86 / (+86).
_MOBILE = re.compile(rf"(?<!\d)(?:\(?(?:\+|00)?86\)?{_GAP})?(1{_GAP}[3-9](?:{_GAP}\d){{9}})(?!\d)")
# Landline with an area code: 010-12345678, (0571)87654321, 0755 8765 4321, +86 10 12345678.
_LANDLINE = re.compile(
    rf"(?<!\d)(?:\(?0\d{{2,3}}\)?|\(?(?:\+|00)86\)?{_GAP}[1-9]\d{{1,2}}){_GAP}([1-9](?:{_GAP}\d){{6,7}})(?!\d)")
# Right after a word saying it is a phone, any 7-12 digits are one: a local number without its
# area code (电话87654321), or a mobile typed with a digit too many or too few.
_PHONE_CUE = re.compile(r"(?:电话|座机|手机|号码|联系|致电|打|tel|phone|☎|📞)[^\d\n]{0,6}?([1-9](?:"
                        + _GAP + r"\d){6,11})(?!\d)", re.IGNORECASE)
# ID numbers: 17 digits and a check character (18), or the 15 digits of the first-generation cards.
_ID18 = re.compile(rf"(?<![\dA-Za-z])({_digits(17)}{_GAP}[\dXx])(?![\dA-Za-z])")
_ID15 = re.compile(rf"(?<![\dA-Za-z])({_digits(15)})(?![\dA-Za-z])")

# Rooms the location parser does not report: "501号", "3-501", "3号501", "住501", "501的住户".
_ROOM = r"(\d{3,4})"
_NOT_AFTER_ROOM = r"(?![\d年月日号楼栋层元块岁斤米平㎡人次个天分秒%.:：])"
_EXTRA_ROOMS = (
    re.compile(rf"(?<![\d#]){_ROOM}(?=\s*号(?![楼院栋线路口门]))"),
    re.compile(rf"(?<![\d\-])\d{{1,3}}\s*-\s*{_ROOM}(?![\d\-])"),
    re.compile(rf"(?:\d号|座)\s*{_ROOM}{_NOT_AFTER_ROOM}"),
    re.compile(rf"(?:住|我家|住在|家在|房号|门牌|楼上|楼下|隔壁|对门|对面)\s*(?:是|在)?\s*{_ROOM}{_NOT_AFTER_ROOM}"),
    re.compile(rf"(?<![\d#.\-]){_ROOM}\s*(?=(?:的)?(?:住户|业主|邻居|老人|家))"),
)


@dataclass(frozen=True)
class PersonalNumber:
    """A personal number at text[start:end]; the digits at `masked` (counted among its digits) become *."""

    start: int
    end: int
    masked: range | None  # None: every character


def _view(text: str) -> str:
    """Full-width forms folded (１３９ → 139, ＋ → +) and Chinese numerals as digits, same length as `text`."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out).translate(_CN_DIGITS)


def _matches(pattern: re.Pattern[str], text: str, accept: Callable[[str], bool]) -> Iterator[re.Match[str]]:
    """Matches of group 1 that `accept` takes; a refused one is retried one character later, so a
    candidate that is not a number (a bad checksum) cannot hide one that starts inside it."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if accept(m.group(1)):
            yield m
            pos = m.end()
        else:
            pos = m.start() + 1


def _only_digits(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit() or ch in "Xx").upper()


@cache
def _regions() -> numdb.NumDB:
    return numdb.get("cn/loc")


def _region(code: str, *, county: bool) -> bool:
    """A province (or, with `county`, a county) code in python-stdnum's table of Chinese regions."""
    found = dict(_regions().info(code))
    if county:
        return bool(found.get(code[2:]))
    return bool(found.get(code[:2]))


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def is_id_number(raw: str) -> bool:
    """An 18-character ID number: the GB 11643 check digit holds, or (a mistyped one) the region and birth
    date are real. A 15-digit first-generation number has no check digit: a known county and a real date."""
    number = _only_digits(raw)
    if len(number) == 18:
        if "X" in number[:-1]:
            return False
        if ric.calc_check_digit(number) == number[-1]:
            return True
        return _real_date(int(number[6:10]), int(number[10:12]), int(number[12:14])) and _region(
            number[:6], county=False)
    if len(number) == 15 and number.isdigit():
        return _real_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12])) and _region(
            number[:6], county=True)
    return False


def _room_shaped(digits: str) -> bool:
    """501, 1203, 2408: a floor (1-60) and a door (01-20). Not 500, 120 of 打120, 1430."""
    floor, door = int(digits[:-2]), int(digits[-2:])
    return 1 <= floor <= 60 and 1 <= door <= 20


def _find_ids(view: str) -> list[PersonalNumber]:
    found = [PersonalNumber(*m.span(1), range(3, 14)) for m in _matches(_ID18, view, is_id_number)]
    found += [PersonalNumber(*m.span(1), range(3, 12)) for m in _matches(_ID15, view, is_id_number)]
    return found


def _find_phones(view: str) -> list[PersonalNumber]:
    found = [PersonalNumber(*m.span(1), range(3, 7)) for m in _MOBILE.finditer(view)]
    for pattern in (_LANDLINE, _PHONE_CUE):
        for m in pattern.finditer(view):
            local = len(_only_digits(m.group(1)))
            found.append(PersonalNumber(*m.span(1), range(0, local - 4)))
    return found


def _find_rooms(text: str, view: str) -> list[PersonalNumber]:
    found = [PersonalNumber(start, end, None) for start, end in room_spans(text)]
    for pattern in _EXTRA_ROOMS:
        found += [PersonalNumber(*m.span(1), None) for m in pattern.finditer(view) if _room_shaped(m.group(1))]
    return found


def personal_numbers(text: str) -> list[PersonalNumber]:
    """Every phone, ID and room number in `text`, without overlaps (an ID beats a phone beats a room)."""
    view = _view(text)
    kept: list[PersonalNumber] = []  # sorted by start, never overlapping
    for found in (*_find_ids(view), *_find_phones(view), *_find_rooms(text, view)):
        i = bisect.bisect_left(kept, found.start, key=lambda k: k.start)
        if (i == 0 or kept[i - 1].end <= found.start) and (i == len(kept) or found.end <= kept[i].start):
            kept.insert(i, found)
    return kept


def _mask(text: str, spans: list[PersonalNumber]) -> str:
    chars = list(text)
    view = _view(text)
    for found in spans:
        ordinal = 0
        for i in range(found.start, found.end):
            is_digit = view[i].isdigit() or view[i] in "Xx"
            if found.masked is None:
                chars[i] = "*" if not view[i].isspace() else chars[i]
            elif is_digit:
                if ordinal in found.masked:
                    chars[i] = "*"
                ordinal += 1
    return "".join(chars)


def mask_text(text: str) -> str:
    """The one masking function: phone, ID and room numbers of `text` masked (139****5678,
    110***********7774, 3号楼2单元***); dates, times, amounts, codes, buildings and units kept."""
    return _mask(text, personal_numbers(text))


def masked_excerpt(text: str, limit: int) -> str:
    """`text` masked, then cut to `limit` characters: masking first, so no cut hides a number from it."""
    return excerpt(mask_text(text), limit)


def mask_name(name: str) -> str:
    """张秀兰 -> 张**, 李强 -> 李*, 欧阳娜娜 -> 欧***; a one-character name stays (nothing to hide)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)
