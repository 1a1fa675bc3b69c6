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
from nlp.normalize import READ_CHARS

Featurize = Callable[[str], set[str]]


def fit(texts: Sequence[str], labels: Sequence[str], settings: ModelSettings, featurize: Featurize,
        meta: dict | None = None) -> LinearWeights:
    """A LinearSVC over binary tf-idf features of the (normalized) texts, its decision values
    calibrated to probabilities by sigmoids fitted out of fold, exported. Deterministic for a seed."""
    vectorizer, model = fit_estimator(texts, labels, settings, featurize)
    return export(vectorizer, model, dict(meta or {}, messages=len(texts)))


def fit_estimator(texts: Sequence[str], labels: Sequence[str], settings: ModelSettings,
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


def fit_rows(rows: Sequence[Row], settings: ModelSettings, normalize: Callable[[str], str],
             meta: dict | None = None) -> LinearWeights:
    """`fit` on labelled rows: each row's text normalized as the bot reads it (the first READ_CHARS)."""
    texts = [normalize(row["text"])[:READ_CHARS] for row in rows]
    return fit(texts, [row["label"] for row in rows], settings,
               lambda text: features(text, settings.features), meta)
