"""Builds the pinyin index nlp/pinyin.py reads: run in a child process (`python -m nlp.pinyin_build
--out FILE`), so that pypinyin's tables (13-60 MB) never stay in a serving bot."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

# Words of one syllable are left out: "fang", "long", "ban", "men" are English words or names too
# often, and a single syllable names nothing on its own. Five syllables are enough for 小区物业费.
MIN_SYLLABLES, MAX_SYLLABLES = 2, 5
MIN_LETTERS = 4  # "dae", "ezi": too short to tell from an abbreviation
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]+$")


def readings(word: str) -> list[str]:
    """The toneless pinyin keys of a Chinese word as it is read (pypinyin's phrase table picks the
    reading of 行 in 银行 and in 行不行), ü typed as v and as u: 理发 -> ["lifa"],
    律师 -> ["lvshi", "lushi"]. Empty for words pypinyin cannot spell."""
    from pypinyin import Style, lazy_pinyin  # only in the child that builds the index

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    if len(syllables) != len(word):
        return []
    key = "".join(syllables)
    return [spelled for spelled in dict.fromkeys((key, key.replace("v", "u")))
            if spelled.isascii() and spelled.isalpha()]


def build_index(words: Iterable[str], not_pinyin: Iterable[str] = ()) -> dict[str, str]:
    """pinyin -> word for every word of 2-5 Chinese characters. A key that spells two different words
    is left out (neither is surely meant), and so are `not_pinyin`, English words that happen to
    spell pinyin ("pole")."""
    refused = set(not_pinyin)
    index: dict[str, str] = {}
    ambiguous: set[str] = set()
    for word in sorted(set(words)):
        if not (_CJK_WORD.match(word) and MIN_SYLLABLES <= len(word) <= MAX_SYLLABLES):
            continue
        for key in readings(word):
            if len(key) < MIN_LETTERS or key in refused:
                continue
            if index.get(key, word) != word:
                ambiguous.add(key)
            index[key] = word
    return {key: word for key, word in sorted(index.items()) if key not in ambiguous}


def source_words() -> tuple[list[str], list[str]]:
    """The words whose pinyin is read (the keyword rules' and normalize.yaml's `pinyin.words`), and
    the Latin words never read as pinyin (`pinyin.not_pinyin`)."""
    from nlp.normalize import tables_file
    from nlp.rules import load_rules

    listed = tables_file().pinyin
    return sorted(set(load_rules().entries) | set(listed.words)), list(listed.not_pinyin)


def write_index(path: Path) -> int:
    """Builds the index from the configured words and writes it to `path` atomically; its size."""
    index = build_index(*source_words())
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".pinyin-",
                                     suffix=".tmp", delete=False) as out:
        json.dump(index, out, ensure_ascii=False, sort_keys=True)
    os.replace(out.name, path)
    return len(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlp.pinyin", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    count = write_index(args.out)
    print(f"{count} pinyin keys -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
