"""A trained linear classifier's probabilities over binary tf-idf features, scored in pure Python.

Why not numpy: importing it adds ≈ 19 MB of resident memory to the bot process (measured on the
dev machine), and the process budget is 150 MB with ≈ 127 MB already used; scikit-learn adds
≈ 120 MB. So training (nlp/train.py) uses scikit-learn, and serving reads exported weights here.

How it stays fast in pure Python: a message has a hundred or so features and the model 16
classes, so a naive sum is ~1,600 float additions a message. Instead each feature's weights for
all classes (times its idf) and its idf² are packed into one Python integer, in fixed-point
"lanes" of LANE_BITS bits, each lane offset by BIAS so that it is never negative. Adding the
integers of a message's features adds every lane at once (no lane can overflow into the next for
up to MAX_FEATURES features); the lanes are unpacked once at the end. The quantization step is
1/SCALE (6e-8) per weight; a test checks the probabilities against scikit-learn's own.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LANE_BITS = 48
SCALE = 1 << 24
BIAS = 1 << 32  # a packed weight times SCALE must stay within ±BIAS: |weight| < 256
MAX_FEATURES = 1 << 14  # lanes hold the sum of this many features: (2 * BIAS) * 2**14 = 2**47
_MASK = (1 << LANE_BITS) - 1
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
    """Calibrated class probabilities of a `LinearWeights` model, from a message's feature set."""

    def __init__(self, classes: Sequence[str], packed: dict[str, int], intercept: Sequence[float],
                 calibration: Sequence[tuple[float, float]], meta: dict[str, Any]) -> None:
        self.classes = tuple(classes)
        self.meta = meta
        self._packed = packed
        self._intercept = tuple(intercept)
        self._calibration = tuple(calibration)
        self._lanes = len(self.classes) + 1  # the last lane sums idf²

    @classmethod
    def from_weights(cls, w: LinearWeights) -> PackedLinear:
        packed = {feature: _pack((*(i * c for c in row), i * i))
                  for feature, i, row in zip(w.features, w.idf, w.coef, strict=True)}
        return cls(w.classes, packed, w.intercept, w.calibration, w.meta)

    def __len__(self) -> int:
        return len(self._packed)

    def decision(self, features: Iterable[str]) -> list[float]:
        """Each class's decision value w·x + b for the tf-idf vector of `features`."""
        total = count = 0
        get = self._packed.get
        for feature in features:
            value = get(feature)
            if value is not None:
                total += value
                count += 1
                if count == MAX_FEATURES:
                    break
        if not count:
            return list(self._intercept)
        lanes = [((total >> (k * LANE_BITS)) & _MASK) - count * BIAS for k in range(self._lanes)]
        norm = math.sqrt(lanes[-1] / SCALE) or 1.0
        return [lane / SCALE / norm + b for lane, b in zip(lanes, self._intercept, strict=False)]

    def probabilities(self, features: Iterable[str]) -> dict[str, float]:
        """Calibrated probabilities of every class, summing to 1."""
        raw = []
        for d, (a, b) in zip(self.decision(features), self._calibration, strict=True):
            z = a * d + b
            raw.append(1.0 / (1.0 + math.exp(z)) if z < 700 else 0.0)
        total = sum(raw)
        if total <= 0:
            return {c: 1.0 / len(self.classes) for c in self.classes}
        return {c: p / total for c, p in zip(self.classes, raw, strict=True)}

    # -- the file a trained model is kept in --------------------------------------------------

    def dump(self, path: Path) -> None:
        """Writes the model to `path` atomically (a reader sees the old file or the whole new one)."""
        width = self._width()
        features = sorted(self._packed)
        vocabulary = "\n".join(features).encode("utf-8")
        header = {"classes": self.classes, "intercept": self._intercept, "calibration": self._calibration,
                  "meta": self.meta, "width": width, "count": len(features), "vocabulary_bytes": len(vocabulary)}
        body = b"".join(self._packed[f].to_bytes(width, "little") for f in features)
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
        features = data[start:body].decode("utf-8").split("\n") if count else []
        if len(features) != count:
            raise ValueError(f"{path}: vocabulary does not match its count")
        from_bytes = int.from_bytes
        packed = {f: from_bytes(data[body + i * width: body + (i + 1) * width], "little")
                  for i, f in enumerate(features)}
        return cls(header["classes"], packed, header["intercept"],
                   [tuple(pair) for pair in header["calibration"]], header["meta"])

    def _width(self) -> int:
        return (self._lanes * LANE_BITS + 7) // 8


def _pack(values: Sequence[float]) -> int:
    packed = 0
    for k, value in enumerate(values):
        q = round(value * SCALE)
        if not -BIAS < q < BIAS:
            raise ValueError(f"weight {value} is out of the packed range (|weight| < {BIAS // SCALE})")
        packed |= (q + BIAS) << (k * LANE_BITS)
    return packed
