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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.classifier import Classifier
from nlp.corpus_files import training_rows
from nlp.evaluation import load_rows
from nlp.features import ModelSettings, features, load_model_settings, rule_tags
from nlp.linear import LinearWeights, PackedLinear, pack_rows, serving_order
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
    return export(fit_forked(texts, labels, settings, featurize), dict(meta or {}, messages=len(texts)))


@dataclass(frozen=True)
class Fitted:
    """What serving needs of a fit: the vectorizer, the LinearSVC fitted on every message, and each
    class's sigmoid (a, b) mapping its decision value to a probability."""

    vectorizer: Any
    svc: Any
    sigmoids: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, vectorizer: Any, model: Any) -> Fitted:
        """From scikit-learn's (TfidfVectorizer, CalibratedClassifierCV) as `fit_estimator` gives them."""
        (calibrated,) = model.calibrated_classifiers_
        return cls(vectorizer, calibrated.estimator, tuple((float(c.a_), float(c.b_)) for c in calibrated.calibrators))

    def names_in_order(self) -> tuple[Any, list[int]]:
        """The feature names and their indices in the order a model file keeps (`serving_order`)."""
        names = self.vectorizer.get_feature_names_out()
        idf = self.vectorizer.idf_
        return names, sorted(range(len(names)), key=lambda i: serving_order(str(names[i]), float(idf[i])))


def fit_estimator(texts: Sequence[Any], labels: Sequence[str], settings: ModelSettings,
                  featurize: Featurize) -> tuple[Any, Any]:
    """scikit-learn's (TfidfVectorizer, CalibratedClassifierCV) fitted on the texts: the reference;
    `fit_forked` gives the same model, faster. One BLAS thread (see `fit_forked`), which also makes
    the sigmoids' last digits the same on machines with more cores."""
    from sklearn.calibration import CalibratedClassifierCV
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        vectorizer = _vectorizer(settings, featurize)
        x = vectorizer.fit_transform(texts)
        model = CalibratedClassifierCV(_svc(settings), method="sigmoid", cv=_folds(settings), ensemble=False)
        model.fit(x, list(labels))
    return vectorizer, model


def fit_forked(texts: Sequence[Any], labels: Sequence[str], settings: ModelSettings, featurize: Featurize) -> Fitted:
    """`fit_estimator`'s model, fitted in two processes: CalibratedClassifierCV (ensemble=False) fits
    the LinearSVC on each calibration fold for out-of-fold decision values, then once more on every
    message, one after the other; here a forked child fits the one on every message while this
    process fits the folds and then the sigmoids, as CalibratedClassifierCV fits them
    (tests/nlp/test_model.py: the same model file, byte for byte).

    With one BLAS thread a process: the sigmoid fits are many small numpy calls, and OpenBLAS's
    threads waking for each took them from 0.1 s to 1.6 s on two cores (more beside the child)."""
    from sklearn.model_selection import cross_val_predict
    from threadpoolctl import threadpool_limits

    global _FIT
    labels = list(labels)
    if len(set(labels)) < 3 or not _can_fork():  # two classes get one sigmoid: scikit-learn's own way
        return Fitted.of(*fit_estimator(texts, labels, settings, featurize))
    with threadpool_limits(limits=1):
        vectorizer = _vectorizer(settings, featurize)
        x = vectorizer.fit_transform(texts)
        _FIT = (x, labels, settings)
        try:
            with multiprocessing.get_context("fork").Pool(1) as pool:
                on_every_message = pool.apply_async(_fit_svc)
                decisions = cross_val_predict(_svc(settings), x, labels, cv=_folds(settings),
                                              method="decision_function")
                classes = sorted(set(labels))  # the decision values' columns, as the LinearSVC's classes_
                sigmoids = _sigmoids(decisions, labels, classes)
                svc = on_every_message.get(timeout=TRAIN_TIMEOUT_SECONDS)
        finally:
            _FIT = None
    assert [str(c) for c in svc.classes_] == classes
    return Fitted(vectorizer, svc, sigmoids)


_FIT: tuple[Any, list[str], ModelSettings] | None = None  # what the forked child fits (fit_forked)


def _fit_svc() -> Any:
    assert _FIT is not None
    x, labels, settings = _FIT
    return _svc(settings).fit(x, labels)


def _sigmoids(decisions: Any, labels: Sequence[str], classes: Any) -> tuple[tuple[float, float], ...]:
    """Each class's sigmoid fitted on its out-of-fold decision values against whether the message
    has that class, with scikit-learn's own sigmoid fit (Platt's, as CalibratedClassifierCV uses it;
    private in scikit-learn, so a test checks the result against CalibratedClassifierCV's)."""
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.preprocessing import label_binarize

    has = label_binarize(labels, classes=classes)
    return tuple((float(s.a_), float(s.b_)) for s in
                 (_SigmoidCalibration().fit(decisions[:, i], has[:, i]) for i in range(len(classes))))


def _vectorizer(settings: ModelSettings, featurize: Featurize) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=lambda text: sorted(featurize(text)), binary=True,
                           min_df=settings.features.min_count, norm="l2", use_idf=True, smooth_idf=True)


def _svc(settings: ModelSettings) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(C=settings.training.C, random_state=settings.training.seed)


def _folds(settings: ModelSettings) -> Any:
    from sklearn.model_selection import StratifiedKFold

    t = settings.training
    return StratifiedKFold(n_splits=t.calibration_folds, shuffle=True, random_state=t.seed)


def _can_fork() -> bool:
    """Whether this process may fork a helper: not with another thread running, which the child could
    catch holding a lock."""
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def export(fitted: Fitted, meta: dict) -> LinearWeights:
    """The weights nlp/linear.py serves, from a fit."""
    names, order = fitted.names_in_order()
    svc, idf = fitted.svc, fitted.vectorizer.idf_
    return LinearWeights(
        classes=tuple(str(c) for c in svc.classes_),
        features=tuple(str(names[i]) for i in order),
        idf=tuple(float(idf[i]) for i in order),
        coef=tuple(tuple(float(v) for v in svc.coef_[:, i]) for i in order),
        intercept=tuple(float(b) for b in svc.intercept_),
        calibration=fitted.sigmoids,
        meta=meta,
    )


def packed_model(fitted: Fitted, meta: dict) -> PackedLinear:
    """`PackedLinear.from_weights(export(...))`, packed with numpy rather than one float at a time."""
    import numpy as np

    names, order = fitted.names_in_order()
    svc = fitted.svc
    idf = np.asarray(fitted.vectorizer.idf_)[order]
    lanes = np.column_stack([svc.coef_[:, order].T * idf[:, None], idf * idf])
    packed = zip((str(names[i]) for i in order), pack_rows(lanes), strict=True)
    return PackedLinear(tuple(str(c) for c in svc.classes_), packed, tuple(float(b) for b in svc.intercept_),
                        fitted.sigmoids, meta)


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
    fitted = fit_forked(reads, [row["label"] for row in rows], settings, featurizer(settings))
    packed_model(fitted, {"key": sources.key(), "messages": len(rows)}).dump(out)
    return len(rows)


_READ: Callable[[str], Read] | None = None  # the reader forked children inherit (read_all)
READ_IN_CHILDREN_FROM = 2000  # fewer messages are read here: forking costs more than it saves


def read_all(texts: Sequence[str], read: Callable[[str], Read]) -> list[Read]:
    """Every text as `read` reads it, in order. Reading is pure Python, the same at every training
    and an eighth of a cold start: with fork (and no other thread, which a fork could catch holding
    a lock) two children read the halves of the corpus while this process imports scikit-learn."""
    global _READ
    if len(texts) < READ_IN_CHILDREN_FROM or not _can_fork():
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
    """What fitting (`fit_forked`, `fit_estimator`) imports, imported ahead (while children read the corpus)."""
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
