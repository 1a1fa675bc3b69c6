"""The keyword rules file: a bad edit is rejected with the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.rules import DEFAULT_RULES_PATH, RulesError, load_rules, parse_rules
from nlp.segment import segmenter

MINIMAL = """\
version: 1
cues:
  ask: {吗: 1}
  book: {预约: 2}
  complaint: {又: 0.5}
  narration: {昨天: 1}
  done: {修好了: 1}
  humor: {哈哈: 1}
  broadcast: {转发: 3}
  existing_booking: {我约的: 1}
  asking_group: {谁知道: 2}
  fault: {坏了: 1.5}
labels:
  booking:haircut:
    keywords:
      理发: 3
      剪頭髮: 3
  report:repair:
    objects: {电梯: 1.5}
    object_needs: [fault]
"""


def test_the_shipped_rules_load() -> None:
    rules = load_rules()
    assert rules.source == DEFAULT_RULES_PATH
    assert rules.settings.threshold > 0
    assert "booking:haircut" in rules.labels


def test_words_are_normalized_like_messages() -> None:
    rules = parse_rules(MINIMAL)
    assert "剪头发" in rules.labels["booking:haircut"].keywords  # written in Traditional
    assert [h.term for h in rules.match("我想剪头发")] == ["剪头发"]


def test_the_longer_word_hides_the_shorter() -> None:
    rules = parse_rules(MINIMAL + "masks: [理发店]\n")
    assert rules.match("楼下理发店开业了") == []
    assert [h.term for h in rules.match("电梯修好了")] == ["电梯", "修好了"]


def test_token_words_need_jieba_to_agree() -> None:
    rules = parse_rules(MINIMAL.replace("理发: 3", "理发: {weight: 3, token: true}"))
    assert rules.token_chars == frozenset("理发")
    is_word = segmenter(rules.token_chars).is_word
    assert [h.term for h in rules.match("处理发票", is_word)] == []
    assert [h.term for h in rules.match("我想理发", is_word)] == ["理发"]
    assert [h.term for h in rules.match("处理发票")] == ["理发"]  # without jieba: everywhere


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (lambda t: t.replace("理发: 3", "理发: lots"), 16, "weight must be a number"),
        (lambda t: t.replace("理发: 3", "理发: 30"), 16, "outside 0..10"),
        (lambda t: t.replace("剪頭髮: 3", "理发: 2"), 17, "listed twice (first at line 16)"),
        (lambda t: t.replace("剪頭髮: 3", "剪头发: 2\n      剪頭發: 1"), 18, "same word as one at line 17"),
        (lambda t: t.replace("booking:haircut:", "booking:haircuts:"), 14, "unknown label"),
        (lambda t: t.replace("booking:haircut:", "chitchat:"), 14, "chit-chat is what is left over"),
        (lambda t: t.replace("object_needs: [fault]", "object_needs: [broken]"), 20, "unknown cue set 'broken'"),
        (lambda t: t.replace("    object_needs: [fault]\n", ""), 19, "objects need `object_needs`"),
        (lambda t: t.replace("  humor: {哈哈: 1}\n", ""), 2, "missing cue set 'humor'"),
        (lambda t: t.replace("  ask: {吗: 1}", "  ask: {吗: 1, 找理发: 1}"), 3, "would hide it"),
        (lambda t: t + "colour: red\n", 21, "unknown section"),
        (lambda t: t.replace("version: 1", "version: 2"), 1, "only version 1"),
        (lambda t: t.replace("理发: 3", "理发: {weight: 3, token: yes please}"), 16, "expected true or false"),
        (lambda t: t.replace("理发: 3", "理 发: 3"), 16, "not a single word"),
        (lambda t: t.replace("理发: 3", "[玫瑰]: 3"), 16, "a key must be a word"),
        (lambda t: t + "settings: {threshold: high}\n", 21, "expected a number"),
        (lambda t: t.replace("labels:", "labels: ["), 15, "not valid YAML"),
    ],
)
def test_bad_rules_name_file_and_line(tmp_path: Path, edit, line: int, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keywords.yaml"
    path.write_text(edit(MINIMAL), encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    text = str(caught.value)
    assert message in text
    assert f"{path}:{line}:" in text, text


def test_rules_errors_are_config_errors(tmp_path: Path) -> None:
    """The command line reports a bad rules file like any other configuration file."""
    from config.community import ConfigError

    path = tmp_path / "keywords.yaml"
    path.write_text(MINIMAL.replace("理发: 3", "理发: lots"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert isinstance(caught.value, RulesError) and isinstance(caught.value, ValueError)
    assert f"{path}:" in str(caught.value)


def test_missing_file() -> None:
    with pytest.raises(RulesError, match="cannot read the rules file"):
        load_rules("/nonexistent/keywords.yaml")


def test_empty_file() -> None:
    with pytest.raises(RulesError, match="empty"):
        parse_rules("")


def test_the_small_dictionary_agrees_with_jieba(tmp_path: Path) -> None:
    """The reduced dictionary must give the full one's answers for the rules' token words."""
    import jieba

    from nlp.rules import DEFAULT_USERDICT_PATH

    rules = load_rules()
    small = segmenter(rules.token_chars, DEFAULT_USERDICT_PATH)
    full = jieba.Tokenizer()
    full.initialize()
    with open(DEFAULT_USERDICT_PATH, "rb") as handle:
        full.load_userdict(handle)
    texts = ["处理发票", "我想理发", "装修太吵", "修一下电梯", "心脏不好", "楼道很脏", "臭豆腐真香", "被骗了",
             "大约三点", "约个理发", "又坏了", "水管漏了", "刀钝了", "领养老金", "偷电动车", "小偷偷了东西",
             "被人骗了三万", "骗子电话"]
    for text in texts:
        for term in ("理发", "修", "脏", "臭", "骗", "约", "又", "坏", "漏", "刀", "领", "偷"):
            start = text.find(term)
            if start < 0:
                continue
            end = start + len(term)
            words = full.lcut(text[max(0, start - 6): end + 6], HMM=False)
            offsets, pos = {max(0, start - 6)}, max(0, start - 6)
            for word in words:
                pos += len(word)
                offsets.add(pos)
            assert small.is_word(text, start, end) == (start in offsets and end in offsets), (text, term)
