"""The classifier's memo of recent readings: same answers as reading afresh, per day, bounded."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp.rules import load_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
WED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return load_rules()


@pytest.mark.parametrize("text", ["收到", "我家热水壶坏了周六能修不", "明天上午想理个发", "3号楼楼道灯又不亮了",
                                  "今天有什么活动", "  ", "", "哈哈哈"])
def test_a_remembered_reading_is_the_reading(rules, text: str) -> None:  # type: ignore[no-untyped-def]
    memo = Classifier(rules)
    first, again = memo.understand(text, WED), memo.understand(text, WED)
    assert first == again == Classifier(rules, memo_size=0).understand(text, WED)


def test_relative_dates_follow_the_day_the_message_is_read(rules) -> None:  # type: ignore[no-untyped-def]
    memo = Classifier(rules)
    text = "明天上午想理个发"
    assert memo.understand(text, WED).date == dt.date(2026, 11, 26)
    assert memo.understand(text, WED + dt.timedelta(days=1)).date == dt.date(2026, 11, 27)
    # the same day in another time zone's clock reading is the same local day
    assert memo.understand(text, WED.astimezone(dt.UTC)).date == dt.date(2026, 11, 26)


def test_the_memo_keeps_only_the_latest_readings(rules) -> None:  # type: ignore[no-untyped-def]
    memo = Classifier(rules, memo_size=3)
    for i in range(10):
        memo.understand(f"第{i}条消息", WED)
    assert len(memo._memo) == 3
    assert [key[0] for key in memo._memo] == ["第7条消息", "第8条消息", "第9条消息"]


def test_long_texts_are_read_every_time(rules) -> None:  # type: ignore[no-untyped-def]
    memo = Classifier(rules)
    memo.understand("楼道灯坏了" * 40, WED)
    assert len(memo._memo) == 0
