"""The learned model as the bot serves it: trained from the corpus at first use, cached on disk.

Like jieba's dictionary cache: the model file is named by a hash of everything it is trained
from (the corpus files training reads, config/nlp/model.yaml and normalize.yaml, the code that
makes features, and the versions of the libraries), so a change to any of them trains a new model on the next start and
an unchanged checkout loads the same model. The cache lives in $LINLI_CACHE_DIR, else
$XDG_CACHE_HOME/linli, else ~/.cache/linli. A file that fails to load is trained again; a model
that cannot be trained at all (scikit-learn missing, an unwritable disk) leaves the bot reading
with the rules alone, with an error in the log. Nothing generated is kept in git.

Serving processes train in a child process (`python -m nlp.train`): importing scikit-learn would
keep ≈ 120 MB in the bot for its whole life.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from nlp.cache import CACHE_ENV as CACHE_ENV  # where callers (and tests) have always found it
from nlp.cache import cache_dir, prune, usable_cache_dir
from nlp.corpus_files import CORPUS_DIR, INDEX_NAME, Row, corpus_files, digest
from nlp.features import MODEL_CONFIG_PATH, ModelSettings, load_model_settings, rule_tags, served_text
from nlp.linear import PackedLinear
from nlp.normalize import READ_CHARS, TABLES_PATH
from nlp.rules import DEFAULT_RULES_PATH, DEFAULT_USERDICT_PATH

log = logging.getLogger("linli.nlp")

KEEP_MODELS = 8  # model files kept in the cache directory (several checkouts may share it)
KEEP_LOADED = 2  # models kept in a process's memory: the one serving, and the one before it
TRAIN_TIMEOUT_SECONDS = 300
# The code whose change changes what a trained model means (the rules' code too: the words they
# find are features).
_CODE = tuple(Path(__file__).with_name(name) for name in
              ("features.py", "linear.py", "train.py", "normalize.py", "model.py", "rules.py", "evidence.py",
               "classifier.py", "segment.py", "pinyin.py", "pinyin_build.py", "traditional.py"))
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "OpenCC", "pypinyin")


@dataclass(frozen=True)
class ModelSources:
    """Everything a model is trained from."""

    corpus: Path = CORPUS_DIR
    settings: Path = MODEL_CONFIG_PATH
    extra: tuple[Row, ...] = field(default=(), compare=False)  # rows kept outside the corpus
    rules: Path = DEFAULT_RULES_PATH  # the rule words the model sees (features.rule_words)

    def key(self) -> str:
        """The hash naming the model trained from these sources."""
        files = [self.corpus / INDEX_NAME, *(f.path for f in corpus_files(self.corpus) if f.train),
                 self.settings, TABLES_PATH, self.rules, DEFAULT_USERDICT_PATH, *_CODE]
        versions = [f"python {sys.version_info[0]}.{sys.version_info[1]}"]
        versions += [f"{name} {_version(name)}" for name in _LIBRARIES]
        extra = repr(sorted((r.get("text"), r.get("label")) for r in self.extra))
        return digest(files, ("\n".join(versions) + extra).encode())


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


class LearnedModel:
    """Probabilities of each label for a normalized message."""

    def __init__(self, linear: PackedLinear, settings: ModelSettings, key: str = "") -> None:
        self.linear = linear
        self.settings = settings
        self.key = key

    def probabilities(self, text: str, hits: Sequence[Any] = ()) -> dict[str, float]:
        """Every label's probability (summing to 1) for `text`, already normalized; `hits` are the
        rules' hits in it (nlp.rules.Hit), which the model reads as words when it was trained so."""
        served, last = served_text(text[:READ_CHARS], self.settings.features)
        tags = rule_tags(hits) if hits and self.settings.features.rule_words else ()
        return self.linear.probabilities(served, last, tags)




_loaded: dict[str, LearnedModel] = {}
_lock = threading.Lock()


def load_or_train(sources: ModelSources | None = None, *, train: bool = True) -> LearnedModel | None:
    """The model for `sources`: from this process's memory, else the cache file, else trained now
    (in a child process, `python -m nlp.train`, so that scikit-learn never enters a serving process;
    not at all when `train` is False). None when it
    cannot be had: the caller reads with the rules alone."""
    sources = sources or ModelSources()
    try:
        key = sources.key()
        settings = load_model_settings(sources.settings)
    except Exception:
        log.exception("the learned model's sources cannot be read; reading with the rules alone")
        return None
    with _lock:
        if key in _loaded:
            return _loaded[key]
        path = cache_dir() / f"model-{key}.bin"
        linear = _load(path)
        if linear is None and (usable := usable_cache_dir()) != path.parent:
            path = usable / path.name
            linear = _load(path)
        if linear is None and train:
            linear = _train(path, sources)
        if linear is None:
            return None
        model = _loaded[key] = LearnedModel(linear, settings, key)
        while len(_loaded) > KEEP_LOADED:  # a bot retrained by staff corrections drops its old models
            _loaded.pop(next(iter(_loaded)))
        return model


def _load(path: Path) -> PackedLinear | None:
    if not path.exists():
        return None
    try:
        return PackedLinear.load(path)
    except Exception as exc:  # a cut-short or foreign file: train again, never fail
        log.warning("cannot load the cached model %s (%s); training it again", path, exc)
        return None


def _train(path: Path, sources: ModelSources) -> PackedLinear | None:
    start = time.perf_counter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _train_in_child(path, sources)
        linear = PackedLinear.load(path)
    except Exception:
        log.exception("could not train the learned model into %s; reading with the rules alone", path)
        return None
    log.info("trained the learned model in %.1f s: %s", time.perf_counter() - start, path)
    prune(path.parent, "model-*.bin", keep=path, newest=KEEP_MODELS)
    return linear


def _train_in_child(path: Path, sources: ModelSources) -> None:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    args = [sys.executable, "-m", "nlp.train", "--out", str(path), "--corpus", str(sources.corpus),
            "--settings", str(sources.settings), "--rules", str(sources.rules)]
    with tempfile.TemporaryDirectory(prefix="linli-train-") as folder:
        if sources.extra:  # rows kept outside the corpus (staff corrections) reach the child as a file
            extra = Path(folder) / "extra.jsonl"
            extra.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in sources.extra), "utf-8")
            args += ["--extra", str(extra)]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TRAIN_TIMEOUT_SECONDS,
                              check=False)
    if done.returncode != 0:
        raise RuntimeError(f"training failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
