"""Natural-language understanding of resident messages: `understand(text, now) -> Understanding`."""

from __future__ import annotations

import datetime as dt
import threading

from nlp.classifier import Classifier
from nlp.understanding import LABELS, Understanding

__all__ = ["LABELS", "Classifier", "Understanding", "default_classifier", "understand"]

_default: Classifier | None = None
_lock = threading.Lock()


def default_classifier() -> Classifier:
    """The process-wide classifier over config/nlp/, built on first use."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Classifier.from_config()
    return _default


def understand(text: str, now: dt.datetime) -> Understanding:
    """What `text` asks for, read at `now` (tz-aware, or naive Asia/Shanghai); never raises."""
    return default_classifier().understand(text, now)
