"""Key words typed in pinyin ("lifa", "xia wu", "tingshui") read as the Chinese words they spell.

Young residents and anyone on a phone without a Chinese keyboard at hand type the key word in
toneless pinyin: "mingtian xiawu lifa", "louxia tingshui le". The words that matter are the ones
the bot reads anyway: every word of config/nlp/keywords.yaml and the day and part-of-day words
listed under `pinyin` in config/nlp/normalize.yaml. Their pinyin is computed by pypinyin (every
reading of a character with several) into an index, pinyin -> word, which normalization applies to
runs of Latin letters (nlp/normalize.py).

pypinyin's character table costs about 13 MB in a process (60 MB with its phrase table), more
than the whole index is worth to a serving bot, so the index is built in a child process
(`python -m nlp.pinyin`) and cached on disk beside the learned model, keyed by the files it is
read from and pypinyin's version, as jieba caches its dictionary. Without pypinyin, or when the
child fails, the index is empty and pinyin is read as any other Latin text (an error in the log).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

log = logging.getLogger("linli.nlp")

# Words of one syllable are left out: "fang", "long", "ban", "men" are English words or names too
# often, and a single syllable names nothing on its own. Four syllables are enough for 小区物业.
MIN_SYLLABLES, MAX_SYLLABLES = 2, 5
MIN_LETTERS = 4  # "dae", "ezi": too short to tell from an abbreviation
BUILD_TIMEOUT_SECONDS = 60
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
# A run of Latin words: "xia wu", "mingtian xiawu lifa".
LATIN_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")


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


def cache_key() -> str:
    from nlp.corpus_files import digest
    from nlp.normalize import TABLES_PATH
    from nlp.rules import DEFAULT_RULES_PATH

    try:
        version = metadata.version("pypinyin")
    except metadata.PackageNotFoundError:
        version = "missing"
    return digest([DEFAULT_RULES_PATH, TABLES_PATH, Path(__file__)], f"pypinyin {version}".encode())


def load_index() -> dict[str, str]:
    """The cached index, built now (in a child process) when the cache has none. Empty when it
    cannot be built: pinyin is then not read, and the log says why."""
    from nlp.model import cache_dir, usable_cache_dir

    try:
        name = f"pinyin-{cache_key()}.json"
    except Exception:
        log.exception("the pinyin index's sources cannot be read; pinyin is not read")
        return {}
    for folder in dict.fromkeys((cache_dir(), usable_cache_dir())):
        index = _read(folder / name)
        if index is not None:
            return index
    path = usable_cache_dir() / name
    try:
        _build_in_child(path)
        index = _read(path)
    except Exception:
        log.exception("could not build the pinyin index %s; pinyin is not read", path)
        return {}
    if index is None:
        log.error("the pinyin index %s could not be read after building it; pinyin is not read", path)
        return {}
    for old in path.parent.glob("pinyin-*.json"):
        if old != path:
            old.unlink(missing_ok=True)
    return index


def _read(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return None
    return data


def _build_in_child(path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "nlp.pinyin", "--out", str(path)], env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the pinyin index failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


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
