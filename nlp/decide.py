"""From what the rules found to the final `Understanding`: the one place a label is decided."""

from __future__ import annotations

import math

from nlp.evidence import CHITCHAT, ITEM_LABELS, Analysis
from nlp.rules import Settings
from nlp.understanding import Understanding


def decide_by_rules(analysis: Analysis, s: Settings) -> Understanding:
    ranked = sorted(((k, v) for k, v in analysis.scores.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    extras: dict[str, str] = {}
    if analysis.quote:
        extras["quote"] = analysis.quote
    label = CHITCHAT
    if ranked and ranked[0][1] >= s.threshold:
        label = ranked[0][0]
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < s.margin:
            extras["ambiguous_with"] = ranked[1][0]
    keywords = tuple(
        h.term for h in analysis.hits if any(e.kind in ("keyword", "object") and e.name == label for e in h.entries)
    )
    booking_like = label.startswith("booking:") or label == "cancel_booking"
    day = analysis.day if booking_like else None
    if label == "query:today_activity" and analysis.day and analysis.day.date != analysis.today:
        day = analysis.day  # "明天有啥活动": the handler answers for that day; today's stays None
    kind, _, name = label.partition(":")
    return Understanding(
        label=label,
        confidence=rules_confidence(label, ranked, s.threshold),
        service=name if kind == "booking" else None,
        category=name if kind == "report" else ("policy" if label == "inquiry:policy" else None),
        date=day.date if day else None,
        part=analysis.part if booking_like else None,
        keywords=keywords,
        ranked=(*ranked, (CHITCHAT, s.threshold)),
        text=analysis.text,
        item=analysis.item if label in ITEM_LABELS else None,
        weekday_named=bool(day and day.weekday_named),
        extras=extras,
    )


def rules_confidence(label: str, ranked: list[tuple[str, float]], threshold: float) -> float:
    """Softmax of the scores with chit-chat standing at the threshold: 0..1, 3 decimals."""
    values = [v for _, v in ranked] + [threshold]
    top = max(values)
    total = sum(math.exp(v - top) for v in values)
    chosen = threshold if label == CHITCHAT else dict(ranked)[label]
    return round(math.exp(chosen - top) / total, 3)
