"""Why the bot read a message as it did, in the staff page's words (handlers/texts_learning.reading_reason):
one line per way nlp/decide.py can decide."""

from __future__ import annotations

import pytest

from handlers.texts_learning import reading_reason


@pytest.mark.parametrize(("by", "label", "confidence", "rules_label", "rules_score", "model_top", "said"), [
    ("model", "report:repair", 0.93, "chitchat", None, ("report:repair", 0.93), "模型判断为「报修」（把握 0.93）"),
    ("model", "chitchat", 0.55, "chitchat", None, ("report:sanitation", 0.45),
     "模型最看好「环境卫生」（0.45），但没有明显高过闲聊，按闲聊处理"),
    ("rules", "report:safety", 0.38, "report:safety", 4.0, ("report:safety", 0.38),
     "模型拿不准或看法相同，关键词规则有把握：「安全隐患」（得分 4）"),
    ("urgent", "report:safety", 0.2, "report:safety", 6.0, ("chitchat", 0.7), "有紧急用词，关键词规则判为「安全隐患」"),
    ("alarm", "report:safety", 0.1, "chitchat", None, ("chitchat", 0.9), "长消息的后半段有紧急用词，按安全隐患处理"),
])
def test_each_way_of_deciding_is_said_in_chinese(by: str, label: str, confidence: float, rules_label: str,
                                                 rules_score: float | None, model_top: tuple[str, float],
                                                 said: str) -> None:
    assert reading_reason(by, label, confidence, rules_label, rules_score, model_top) == said
