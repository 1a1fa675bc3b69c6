"""Sign-up chains (接龙) pasted back: the last entry is the sender's, and names their booking's day and part."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp.chains import last_entry
from nlp.normalize import normalize

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("周六理发接龙\n1. 王\n2. 孙 下午", "孙 下午"),
        ("义诊接龙\n1、2-101 姜 测血压\n2、6-502 邓 看看腰\n3、4-303 谭老伯 下午去", "4-303 谭老伯 下午去"),
        ("接龙 1.张 2.李 3.赵", "赵"),
        ("#接龙 团购丑橘 10斤装58元\n1. 3-2-501 张 2箱\n2. 6号楼王姐 1箱", "6号楼王姐 1箱"),
        # one entry, or numbers that are no run from 1, make no chain
        ("周六理发接龙\n1. 王", None),
        ("我家3号楼 2单元 502 想约理发", None),
        ("买了2斤苹果 3斤梨", None),
        ("", None),
    ],
)
def test_the_last_entry_of_a_chain(text: str, entry: str | None) -> None:
    normalized = normalize(text)
    start = last_entry(normalized)
    assert (normalized[start:] if start is not None else None) == entry


@pytest.mark.parametrize(
    ("text", "date", "part"),
    [
        # the sender's entry names the part of day, the title the day
        ("周六义剪接龙\n1. 3-402 陈 上午\n2. 7-101 严师傅 下午\n3. 9-602 葛凤英 下午", dt.date(2026, 11, 28), "pm"),
        ("【周六上午 理发接龙】\n1. 2栋 王\n2. 5栋 孙 周日下午", dt.date(2026, 11, 29), "pm"),
        # an entry without a day or part of its own keeps the title's
        ("【周六上午 理发接龙】\n1. 2栋 王 下午\n2. 5栋 孙", dt.date(2026, 11, 28), "am"),
    ],
)
def test_a_chain_books_the_senders_entry(text: str, date: dt.date, part: str) -> None:
    analysis = Classifier.from_config(learned=False).analyze(text, NOW)
    assert (analysis.day.date if analysis.day else None, analysis.part) == (date, part)
