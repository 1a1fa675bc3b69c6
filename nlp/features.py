"""What the learned model sees of a message, and config/nlp/model.yaml.

A message's features (each present or not; BENCHMARKS.md has how each was chosen by leaving one
style out):

* the character n-grams of its normalized text (digits as 0, phone and ID numbers left out);
* the character n-grams of its last clause, marked `END:` (a long story of a parent's illness
  ending "……能不能帮我约一下义诊" asks at the end: the ask is usually there, and the whole
  story's n-grams drown it);
* which labels' words and which cue sets of config/nlp/keywords.yaml it contains, marked `KW:`
  and `CUE:` ("KW:report:repair", "CUE:ask"): the vocabulary of the rules, not their scores, so
  a word the corpus has no example of but the rules list (路灯 in "关于XX小区路灯不亮的问题")
  still counts for its label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nlp.config_files import load_model
from nlp.normalize import CLAUSE_BREAKS, MOBILE_NUMBER

MODEL_CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "nlp" / "model.yaml"

# A phone number (mobile, or a landline with its area code) or an ID card number names a person, not
# what they want: an advert and a resident leaving their number look the same there, so the model
# does not see them ("楼道灯坏了 我电话139..." is still a repair report).
_PERSONAL_NUMBER = re.compile(rf"(?<!\d)(?:{MOBILE_NUMBER}|0\d{{2,3}}-?\d{{7,8}}|\d{{17}}[\dx])(?!\d)")
# Other digits read as 0: "3号楼" and "12号楼" are the same kind of place, "3号" and "5号" of day.
_DIGIT = str.maketrans("0123456789", "0000000000")
_ANY_DIGIT = re.compile(r"\d")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSettings(_Strict):
    char_ngrams: tuple[int, int] = (1, 3)
    last_clause_ngrams: tuple[int, int] | None = None
    rule_words: bool = False
    min_count: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _ngram_range(self) -> FeatureSettings:
        for name in ("char_ngrams", "last_clause_ngrams"):
            value = getattr(self, name)
            if value is not None and not 1 <= value[0] <= value[1] <= 6:
                raise ValueError(f"{name} must be [from, to] with 1 <= from <= to <= 6")
        return self


class TrainingSettings(_Strict):
    C: float = Field(default=1.0, gt=0)
    calibration_folds: int = Field(default=3, ge=2, le=10)
    seed: int = 0


class RulesStepIn(_Strict):
    below: float = Field(default=0.5, ge=0, le=1)
    rules_score: float = Field(default=3.5, ge=0)


class DecisionSettings(_Strict):
    request_margin: float = Field(default=0.2, ge=0, le=1)
    confident: float = Field(default=0.6, ge=0, le=1)
    ambiguous_margin: float = Field(default=0.15, ge=0, le=1)
    may_be_request: float = Field(default=0.2, ge=0, le=1)
    rules_step_in: RulesStepIn = RulesStepIn()


class ModelSettings(_Strict):
    """config/nlp/model.yaml."""

    version: int = 1
    features: FeatureSettings = FeatureSettings()
    training: TrainingSettings = TrainingSettings()
    decision: DecisionSettings = DecisionSettings()


def load_model_settings(path: Path = MODEL_CONFIG_PATH) -> ModelSettings:
    """The model's settings; raises NlpConfigError naming the file and line of a bad entry."""
    return load_model(path, ModelSettings)


def model_text(text: str) -> str:
    """What the model reads of a normalized message: phone and ID numbers out, other digits as 0."""
    if not _ANY_DIGIT.search(text):  # most messages: nothing to do
        return text
    return _PERSONAL_NUMBER.sub(" ", text).translate(_DIGIT)


# Feature names: n-grams are lower-case text (normalization lower-cases Latin letters), so these
# upper-case marks never collide with one.
LAST_CLAUSE = "END:"
_TAG = {"keyword": "KW:", "object": "KW:", "cue": "CUE:"}
TAG_PREFIXES = ("KW:", "CUE:")
_BREAKS = CLAUSE_BREAKS
_LAST_BREAK = re.compile(f"[{re.escape(_BREAKS)}]([^{re.escape(_BREAKS)}]*)$")


def last_clause(text: str) -> str:
    """The last clause of a text of two or more ("" for one clause: the n-grams already say it)."""
    match = _LAST_BREAK.search(text.rstrip(_BREAKS))
    return match.group(1) if match else ""


def rule_tags(hits: Iterable[Any]) -> frozenset[str]:
    """`KW:label` for each label whose keywords or objects the rules found, `CUE:set` for each cue set
    (`hits`: nlp.rules.Hit, of the same text the model reads)."""
    return frozenset(_TAG[kind] + name for hit in hits for kind, name in hit.names if kind in _TAG)


def ngrams(text: str, low: int, high: int) -> set[str]:
    """The character n-grams of `text` for low <= n <= high (spaces included, so a pause is seen)."""
    out: set[str] = set()
    grams: list[str] = list(text)  # the n-grams of the text for n = 1, 2, ... built from the last
    for n in range(1, high + 1):
        if n > 1:
            grams = list(map(str.__add__, grams, text[n - 1:]))
        if n >= low:
            out.update(grams)
    out.discard(" ")
    return out


def served_text(text: str, settings: FeatureSettings) -> tuple[str, str]:
    """What nlp/linear.py matches the model's vocabulary in: `model_text(text)` and its last clause
    ("" when the model has no last-clause features)."""
    text = model_text(text)
    return text, (last_clause(text) if settings.last_clause_ngrams is not None else "")


def features(text: str, settings: FeatureSettings, tags: Iterable[str] = ()) -> set[str]:
    """The model's features of a normalized message: the character n-grams of `model_text(text)`,
    those of its last clause (marked), and the rule tags (`rule_tags`) when the settings use them.
    Serving finds the same ones by matching the model's vocabulary in that text (nlp/linear.py)."""
    text = model_text(text)
    out = ngrams(text, *settings.char_ngrams)
    if settings.last_clause_ngrams is not None and (tail := last_clause(text)):
        out.update(LAST_CLAUSE + gram for gram in ngrams(tail, *settings.last_clause_ngrams))
    if settings.rule_words:
        out.update(tags)
    return out
