"""jieba word boundaries for the rules' short keywords, from a small dictionary built once.

The rules only ask jieba one question: is this match of a short word (修, 脏, 理发) a whole
word here, or part of another (装修, 心脏, 处理发票)? For that, jieba's 350 000-word
dictionary (≈ 1 s to load, ≈ 90 MB) is more than needed. A tokenizer over jieba's 20 000
most frequent words, every word containing a character of those keywords, and the community
user dictionary answers the same: on the dev set, our own cases and 3 000 random sentences it
agreed with the full dictionary on every check, and loads in a few hundredths of a second.
The smaller dictionary is written once to the temp directory (jieba then caches it too).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TOP_WORDS = 20_000

_lock = threading.Lock()
_segmenters: dict[str, Segmenter] = {}
log = logging.getLogger("linli.nlp")


class Segmenter:
    """Word boundaries from one jieba tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        # Answers by window: a long message repeating a keyword ("理发理发...") asks the same
        # question many times; each is segmented once. Bounded, cleared when full.
        self._answers: dict[tuple[str, int, int], bool] = {}

    def cut(self, text: str) -> list[str]:
        """Words of `text`; HMM off, so unknown words fall apart into characters (faster, and
        a boundary check never merges a keyword into a guessed word)."""
        return self._tokenizer.lcut(text, HMM=False)

    def is_word(self, text: str, start: int, end: int, context: int = 6) -> bool:
        """True when text[start:end] is a whole word or run of words.

        Only a window of `context` characters on each side is segmented: word boundaries are
        decided locally, and a short window costs a fraction of segmenting a long message.
        """
        left = max(0, start - context)
        key = (text[left : end + context], start - left, end - left)
        known = self._answers.get(key)
        if known is not None:
            return known
        if len(self._answers) >= 4096:
            self._answers.clear()
        answer = self._answers[key] = self._decide(text, start, end, left, context)
        return answer

    def _decide(self, text: str, start: int, end: int, left: int, context: int) -> bool:
        pos = left
        starts_ok = False
        for word in self.cut(text[left : end + context]):
            if pos == start:
                starts_ok = True
            pos += len(word)
            if pos == end:
                return starts_ok
            if pos > end:
                return False
        return False


def segmenter(chars: Iterable[str], userdict: Path | None = None) -> Segmenter:
    """The (cached) segmenter for keywords made of `chars`, with the community words of `userdict`."""
    chars = "".join(sorted(set(chars)))
    extra = userdict.read_bytes() if userdict is not None else b""
    jieba = _import_jieba()
    key = hashlib.sha1(
        f"{jieba.__version__}|{TOP_WORDS}|{chars}|".encode() + extra, usedforsecurity=False
    ).hexdigest()[:16]
    with _lock:
        if key not in _segmenters:
            _segmenters[key] = Segmenter(_tokenizer(jieba, key, chars, extra.decode("utf-8-sig")))
        return _segmenters[key]


def _tokenizer(jieba: Any, key: str, chars: str, userdict: str) -> Any:
    jieba.setLogLevel(logging.WARNING)  # jieba logs "Building prefix dict..." on every start
    path = Path(tempfile.gettempdir()) / f"linli-jieba-{key}.txt"
    try:
        if not path.exists():
            _write_dictionary(jieba, path, set(chars), userdict)
    except OSError as exc:
        # No writable temp directory: the full dictionary gives the same answers, only slower.
        log.warning("cannot write %s (%s); using jieba's full dictionary", path, exc)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for line in userdict.splitlines():
            if line.split():
                tokenizer.add_word(*_user_entry(line).split())
        return tokenizer
    tokenizer = jieba.Tokenizer(str(path))
    tokenizer.initialize()
    return tokenizer


def _write_dictionary(jieba: Any, path: Path, chars: set[str], userdict: str) -> None:
    """jieba's most frequent words, the words holding any of `chars`, and the user words."""
    source = Path(jieba.__file__).with_name("dict.txt")
    lines = source.read_text(encoding="utf-8").splitlines()
    frequencies = sorted((int(line.split(" ", 2)[1]) for line in lines), reverse=True)
    floor = frequencies[min(TOP_WORDS, len(frequencies) - 1)]
    kept = [line for line in lines
            if int(line.split(" ", 2)[1]) >= floor or not chars.isdisjoint(line.split(" ", 1)[0])]
    kept += [_user_entry(line) for line in userdict.splitlines() if line.split()]
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text("\n".join(kept) + "\n", encoding="utf-8")
    os.replace(partial, path)  # atomic: a concurrent process sees the whole file or none


def _user_entry(line: str) -> str:
    """A user-dictionary line as "word freq [tag]" (the frequency may be left out there)."""
    parts = line.split()
    if len(parts) == 1 or not parts[1].isdigit():
        parts.insert(1, "1000")
    return " ".join(parts[:3])


def _import_jieba() -> Any:
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    # jieba 0.42 imports pkg_resources only to open its own dictionary file; that import costs
    # ≈ 0.3 s of start-up (and a deprecation warning). Without it jieba opens the file directly.
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba
