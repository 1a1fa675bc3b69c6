"""Masking of personal data in anything a neighbour may read: phones, ID numbers, rooms, names.

Pure helpers, shared by every handler: a resident's phone number or room never appears in a
group message, and names in group confirmations are shortened to the family name (张**).
"""

from __future__ import annotations

import re

from nlp.location import room_spans

# Mainland mobile numbers (also written 138-0000-0101 / 138 0000 0101), not inside longer digit runs.
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Landlines with an area code: 010-12345678, 0571-8765432.
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{7,8})(?!\d)")
# Resident ID card numbers: 17 digits and a check character.
_ID_CARD = re.compile(r"(?<![\dA-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![\dA-Za-z])")


def mask_phone(text: str) -> str:
    """13800000101 -> 138****0101; 010-12345678 -> 010-****5678."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-4:]}", text)


def mask_id_card(text: str) -> str:
    """110101199001011234 -> 110***********1234."""
    return _ID_CARD.sub(lambda m: f"{m.group(1)}{'*' * 11}{m.group(2)}", text)


def mask_room(text: str) -> str:
    """3号楼2单元501 -> 3号楼2单元***: the building and unit stay, the door does not."""
    spans = room_spans(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append("*" * (end - start))
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_name(name: str) -> str:
    """张秀兰 -> 张**, 李强 -> 李*, 欧阳娜娜 -> 欧***; a one-character name stays (nothing to hide)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_text(text: str) -> str:
    """Everything a group may read: ID numbers, phone numbers and rooms masked."""
    return mask_room(mask_phone(mask_id_card(text)))
