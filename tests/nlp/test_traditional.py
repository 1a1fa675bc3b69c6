"""nlp/traditional.py: a message OpenCC would leave as it is is not converted at all."""

from __future__ import annotations

import builtins
import json
import logging
from pathlib import Path

import opencc
import pytest

from nlp import traditional
from nlp.corpus_files import corpus_files, read_rows
from nlp.normalize import to_simplified
from nlp.traditional import CONFIG, changed_characters, dictionary_files, ocd2_keys, opencc_share_dir

CONVERTER = opencc.OpenCC("t2s")


def test_every_word_opencc_converts_holds_a_character_of_the_set() -> None:
    share = opencc_share_dir()
    characters = changed_characters(share)
    words = [w for f in dictionary_files(json.loads((share / CONFIG).read_text("utf-8"))) for w in ocd2_keys(share / f)]
    assert len(words) > 5000 and "藉口" in words  # 藉 stays 藉 alone, 藉口 is 借口: phrases are read too
    unseen = [w for w in words if characters.isdisjoint(w)]
    assert all(CONVERTER.convert(w) == w for w in unseen), unseen


@pytest.mark.parametrize(
    "text",
    ["我媽血壓最近不太穩", "藉口", "楼道里著火了", "著名的律师", "电梯坏了 赶紧修", "", "𩏂", "今天有什么活动"],
)
def test_converted_as_opencc_would(text: str) -> None:
    expected = CONVERTER.convert(text).replace("著火", "着火")
    assert to_simplified(text) == expected


def test_the_corpus_converts_as_opencc_would() -> None:
    texts = [row["text"] for file in corpus_files() for row in read_rows(file)]
    cue = traditional.conversion_cue()
    assert cue is not None
    skipped = [t for t in texts if not cue.search(t)]
    assert len(skipped) > len(texts) / 2  # most are Simplified already
    assert all(CONVERTER.convert(t) == t for t in skipped)


def test_dictionary_files_of_nested_groups() -> None:
    config = {"normalization": [{"dict": {"type": "ocd2", "file": "A.ocd2"}}],
              "conversion_chain": [{"dict": {"type": "group", "dicts": [{"type": "ocd2", "file": "B.ocd2"},
                                                                        {"type": "text", "file": "C.txt"}]}}]}
    assert dictionary_files(config) == ["A.ocd2", "B.ocd2"]


def test_kept_in_the_cache_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINLI_CACHE_DIR", str(tmp_path))
    made = traditional._cached_characters()
    (cached,) = tmp_path.glob("opencc-t2s-*.txt")
    assert cached.read_text("utf-8") == made and "媽" in made and "妈" not in made
    cached.write_text("媽", "utf-8")  # read back, not made again
    assert traditional._cached_characters() == "媽"


def test_without_marisa_every_message_is_converted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("LINLI_CACHE_DIR", str(tmp_path))
    real_import = builtins.__import__

    def no_marisa(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "marisa_trie":
            raise ImportError("no marisa_trie")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_marisa)
    traditional.conversion_cue.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="linli.nlp"):
            assert traditional.conversion_cue() is None
        assert "every message is converted" in caplog.text
        assert to_simplified("我媽") == "我妈"
    finally:
        traditional.conversion_cue.cache_clear()
