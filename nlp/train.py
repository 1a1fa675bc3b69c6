"""Fitting the learned model on labelled rows with scikit-learn, and exporting its weights.

Only training imports scikit-learn (and numpy/scipy); the bot serves the exported weights with
nlp/linear.py. `python -m nlp.model --out PATH` is how a serving process trains without
loading scikit-learn itself (nlp/model.py runs it in a child process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from nlp.corpus_files import Row
from nlp.features import ModelSettings, features
from nlp.linear import LinearWeights

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


def export(vectorizer: Any, model: Any, meta: dict) -> LinearWeights:
    """The weights nlp/linear.py serves, from a fitted vectorizer and calibrated LinearSVC."""
    (calibrated,) = model.calibrated_classifiers_
    svc = calibrated.estimator
    names = vectorizer.get_feature_names_out()
    order = sorted(range(len(names)), key=lambda i: names[i])
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


def fit_rows(rows: Sequence[Row], settings: ModelSettings, read: Callable[[str], Read],
             meta: dict | None = None) -> LinearWeights:
    """`fit` on labelled rows, each read as the bot reads it (`read`: nlp.model.reader)."""
    reads = [read(row["text"]) for row in rows]
    return fit(reads, [row["label"] for row in rows], settings, featurizer(settings), meta)


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
