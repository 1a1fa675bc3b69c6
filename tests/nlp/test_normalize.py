"""normalize(): the one form of a message that every rule reads."""

from __future__ import annotations

import pytest

from nlp.normalize import canonical, normalize, normalize_parts, split_quote, strip_controls

QUOTE = "「李姐：今天义诊人多不多啊」\n- - - - - - - - - - - - - - -\n老多了 我排了快一个钟头 你下午再去吧"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Traditional -> Simplified
        ("我媽血壓最近不太穩 想幫她預約明天上午的義診", "我妈血压最近不太稳 想帮她预约明天上午的义诊"),
        ("下週六可以幫我家老頭子預約剪頭髮嗎", "下周六可以帮我家老头子预约剪头发吗"),
        ("樓道裡著火了", "楼道里着火了"),  # 著 as the particle 着
        ("著名的律师", "著名的律师"),  # ... but not in 著名
        # full-width -> half-width
        ("５号楼１单元", "5号楼1单元"),
        ("还有号没？给我留一个！", "还有号没?给我留一个!"),
        ("ＯＫ", "ok"),
        # stickers and emoji
        ("大家早上好[太阳][太阳]今天降温了", "大家早上好 今天降温了"),
        ("[玫瑰][玫瑰][玫瑰]", ""),
        ("收到👌", "收到"),
        ("👍🏻👍🏻", ""),
        ("谢谢[抱拳] 好的[OK]", "谢谢 好的"),
        ("［强］好", "好"),
        # mentions
        ("@社区小助手 周六上午理发", "周六上午理发"),
        ("@社区小助手周六上午理发", "周六上午理发"),  # the bot's name even without a space
        ("@王姐\u2005明天早上一起去菜场不", "明天早上一起去菜场不"),  # WeChat puts U+2005 after a name
        ("@所有人 本群为社区服务群", "@所有人 本群为社区服务群"),  # an announcement mark, kept
        # whitespace and pauses
        ("  电梯   坏了\n\n赶紧修 ", "电梯 坏了 赶紧修"),
        ("电梯坏了。赶紧修、谢谢", "电梯坏了 赶紧修 谢谢"),
        # quoted replies: only the sender's own words
        (QUOTE, "老多了 我排了快一个钟头 你下午再去吧"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_quote_is_kept_apart() -> None:
    quote, own = normalize_parts(QUOTE)
    assert quote == "今天义诊人多不多啊"
    assert own == "老多了 我排了快一个钟头 你下午再去吧"


def test_quote_after_the_separator_is_dropped_too() -> None:
    quote, own = split_quote("那我也约一个\n- - - - - - - -\n「张阿姨：周六理发几点开始啊」")
    assert quote.startswith("「张阿姨")
    assert own.strip() == "那我也约一个"


def test_dashes_without_a_quote_are_text() -> None:
    assert split_quote("电话 138-0000-0000\n- - - -\n谢谢")[0] == ""


@pytest.mark.parametrize("raw", ["\x00理\x07发\u200b", "理\ud800发", "\u202e理发\ufeff"])
def test_controls_and_lone_surrogates_go(raw: str) -> None:
    assert normalize(raw) == "理发"
    assert "\n" in strip_controls("a\nb")


def test_normalize_is_idempotent() -> None:
    for raw in (QUOTE, "下週六 理髮[強]", "５号楼１单元"):
        once = normalize(raw)
        assert normalize(once) == once


def test_canonical_keeps_marks_that_normalize_strips() -> None:
    assert canonical("預約") == "预约"
    assert canonical("？") == "?"
