"""The labelled dev set (shared/eval/dev.jsonl, copied to nlp/corpus/) as a regression test with the issue's floors.

The rules were built on it and the model is trained on it, so it says little about new messages:
the honest figures are cross-validation and the untouched scores in nlp/corpus/README.md.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp.corpus_files import CORPUS_DIR
from nlp.evaluation import evaluate, format_report

DEV_SET = CORPUS_DIR / "dev.jsonl"  # a copy of shared/eval/dev.jsonl (nlp/corpus/README.md)
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # LABELS.md's reference


def test_dev_set_floors() -> None:
    if not DEV_SET.is_file():
        pytest.fail(f"labelled dev set not found at {DEV_SET}")
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 200, f"{DEV_SET} holds only {len(rows)} messages"
    classifier = Classifier.from_config()
    report = evaluate(rows, lambda text: classifier.understand(text, NOW))
    print()
    print(format_report(report))  # per-label P/R/F1 and the confusions, shown with -s or on failure
    assert report.accuracy.share >= 0.97, f"accuracy {report.accuracy}"
    assert report.chit_as_request.share <= 0.02, f"chit-chat taken as a request {report.chit_as_request}"
    assert report.request_as_chit.share <= 0.03, f"requests taken as chit-chat {report.request_as_chit}"
    assert report.date_accuracy.share >= 0.97, f"date and part on bookings {report.date_accuracy}"
