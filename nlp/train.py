"""Fitting the learned model on labelled rows with scikit-learn, and exporting its weights.

Only training imports scikit-learn (and numpy/scipy); the bot serves the exported weights with
nlp/linear.py. `python -m nlp.train --out PATH` is how a serving process trains without
loading scikit-learn itself (nlp/model.py runs it in a child process). Training reads each
message as the bot does (`reader`: the classifier's normalization and rule hits), which is why
this module sits above nlp/classifier.py and nlp/model.py only runs it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp.classifier import Classifier
from nlp.corpus_files import training_rows
from nlp.evaluation import load_rows
from nlp.features import ModelSettings, features, load_model_settings, rule_tags
from nlp.linear import LinearWeights, PackedLinear, pack_rows
from nlp.model import TRAIN_TIMEOUT_SECONDS, ModelSources
from nlp.normalize import READ_CHARS, normalize
from nlp.rules import DEFAULT_RULES_PATH, load_rules

# A message as training reads it: the normalized text and the rules' words in it (features.rule_tags).
Read = tuple[str, frozenset[str]]
Featurize = Callable[[Any], set[str]]


def fit(texts: Sequence[Any], labels: Sequence[str], settings: ModelSettings, featurize: Featurize,
        meta: dict | None = None) -> LinearWeights:
    """A LinearSVC over binary tf-idf features of the messages (`featurize` turns each into its
    features), its decision values calibrated to probabilities by sigmoids fitted out of fold,
    exported. Deterministic for a seed."""
    vectorizer, model = fit_estimator(texts, labels, settings, featurize)
    return export(vectorizer, model, dict(meta or {}, messages=len(texts)))


def fit_estimator(texts: Sequence[Any], labels: Sequence[str], settings: ModelSettings,
                  featurize: Featurize) -> tuple[Any, Any]:
    """scikit-learn's (TfidfVectorizer, CalibratedClassifierCV) fitted on the texts."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    t = settings.training
    vectorizer = TfidfVectorizer(analyzer=lambda text: sorted(featurize(text)), binary=True,
                                 min_df=settings.features.min_count, norm="l2", use_idf=True, smooth_idf=True)
    x = vectorizer.fit_transform(texts)
    folds = StratifiedKFold(n_splits=t.calibration_folds, shuffle=True, random_state=t.seed)
    model = CalibratedClassifierCV(LinearSVC(C=t.C, random_state=t.seed), method="sigmoid", cv=folds,
                                   ensemble=False)
    model.fit(x, list(labels))
    return vectorizer, model


def _fitted(vectorizer: Any, model: Any) -> tuple[Any, Any, Any, list[int]]:
    """(the LinearSVC, its calibrated wrapper, the feature names, their indices in name order)."""
    (calibrated,) = model.calibrated_classifiers_
    names = vectorizer.get_feature_names_out()
    return calibrated.estimator, calibrated, names, sorted(range(len(names)), key=lambda i: names[i])


def export(vectorizer: Any, model: Any, meta: dict) -> LinearWeights:
    """The weights nlp/linear.py serves, from a fitted vectorizer and calibrated LinearSVC."""
    svc, calibrated, names, order = _fitted(vectorizer, model)
    coef = svc.coef_
    return LinearWeights(
        classes=tuple(str(c) for c in svc.classes_),
        features=tuple(str(names[i]) for i in order),
        idf=tuple(float(vectorizer.idf_[i]) for i in order),
        coef=tuple(tuple(float(v) for v in coef[:, i]) for i in order),
        intercept=tuple(float(b) for b in svc.intercept_),
        calibration=tuple((float(c.a_), float(c.b_)) for c in calibrated.calibrators),
        meta=meta,
    )


def packed_model(vectorizer: Any, model: Any, meta: dict) -> PackedLinear:
    """`PackedLinear.from_weights(export(...))`, packed with numpy rather than one float at a time."""
    import numpy as np

    svc, calibrated, names, order = _fitted(vectorizer, model)
    idf = np.asarray(vectorizer.idf_)[order]
    lanes = np.column_stack([svc.coef_[:, order].T * idf[:, None], idf * idf])
    packed = zip((str(names[i]) for i in order), pack_rows(lanes), strict=True)
    return PackedLinear(tuple(str(c) for c in svc.classes_), packed, tuple(float(b) for b in svc.intercept_),
                        tuple((float(c.a_), float(c.b_)) for c in calibrated.calibrators), meta)


def featurizer(settings: ModelSettings) -> Featurize:
    """The features of a message as `read` gives it (text, tags), cached by text: a text's tags are
    the same wherever it occurs."""
    cache: dict[str, set[str]] = {}

    def featurize(message: Read) -> set[str]:
        text, tags = message
        found = cache.get(text)
        if found is None:
            found = cache[text] = features(text, settings.features, tags)
        return found

    return featurize

def train_to_file(out: Path, sources: ModelSources | None = None) -> int:
    """Trains on the corpus (and `sources.extra`) and writes the model to `out`; the number of
    messages trained on."""
    sources = sources or ModelSources()
    settings = load_model_settings(sources.settings)
    rows = training_rows(sources.corpus, sources.extra)
    reads = read_all([row["text"] for row in rows], reader(settings, sources.rules))
    vectorizer, model = fit_estimator(reads, [row["label"] for row in rows], settings, featurizer(settings))
    packed_model(vectorizer, model, {"key": sources.key(), "messages": len(rows)}).dump(out)
    return len(rows)


_READ: Callable[[str], Read] | None = None  # the reader forked children inherit (read_all)
READ_IN_CHILDREN_FROM = 2000  # fewer messages are read here: forking costs more than it saves


def read_all(texts: Sequence[str], read: Callable[[str], Read]) -> list[Read]:
    """Every text as `read` reads it, in order. Reading is pure Python, the same at every training
    and an eighth of a cold start: with fork (and no other thread, which a fork could catch holding
    a lock) two children read the halves of the corpus while this process imports scikit-learn."""
    global _READ
    if (len(texts) < READ_IN_CHILDREN_FROM or threading.active_count() > 1
            or "fork" not in multiprocessing.get_all_start_methods()):
        return [read(text) for text in texts]
    half = (len(texts) + 1) // 2
    _READ = read
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pending = pool.map_async(_read_chunk, [texts[:half], texts[half:]])
            _import_training_library()
            first, second = pending.get(timeout=TRAIN_TIMEOUT_SECONDS)
    finally:
        _READ = None
    return first + second


def _read_chunk(texts: Sequence[str]) -> list[Read]:
    assert _READ is not None
    return [_READ(text) for text in texts]


def _import_training_library() -> None:
    """What fit_estimator imports, imported ahead (while children read the corpus)."""
    import sklearn.calibration  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.svm  # noqa: F401


def reader(settings: ModelSettings, rules: Path = DEFAULT_RULES_PATH) -> Callable[[str], tuple[str, frozenset[str]]]:
    """How training reads a message, as the bot does: (normalized text the model reads, the rules'
    words in it as tags; none unless the settings use them)."""
    if not settings.features.rule_words:
        return lambda text: (normalize(text)[:READ_CHARS], frozenset())
    classifier = Classifier(load_rules(rules), model=None)

    def read(text: str) -> tuple[str, frozenset[str]]:
        # The words alone, not the scoring, dates and slots `analyze` goes on to: half the time of
        # reading the corpus, which every cold start pays (BENCHMARKS.md, session 10).
        words = classifier.words(text)
        return words.text, rule_tags(words.hits)

    return read


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="train the learned model from nlp/corpus/ into a cache file")
    parser.add_argument("--out", type=Path, required=True, help="the model file to write")
    parser.add_argument("--corpus", type=Path, help="the corpus folder (default nlp/corpus)")
    parser.add_argument("--settings", type=Path, help="the model settings (default config/nlp/model.yaml)")
    parser.add_argument("--rules", type=Path,
                        help="the rules whose words the model sees (default config/nlp/keywords.yaml)")
    parser.add_argument("--extra", type=Path, help="labelled rows to train on besides the corpus (JSON Lines)")
    args = parser.parse_args(argv)
    given: dict[str, object] = {name: getattr(args, name) for name in ("corpus", "settings", "rules")
                                if getattr(args, name) is not None}
    if args.extra is not None:
        rows, problems = load_rows(args.extra)
        if problems:
            raise SystemExit("\n".join(problems))
        given["extra"] = tuple(rows)
    start = time.perf_counter()
    count = train_to_file(args.out, ModelSources(**given))  # type: ignore[arg-type]
    print(f"trained on {count} messages in {time.perf_counter() - start:.1f} s: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
