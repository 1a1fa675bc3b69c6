"""Scoring a labelled message file (shared/eval/*.jsonl): accuracy, per-label P/R/F1, confusions, dates."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nlp.understanding import LABELS

CHITCHAT = "chitchat"


class Prediction(Protocol):
    label: str
    date: Any
    part: str | None


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int  # gold messages of this label
    predicted: int


@dataclass(frozen=True)
class Rate:
    """count out of total, as a share (0 when there is nothing to count)."""

    count: int
    total: int

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{100 * self.share:.1f}% ({self.count}/{self.total})"


@dataclass
class Report:
    accuracy: Rate
    chit_as_request: Rate  # gold chit-chat answered as anything else
    request_as_chit: Rate  # gold non-chit-chat ignored as chit-chat
    date_accuracy: Rate  # gold booking:* with exact date and part
    per_label: dict[str, LabelScore]
    confusions: dict[tuple[str, str], list[str]]  # (gold, predicted) -> ids
    date_errors: list[tuple[str, str, str]] = field(default_factory=list)  # id, gold, predicted

    @property
    def macro_f1(self) -> float:
        scored = [s.f1 for s in self.per_label.values() if s.support or s.predicted]
        return sum(scored) / len(scored) if scored else 0.0


def load_rows(path: Path | str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a JSON Lines file, and a message for each line that is not a labelled row."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not JSON: {exc.msg}")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or row.get("label") not in LABELS:
                problems.append(f"{path}:{number}: expected an object with a text and a known label")
                continue
            row.setdefault("id", f"line{number}")
            rows.append(row)
    return rows, problems


def _day(value: Any) -> str | None:
    return None if value is None else str(value)


def evaluate(rows: Iterable[dict[str, Any]], predict: Callable[[str], Prediction]) -> Report:
    """Scores `predict` on labelled rows. A prediction is right if it is `label` or in `also`."""
    total = correct = 0
    chit_total = chit_wrong = req_total = req_missed = 0
    date_total = date_right = 0
    tp: Counter[str] = Counter()
    gold_count: Counter[str] = Counter()
    pred_count: Counter[str] = Counter()
    confusions: dict[tuple[str, str], list[str]] = defaultdict(list)
    date_errors: list[tuple[str, str, str]] = []
    for row in rows:
        gold, also, rid = row["label"], set(row.get("also") or ()), str(row.get("id"))
        got = predict(row["text"])
        ok = got.label == gold or got.label in also
        # An accepted alternative counts as that label, for precision and recall alike.
        effective = got.label if ok else gold
        total += 1
        correct += ok
        gold_count[effective] += 1
        pred_count[got.label] += 1
        if ok:
            tp[effective] += 1
        else:
            confusions[(gold, got.label)].append(rid)
        if gold == CHITCHAT:
            chit_total += 1
            chit_wrong += not ok
        else:
            req_total += 1
            req_missed += got.label == CHITCHAT and CHITCHAT not in also
        if gold.startswith("booking:"):
            date_total += 1
            want = (_day(row.get("date")), row.get("part"))
            have = (_day(got.date), got.part)
            if want == have:
                date_right += 1
            else:
                date_errors.append((rid, f"{want[0]} {want[1]}", f"{have[0]} {have[1]}"))
    per_label: dict[str, LabelScore] = {}
    for label in LABELS:
        p = tp[label] / pred_count[label] if pred_count[label] else 0.0
        r = tp[label] / gold_count[label] if gold_count[label] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_label[label] = LabelScore(p, r, f1, gold_count[label], pred_count[label])
    return Report(
        accuracy=Rate(correct, total),
        chit_as_request=Rate(chit_wrong, chit_total),
        request_as_chit=Rate(req_missed, req_total),
        date_accuracy=Rate(date_right, date_total),
        per_label=per_label,
        confusions=dict(sorted(confusions.items(), key=lambda kv: (-len(kv[1]), kv[0]))),
        date_errors=date_errors,
    )


def format_report(report: Report, extra_summary: Iterable[str] = ()) -> str:
    """A readable report; the summary figures come last (tools read the tail)."""
    lines = [f"{'label':<26} {'prec':>6} {'recall':>6} {'f1':>6} {'gold':>5} {'pred':>5}"]
    for label, score in report.per_label.items():
        if score.support or score.predicted:
            lines.append(f"{label:<26} {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}"
                         f" {score.support:5d} {score.predicted:5d}")
    lines.append("")
    lines.append("confusions (gold -> predicted: count ids):" if report.confusions else "confusions: none")
    for (gold, got), ids in report.confusions.items():
        lines.append(f"  {gold} -> {got}: {len(ids)} {' '.join(ids)}")
    lines.append("")
    lines.append("date/part errors on bookings (id: gold | predicted):"
                 if report.date_errors else "date/part errors: none")
    for rid, want, have in report.date_errors:
        lines.append(f"  {rid}: {want} | {have}")
    lines.append("")
    summary = [
        "== summary ==",
        f"messages: {report.accuracy.total}",
        f"accuracy: {report.accuracy}",
        f"chit-chat taken as request: {report.chit_as_request}",
        f"request taken as chit-chat: {report.request_as_chit}",
        f"date+part exact on bookings: {report.date_accuracy}",
        f"macro F1: {report.macro_f1:.3f}",
        *extra_summary,
    ]
    return "\n".join(lines + summary)
