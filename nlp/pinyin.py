"""Key words typed in pinyin ("lifa", "xia wu", "tingshui") read as the Chinese words they spell.

Young residents and anyone on a phone without a Chinese keyboard at hand type the key word in
toneless pinyin: "mingtian xiawu lifa", "louxia tingshui le". The words that matter are the ones
the bot reads anyway: every word of config/nlp/keywords.yaml and the day and part-of-day words
listed under `pinyin` in config/nlp/normalize.yaml. Their pinyin, as each word is read (pypinyin's
phrase table tells 银行 from 行不行), makes an index, pinyin -> word (nlp/pinyin_build.py), which
normalization applies to runs of Latin letters (nlp/normalize.py).

pypinyin's character table costs about 13 MB in a process (60 MB with its phrase table), more
than the whole index is worth to a serving bot, so the index is built in a child process
(`python -m nlp.pinyin_build`) and cached on disk beside the learned model, keyed by the files it is
read from and pypinyin's version, as jieba caches its dictionary. Without pypinyin, or when the
child fails, the index is empty and pinyin is read as any other Latin text (an error in the log).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from nlp.cache import cache_dir, prune, usable_cache_dir
from nlp.config_files import NLP_CONFIG_DIR
from nlp.corpus_files import digest

log = logging.getLogger("linli.nlp")

BUILD_TIMEOUT_SECONDS = 60
KEEP_INDEXES = 8  # index files kept in the cache directory (several checkouts may share it)


def cache_key() -> str:
    """The hash naming the index: the files its words come from, the code making it, pypinyin's version."""
    try:
        version = metadata.version("pypinyin")
    except metadata.PackageNotFoundError:
        version = "missing"
    sources = [NLP_CONFIG_DIR / "keywords.yaml", NLP_CONFIG_DIR / "normalize.yaml", Path(__file__),
               Path(__file__).with_name("pinyin_build.py")]
    return digest(sources, f"pypinyin {version}".encode())


def load_index() -> dict[str, str]:
    """The cached index, built now (in a child process) when the cache has none. Empty when it
    cannot be built: pinyin is then not read, and the log says why."""
    try:
        name = f"pinyin-{cache_key()}.json"
    except Exception:
        log.exception("the pinyin index's sources cannot be read; pinyin is not read")
        return {}
    usable = usable_cache_dir()  # may warn of an unwritable cache: asked once
    for folder in dict.fromkeys((cache_dir(), usable)):
        index = _read(folder / name)
        if index is not None:
            return index
    path = usable / name
    try:
        _build_in_child(path)
        index = _read(path)
    except Exception:
        log.exception("could not build the pinyin index %s; pinyin is not read", path)
        return {}
    if index is None:
        log.error("the pinyin index %s could not be read after building it; pinyin is not read", path)
        return {}
    prune(path.parent, "pinyin-*.json", keep=path, newest=KEEP_INDEXES)
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
    done = subprocess.run([sys.executable, "-m", "nlp.pinyin_build", "--out", str(path)], env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the pinyin index failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
