"""k-fold cross-validation of the learned model over the corpus, through the same training code.

Each fold's model is trained (nlp/train.py) on the other folds and reads only its own fold, so
the probabilities are held out. Messages with the same normalized text always share a fold (a
few sets repeat "收到 谢谢"), so a message is never scored by a model that saw its twin.
Held-out for the model, not for the rules: the rules were tuned on every file of the corpus, so
where `decide()` lets the rules step in, the figure leans optimistic (BENCHMARKS.md compares).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nlp.corpus_files import Row
from nlp.features import ModelSettings, features, model_text
from nlp.linear import PackedLinear
from nlp.train import fit

Probabilities = dict[str, float]


def out_of_fold(rows: Sequence[Row], texts: Sequence[str], settings: ModelSettings, k: int) -> list[Probabilities]:
    """Each row's label probabilities from a model trained without its fold; `texts` are the rows'
    normalized texts."""
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    labels = [row["label"] for row in rows]
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=settings.training.seed)
    out: list[Probabilities | None] = [None] * len(rows)
    featurize = _memo(lambda text: features(text, settings.features))
    for train, held in folds.split(list(texts), labels, groups=list(texts)):
        weights = fit([texts[i] for i in train], [labels[i] for i in train], settings, featurize)
        model = PackedLinear.from_weights(weights)
        for i in held:
            out[i] = model.probabilities(model_text(texts[i]))
    assert all(p is not None for p in out)
    return out  # type: ignore[return-value]


def _memo(function: Callable[[str], set[str]]) -> Callable[[str], set[str]]:
    cache: dict[str, set[str]] = {}

    def memo(text: str) -> set[str]:
        if text not in cache:
            cache[text] = function(text)
        return cache[text]

    return memo
