"""A trained linear classifier's probabilities over substring features (binary tf-idf), served without numpy.

Why not numpy: importing it adds ≈ 19 MB of resident memory to the bot process (measured on the
dev machine), and the process budget is 150 MB with ≈ 127 MB already used; scikit-learn adds
≈ 120 MB. So training (nlp/train.py) uses scikit-learn, and serving reads exported weights here.

How it stays fast in pure Python: a message has a hundred or so features and the model 16
classes, so a naive sum is ~1,600 float additions a message. Instead each feature's weights for
all classes (times its idf) and its idf² are packed into one Python integer, in fixed-point
"lanes" of LANE_BITS bits, each lane offset by BIAS so that it is never negative. Adding the
integers of a message's features adds every lane at once (no lane can overflow into the next for
up to MAX_FEATURES features); the lanes are unpacked once at the end. The features are the
model's vocabulary of character n-grams, so an Aho-Corasick automaton (pyahocorasick, as the
rules use) finds those present in a message in one pass in C: no n-gram strings are built and no
dictionary is probed for the many that are not in the vocabulary. Small integers matter: the
lookups of a message miss the CPU cache (the rules ran in between), and 32-bit lanes cost a
quarter less time than 48-bit ones. (The automaton holding each feature's integer itself, with
its index above the lanes so that two features of the same weights both count, spared the list's
lookup but made each integer a digit longer: +0.8 MB of the 150 MB budget, for no clear gain.)
The quantization step is 1/SCALE (2.4e-4) per weight (idf times coefficient, at most ≈ 12 in
practice); a test checks the probabilities against scikit-learn's own.

Three kinds of feature, told apart by their names (nlp/features.py): n-grams of the text (found by
the automaton in the text), n-grams of the last clause, named with a mark (found by a second
automaton in that clause), and tags the caller found itself (rule words: looked up by name).
"""

from __future__ import annotations

import json
import math
import operator
import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.features import LAST_CLAUSE, TAG_PREFIXES

LANE_BITS = 32
SCALE = 1 << 12
BIAS = 1 << 19  # a packed weight times SCALE stays within ±BIAS: |weight| < 128 (larger ones are clipped)
MAX_FEATURES = 1 << 12  # lanes hold the sum of this many features: (2 * BIAS) * 2**12 = 2**32
_VALUE = operator.itemgetter(1)
_MAGIC = b"LINLI-LINEAR 1\n"


@dataclass(frozen=True)
class LinearWeights:
    """What training exports: a one-vs-rest linear model over tf-idf features with L2-normalized
    binary counts, and a sigmoid calibration per class (scikit-learn's CalibratedClassifierCV)."""

    classes: tuple[str, ...]
    features: tuple[str, ...]
    idf: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]  # per feature, one weight per class
    intercept: tuple[float, ...]
    calibration: tuple[tuple[float, float], ...]  # per class (a, b): p = 1 / (1 + exp(a * d + b))
    meta: dict[str, Any]


class PackedLinear:
    """Calibrated class probabilities of a `LinearWeights` model whose features are substrings of
    the text it reads (character n-grams): each counts once, however often it occurs."""

    def __init__(self, classes: Sequence[str], packed: Iterable[tuple[str, int]], intercept: Sequence[float],
                 calibration: Sequence[tuple[float, float]], meta: dict[str, Any]) -> None:
        """`packed`: each feature's name and packed weights in `serving_order` (the order dump()
        writes): taken one by one, so that loading holds no second copy of the vocabulary."""
        import ahocorasick

        self.classes = tuple(classes)
        self.meta = meta
        self._intercept = tuple(intercept)
        self._calibration = tuple(calibration)
        self._lanes = len(self.classes) + 1  # the last lane sums idf²
        self._unpack = struct.Struct(f"<{self._lanes}I").unpack  # the lanes of a sum, in one call
        # The automaton gives each feature's index (small ints hash fast when a message's matches
        # are collected into a set); the packed weights are a list by index. STORE_INTS keeps the
        # indices as C integers, not 60,000 Python ints: 1.9 MB less of a 150 MB process budget.
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        self._last_clause: Any = None  # an automaton of the last clause's n-grams, if the model has any
        self._tags: dict[str, int] = {}
        self._packed: list[int] = []
        for feature, weights in packed:
            if not feature:
                continue
            if feature.startswith(TAG_PREFIXES):
                self._tags[feature] = len(self._packed)
            elif feature.startswith(LAST_CLAUSE):
                if self._last_clause is None:
                    self._last_clause = ahocorasick.Automaton(ahocorasick.STORE_INTS)
                self._last_clause.add_word(feature[len(LAST_CLAUSE):], len(self._packed))
            else:
                self._automaton.add_word(feature, len(self._packed))
            self._packed.append(weights)
        self._automaton.make_automaton()
        if self._last_clause is not None:
            self._last_clause.make_automaton()

    @classmethod
    def from_weights(cls, w: LinearWeights) -> PackedLinear:
        rows = sorted(zip(w.features, w.idf, w.coef, strict=True), key=lambda r: serving_order(r[0], r[1]))
        packed = ((feature, _pack((*(i * c for c in row), i * i))) for feature, i, row in rows)
        return cls(w.classes, packed, w.intercept, w.calibration, w.meta)

    def __len__(self) -> int:
        return len(self._packed)

    def decision(self, text: str, last_clause: str = "", tags: Iterable[str] = ()) -> list[float]:
        """Each class's decision value w·x + b for the tf-idf vector of the features in `text`, in its
        `last_clause` and among `tags`."""
        found = set(map(_VALUE, self._automaton.iter(text))) if text else set()
        if last_clause and self._last_clause is not None:
            found.update(map(_VALUE, self._last_clause.iter(last_clause)))
        if tags and self._tags:
            found.update(self._tags[tag] for tag in tags if tag in self._tags)
        count = len(found)
        if count > MAX_FEATURES:
            found = sorted(found)[:MAX_FEATURES]
            count = MAX_FEATURES
        total = sum(map(self._packed.__getitem__, found))
        if not count:
            return list(self._intercept)
        offset = count * BIAS
        lanes = self._unpack(total.to_bytes(self._width(), "little"))
        norm = math.sqrt((lanes[-1] - offset) / SCALE) or 1.0
        return [(lane - offset) / SCALE / norm + b for lane, b in zip(lanes, self._intercept, strict=False)]

    def probabilities(self, text: str, last_clause: str = "", tags: Iterable[str] = ()) -> dict[str, float]:
        """Calibrated probabilities of every class for `text` (its `last_clause`, `tags`), summing to 1."""
        raw = [1.0 / (1.0 + math.exp(min(a * d + b, 700.0)))
               for d, (a, b) in zip(self.decision(text, last_clause, tags), self._calibration, strict=True)]
        total = sum(raw)
        if total <= 0:
            return {c: 1.0 / len(self.classes) for c in self.classes}
        return {c: p / total for c, p in zip(self.classes, raw, strict=True)}

    # -- the file a trained model is kept in --------------------------------------------------

    def dump(self, path: Path) -> None:
        """Writes the model to `path` atomically (a reader sees the old file or the whole new one)."""
        width = self._width()
        items = self.by_index()
        vocabulary = "\n".join(feature for feature, _ in items).encode("utf-8")
        header = {"classes": self.classes, "intercept": self._intercept, "calibration": self._calibration,
                  "meta": self.meta, "width": width, "count": len(items), "vocabulary_bytes": len(vocabulary)}
        body = b"".join(weights.to_bytes(width, "little") for _, weights in items)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(_MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n" + vocabulary + body)
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path) -> PackedLinear:
        """Reads a file `dump` wrote; raises ValueError if it is not one (or is cut short)."""
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            raise ValueError(f"{path}: not a linli model file")
        end = data.index(b"\n", len(_MAGIC))
        header = json.loads(data[len(_MAGIC):end])
        width, count, vocab_len = int(header["width"]), int(header["count"]), int(header["vocabulary_bytes"])
        start = end + 1
        body = start + vocab_len
        if len(data) != body + width * count:
            raise ValueError(f"{path}: truncated or padded model file")
        vocabulary = data[start:body].decode("utf-8")
        if (vocabulary.count("\n") + 1 if count else len(vocabulary)) != count:
            raise ValueError(f"{path}: vocabulary does not match its count")
        from_bytes = int.from_bytes
        packed = ((f, from_bytes(data[body + i * width: body + (i + 1) * width], "little"))
                  for i, f in enumerate(_lines(vocabulary) if count else ()))  # in serving_order, as dump() wrote them
        return cls(header["classes"], packed, header["intercept"],
                   [tuple(pair) for pair in header["calibration"]], header["meta"])

    def by_index(self) -> list[tuple[str, int]]:
        """Each feature's name and packed weights in the order they were given (the file's), the names
        read back from the automata and the tags for dump(): not kept beside them, where 37,000
        strings cost ≈ 1.3 MB in every serving process (BENCHMARKS.md)."""
        names = [""] * len(self._packed)
        for automaton, mark in ((self._automaton, ""), (self._last_clause, LAST_CLAUSE)):
            if automaton is not None:
                for name, index in automaton.items():
                    names[index] = mark + name
        for name, index in self._tags.items():
            names[index] = name
        return list(zip(names, self._packed, strict=True))

    def _width(self) -> int:
        return self._lanes * LANE_BITS // 8


def serving_order(feature: str, idf: float) -> tuple[float, str]:
    """The order features are added to a model: the most frequent first (the lowest idf), then by name.

    pyahocorasick keeps each node's next characters in the order they were first added and looks
    through them one by one; at the root of a model's automaton that is 2,300 characters, looked
    through for nearly every character of a message. Common characters first, the look ends early:
    the automaton reads a message in half the time (7.8 -> 4.1 µs) for the same features.
    """
    return idf, feature


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` one at a time (str.split would hold every one at once)."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _pack(values: Sequence[float]) -> int:
    packed = 0
    for k, value in enumerate(values):
        q = min(max(round(value * SCALE), 1 - BIAS), BIAS - 1)
        packed |= (q + BIAS) << (k * LANE_BITS)
    return packed


def pack_rows(values: Any) -> list[int]:
    """`_pack` of each row of a 2-D numpy array, at numpy's speed: for training, which has numpy
    (a model's 55,000 rows take 0.5 s through `_pack`, part of every cold start). Both round half
    to even; a test checks they agree."""
    import numpy as np

    quantized = np.clip(np.rint(values * SCALE), 1 - BIAS, BIAS - 1).astype(np.int64) + BIAS
    raw = quantized.astype(f"<u{LANE_BITS // 8}").tobytes()
    width = values.shape[1] * LANE_BITS // 8
    return [int.from_bytes(raw[start:start + width], "little") for start in range(0, len(raw), width)]
