"""`linli suggest-keywords`: words frequent in a label's corrected messages that the rules do not read yet."""

from __future__ import annotations

import pytest

from nlp.rules import DEFAULT_RULES_PATH, load_rules
from nlp.suggest import format_suggestions, suggest_keywords

CORRECTED = [
    # Three sanitation messages the bot had missed or misread, all about the fountain (喷泉: no rule word).
    {"text": "小区喷泉池子绿得发臭了 一股味", "label": "report:sanitation", "was": "chitchat"},
    {"text": "喷泉里的水好几个月没换了 都是青苔", "label": "report:sanitation", "was": "chitchat"},
    {"text": "喷泉池里漂着死鱼 臭死了 电话139****5678", "label": "report:sanitation", "was": "report:repair"},
    # 鸽子粪 is a sanitation keyword already: nothing to suggest there.
    {"text": "楼顶鸽子粪一大堆", "label": "report:sanitation", "was": "chitchat"},
    {"text": "顶楼鸽子粪又多了", "label": "report:sanitation", "was": "chitchat"},
    # A word in one message only is no pattern yet.
    {"text": "外卖小哥把电动车停在消防通道", "label": "report:safety", "was": "report:parking"},
    # Chit-chat that mentions the fountain too: counted against it.
    {"text": "晚上喷泉开了 带孩子去看看", "label": "chitchat", "was": "report:sanitation"},
]


@pytest.fixture(scope="module")
def suggested() -> dict:
    return suggest_keywords(CORRECTED, load_rules(DEFAULT_RULES_PATH))


def test_a_word_shared_by_a_labels_corrected_messages_is_proposed_with_counts(suggested: dict) -> None:
    [fountain] = [s for s in suggested["report:sanitation"] if s.word == "喷泉"]
    assert (fountain.messages, fountain.uncaught, fountain.in_chitchat) == (3, 2, 1)
    assert suggested["report:sanitation"][0].word == "喷泉"  # found most often
    assert fountain.examples[0] == "小区喷泉池子绿得发臭了 一股味" and len(fountain.examples) == 2


def test_words_the_rules_already_read_as_that_label_are_left_out(suggested: dict) -> None:
    words = {s.word for s in suggested["report:sanitation"]}
    assert not any("鸽子粪" in w for w in words)
    assert "report:safety" not in suggested  # each of its words is in one message only
    assert "chitchat" not in suggested  # the rules give chit-chat no keywords


def test_the_printout_groups_by_label_with_counts_and_examples(suggested: dict) -> None:
    printed = format_suggestions(suggested, {"report:sanitation": 5, "chitchat": 1})
    assert printed.startswith("report:sanitation (5 labelled messages)")
    assert "  喷泉  (3 messages; 2 the bot had missed; also in 1 chit-chat)" in printed
    assert "e.g. 小区喷泉池子绿得发臭了 一股味" in printed
    assert "config/nlp/keywords.yaml" in printed
    assert "no keywords to suggest" in format_suggestions({}, {})
