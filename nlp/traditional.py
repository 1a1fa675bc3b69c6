"""Which messages OpenCC's Traditional -> Simplified conversion (t2s) can change at all.

Most residents type Simplified Chinese, and converting a message with nothing to convert still costs
OpenCC its dictionary look-ups, which miss the CPU cache between messages (≈ 3% of reading one).
Every word t2s converts holds a character that one of its character dictionaries lists (the set is
checked for that when it is made), so a message with none of those characters is left as it is.

The characters are read from OpenCC's own dictionary files (marisa tries, read with marisa-trie) once,
and kept in the cache directory beside the learned model, keyed by OpenCC's version and its t2s
configuration, as jieba caches its dictionary. When they cannot be read every message is converted,
as before, and the log says why.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from nlp.cache import cache_dir, prune, usable_cache_dir
from nlp.corpus_files import digest

log = logging.getLogger("linli.nlp")

CONFIG = "t2s.json"
_OCD2_HEADER = b"OPENCC_MARISA_0.2.5"
KEEP_FILES = 4


def opencc_share_dir() -> Path:
    import opencc

    return Path(opencc.__file__).resolve().parent / "clib" / "share" / "opencc"


@functools.cache
def conversion_cue() -> re.Pattern[str] | None:
    """A pattern found in every text t2s can change (None when OpenCC's dictionaries cannot be read:
    then convert every text)."""
    try:
        characters = _cached_characters()
    except Exception:
        log.exception("OpenCC's dictionaries cannot be read; every message is converted to Simplified")
        return None
    # Characters past the Basic Multilingual Plane (rare: extension ideographs, emoji) as one range: a
    # class of them with the others would be searched one by one, not as a table.
    basic = "".join(sorted(c for c in characters if ord(c) <= 0xFFFF))
    return re.compile(f"[{re.escape(basic)}\U00010000-\U0010ffff]")


def _cached_characters() -> str:
    share = opencc_share_dir()
    key = digest([share / CONFIG, Path(__file__)], f"OpenCC {metadata.version('opencc')}".encode())
    name = f"opencc-t2s-{key}.txt"
    for folder in dict.fromkeys((cache_dir(), usable_cache_dir())):
        try:
            return (folder / name).read_text("utf-8")
        except OSError:
            pass
    characters = "".join(sorted(changed_characters(share)))
    path = usable_cache_dir() / name
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # several processes may make it at once
    partial.write_text(characters, "utf-8")
    partial.replace(path)
    prune(path.parent, "opencc-t2s-*.txt", keep=path, newest=KEEP_FILES)
    return characters


def changed_characters(share: Path) -> set[str]:
    """The characters t2s's dictionaries list on their own, and every character of a word that holds
    none of them yet converts to something else (none in OpenCC 1.1: its only such word, 有序, stays)."""
    import opencc

    keys = [key for file in dictionary_files(json.loads((share / CONFIG).read_text("utf-8")))
            for key in ocd2_keys(share / file)]
    characters = {key for key in keys if len(key) == 1}
    converter = opencc.OpenCC(CONFIG.removesuffix(".json"))
    for word in keys:
        if len(word) > 1 and characters.isdisjoint(word) and converter.convert(word) != word:
            characters.update(word)
    return characters


def dictionary_files(config: Any) -> list[str]:
    """The dictionary files an OpenCC configuration names, however deep its groups nest."""
    if isinstance(config, dict):
        if config.get("type") == "ocd2" and isinstance(config.get("file"), str):
            return [config["file"]]
        return [f for value in config.values() for f in dictionary_files(value)]
    if isinstance(config, list):
        return [f for value in config for f in dictionary_files(value)]
    return []


def ocd2_keys(path: Path) -> list[str]:
    """The words of an OpenCC .ocd2 dictionary: a header, then a marisa trie of the words (then their
    values, which are not needed here)."""
    import marisa_trie

    data = path.read_bytes()
    if not data.startswith(_OCD2_HEADER):
        raise ValueError(f"{path}: not an OpenCC marisa dictionary")
    trie = marisa_trie.Trie()
    trie.frombytes(data[len(_OCD2_HEADER):])
    return list(trie.keys())
