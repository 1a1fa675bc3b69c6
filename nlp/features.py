"""What the learned model sees of a message (character n-grams and words) and config/nlp/model.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nlp.config_files import load_model

MODEL_CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "nlp" / "model.yaml"

# A phone number (mobile, or a landline with its area code) or an ID card number names a person, not
# what they want: an advert and a resident leaving their number look the same there, so the model
# does not see them ("楼道灯坏了 我电话139..." is still a repair report).
_PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{17}[\dx])(?!\d)")
# Other digits read as 0: "3号楼" and "12号楼" are the same kind of place, "3号" and "5号" of day.
_DIGIT = str.maketrans("0123456789", "0000000000")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSettings(_Strict):
    char_ngrams: tuple[int, int] = (1, 3)
    min_count: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _ngram_range(self) -> FeatureSettings:
        low, high = self.char_ngrams
        if not 1 <= low <= high <= 6:
            raise ValueError("char_ngrams must be [from, to] with 1 <= from <= to <= 6")
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
    return _PERSONAL_NUMBER.sub(" ", text).translate(_DIGIT)


def features(text: str, settings: FeatureSettings) -> set[str]:
    """The model's features of a normalized message: the character n-grams of `model_text(text)`
    (spaces included, so a pause is seen). Serving finds the same ones by matching the model's
    vocabulary in that text (nlp/linear.py)."""
    text = model_text(text)
    low, high = settings.char_ngrams
    out: set[str] = set()
    grams: list[str] = list(text)  # the n-grams of the text for n = 1, 2, ... built from the last
    for n in range(1, high + 1):
        if n > 1:
            grams = list(map(str.__add__, grams, text[n - 1:]))
        if n >= low:
            out.update(grams)
    out.discard(" ")
    return out
