"""Held-out probabilities of the learned model over the corpus, through the same training code.

Two ways of holding out:

* `out_of_fold`: k-fold cross-validation. Each fold's model is trained (nlp/train.py) on the
  other folds and reads only its own fold. Every style is in every fold, so this measures how
  well the model reads messages *like* the ones it learned from.
* `leave_one_style_out`: each style's files are read by a model trained on every other style
  (`style` in nlp/corpus/index.yaml). This is the question the held-out sets written by others
  ask: how does the bot read a register nobody here wrote examples of? Features and thresholds
  are chosen on it (BENCHMARKS.md), not on k-fold, which flatters what the corpus already has.

Messages with the same normalized text are never split between training and scoring (a few sets
repeat "收到 谢谢"), so a message is never scored by a model that saw its twin.
Held-out for the model, not for the rules: the rules were tuned on every file of the corpus, so
where `decide()` lets the rules step in, the figure leans optimistic (BENCHMARKS.md compares).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nlp.corpus_files import Row
from nlp.features import ModelSettings, served_text
from nlp.linear import PackedLinear
from nlp.train import Read, featurizer, fit

Probabilities = dict[str, float]


def out_of_fold(rows: Sequence[Row], reads: Sequence[Read], settings: ModelSettings, k: int) -> list[Probabilities]:
    """Each row's label probabilities from a model trained without its fold; `reads` are the rows as
    training reads them (normalized text, rule words: nlp.model.reader)."""
    from sklearn.model_selection import StratifiedGroupKFold

    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    labels = [row["label"] for row in rows]
    texts = [text for text, _ in reads]
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=settings.training.seed)
    splits = [held for _, held in folds.split(texts, labels, groups=texts)]
    return held_out(rows, reads, settings, splits)


def leave_one_style_out(rows: Sequence[Row], reads: Sequence[Read], settings: ModelSettings) -> list[Probabilities]:
    """Each row's label probabilities from a model trained on the rows of every other style."""
    styles: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        styles.setdefault(str(row["style"]), []).append(i)
    if len(styles) < 2:
        raise ValueError("leaving one style out needs at least 2 styles")
    return held_out(rows, reads, settings, list(styles.values()))


def leave_styles_out(rows: Sequence[Row], reads: Sequence[Read], settings: ModelSettings,
                     styles: Iterable[str]) -> dict[int, Probabilities]:
    """`leave_one_style_out` for some styles only: each given style's rows (by index) read by a model
    trained on every other style (a quicker check of the weakest styles)."""
    splits = [[i for i, row in enumerate(rows) if row["style"] == style] for style in styles]
    found = held_out(rows, reads, settings, splits, complete=False)
    return {i: p for i, p in enumerate(found) if p is not None}


def held_out(rows: Sequence[Row], reads: Sequence[Read], settings: ModelSettings,
             splits: Iterable[Sequence[int]], complete: bool = True) -> list[Probabilities]:
    """For each group of row indices in `splits` (together covering every row once, when `complete`),
    a model trained on the rows outside it and on no row whose text is one of the group's reads the
    group."""
    labels = [row["label"] for row in rows]
    texts = [text for text, _ in reads]
    out: list[Probabilities | None] = [None] * len(rows)
    featurize = featurizer(settings)
    for held in splits:
        held_set = set(held)
        held_texts = {texts[i] for i in held}
        train = [i for i in range(len(rows)) if i not in held_set and texts[i] not in held_texts]
        weights = fit([reads[i] for i in train], [labels[i] for i in train], settings, featurize)
        model = PackedLinear.from_weights(weights)
        for i in held:
            out[i] = model.probabilities(*served_text(texts[i], settings.features), reads[i][1])
    assert not complete or all(p is not None for p in out)
    return out  # type: ignore[return-value]
