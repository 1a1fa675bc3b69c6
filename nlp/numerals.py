"""Numbers as residents type them in dates and times: Arabic digits and Chinese numerals, 1-99."""

from __future__ import annotations

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}


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
