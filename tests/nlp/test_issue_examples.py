"""The failures issue 14 lists, read as a new user would send them: they work as a consequence of the
model and of general normalization (no rule names these sentences).

Several of these sentences are in nlp/corpus/addressed_plain.jsonl, which the model is trained on
(they were scored untouched first: nlp/corpus/README.md); the others are not in the corpus.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier, Understanding

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_config()


def read(classifier: Classifier, text: str) -> Understanding:
    return classifier.understand(text, NOW)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("我要理发", "booking:haircut"),
        ("我想剪头", "booking:haircut"),
        ("给我理个发", "booking:haircut"),
        ("我要约义诊", "booking:free_clinic"),
        ("我要量血压", "booking:free_clinic"),
        ("@社区小助手 我要剪头发", "booking:haircut"),
        ("菜刀钝得切不动肉了", "booking:knife_sharpening"),
        ("小区门口总有辆白色面包车堵着大门", "report:parking"),
        ("醫保點樣交啊", "inquiry:policy"),
        # elderly spaced typing
        ("不 去 了 取 消", "cancel_booking"),
    ],
)
def test_plain_asks_are_caught(classifier: Classifier, text: str, label: str) -> None:
    got = read(classifier, text)
    assert got.label == label, (got.ranked, got.reason)


def test_spaced_typing_with_marks_books_the_day(classifier: Classifier) -> None:
    got = read(classifier, "我 想 约 义 诊 ！！！明天 行 吗")
    assert (got.label, got.date) == ("booking:free_clinic", dt.date(2026, 11, 26))


def test_traditional_cantonese_booking_with_a_day(classifier: Classifier) -> None:
    got = read(classifier, "我想預約義剪，星期六可以嗎")  # 义剪: the volunteers' free haircut
    assert (got.label, got.date) == ("booking:haircut", dt.date(2026, 11, 28))


def test_a_pried_letterbox_is_a_request(classifier: Classifier) -> None:
    got = read(classifier, "7号楼的信报箱被人撬了")
    assert got.label in ("report:repair", "report:safety"), got.ranked  # broken, and a break-in


@pytest.mark.parametrize("number", ["13912345678", "139 1234 5678", "010-62345678", "11010119900307123X"])
def test_a_phone_or_id_number_never_turns_a_request_into_chitchat(classifier: Classifier, number: str) -> None:
    plain = read(classifier, "3号楼楼道灯坏了好几天了")
    assert plain.label == "report:repair"
    got = read(classifier, f"3号楼楼道灯坏了好几天了 我电话{number}")
    assert got.label == "report:repair", (got.ranked, got.reason)


@pytest.mark.parametrize(
    "text",
    [
        "【转】燃气安全小知识：发现燃气泄漏，不要开关电器，立即开窗通风，到室外拨打燃气公司电话",
        "转给大家：【提醒】近期有人冒充社区工作人员上门推销净水器，大家注意，不要开门",
        "【转发】医保卡不用激活 凡是打电话让你激活医保卡的都是骗子",
        # a story that only mentions a service
        "昨天带我妈去社区义诊量了个血压，医生说挺好，顺便在旁边理了个发，师傅手艺不错，回来路上还买了菜",
        "上礼拜磨的菜刀到现在还飞快 切排骨一刀两段 志愿者手艺真好",
    ],
)
def test_forwarded_notices_and_stories_are_chitchat(classifier: Classifier, text: str) -> None:
    got = read(classifier, text)
    assert got.label == "chitchat", (got.ranked, got.reason)


def test_an_emergency_at_the_end_of_a_long_message_is_answered(classifier: Classifier) -> None:
    story = ("说起我们这个小区，住了快二十年了，" + "邻里之间都挺好的，逢年过节还互相送点吃的，" * 48)
    text = story + "对了，刚才下楼闻到楼道里一股燃气味，不知道是哪家的"
    assert len(text) > 1000
    got = read(classifier, text)
    assert got.label == "report:safety", got.reason
    assert "燃气味" in got.text  # handlers/requests.py looks for urgent words in the text
