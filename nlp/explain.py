"""Why a message got its label: the normalized text, the rule hits, the model's top labels, the decision.

`explain()` returns the structure (the staff page shows the same for a request); `format_explanation()`
is what `linli explain TEXT` prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nlp.classifier import Classifier
from nlp.decide import Decision, rules_reading, understanding
from nlp.understanding import Understanding

TOP_LABELS = 5


@dataclass(frozen=True)
class RuleHit:
    """A word of keywords.yaml found in the message, and what it means there."""

    term: str
    start: int
    meanings: tuple[str, ...]  # "keyword booking:haircut 3", "cue ask 1", ...


@dataclass(frozen=True)
class Explanation:
    text: str  # as sent
    normalized: str  # what the rules and the model read
    quote: str  # a quoted message, read apart
    hits: tuple[RuleHit, ...]
    cues: tuple[tuple[str, float], ...]  # cue sums, largest first
    rule_scores: tuple[tuple[str, float], ...]  # the rules' label scores, best first
    rules_label: str
    rule_notes: tuple[tuple[str, tuple[str, ...]], ...]  # per label, how its score came about
    model: tuple[tuple[str, float], ...] | None  # the model's top labels (None: no model)
    decision: Decision
    understanding: Understanding


def explain(text: str, now: dt.datetime, classifier: Classifier | None = None) -> Explanation:
    """Reads `text` as the bot does and keeps every step."""
    if classifier is None:
        from nlp import default_classifier

        classifier = default_classifier()
    analysis = classifier.analyze(text, now)
    decision = classifier.decide(analysis)
    model = classifier.model
    probabilities = model.probabilities(analysis.text, analysis.hits) if model is not None and analysis.text else None
    rules_label, scores = rules_reading(analysis, classifier.rules.settings)
    hits = tuple(RuleHit(h.term, h.start, tuple(f"{e.kind} {e.name or '-'} {e.weight:g}" for e in h.entries))
                 for h in analysis.hits)
    top = None
    if probabilities is not None:
        top = tuple(sorted(((k, round(p, 3)) for k, p in probabilities.items()), key=lambda kv: (-kv[1], kv[0]))
                    [:TOP_LABELS])
    return Explanation(
        text=text if isinstance(text, str) else repr(text),
        normalized=analysis.text + analysis.rest,
        quote=analysis.quote,
        hits=hits,
        cues=tuple(sorted(((k, round(v, 3)) for k, v in analysis.cues.items() if v), key=lambda kv: -kv[1])),
        rule_scores=tuple(scores),
        rules_label=rules_label,
        rule_notes=tuple((label, tuple(notes)) for label, notes in analysis.notes.items()),
        model=top,
        decision=decision,
        understanding=understanding(analysis, decision),
    )


def format_explanation(e: Explanation) -> str:
    """The explanation as `linli explain` prints it."""
    u = e.understanding
    lines = [f"message:    {e.text}", f"normalized: {e.normalized}"]
    if e.quote:
        lines.append(f"quote:      {e.quote} (someone else's words, read apart)")
    lines.append("")
    lines.append("rule hits (config/nlp/keywords.yaml):" if e.hits else "rule hits: none")
    for hit in e.hits:
        lines.append(f"  {hit.term} @{hit.start}: {'; '.join(hit.meanings)}")
    if e.cues:
        lines.append("cue sums: " + ", ".join(f"{name} {value:g}" for name, value in e.cues))
    lines.append("rule scores: " + (", ".join(f"{label} {score:g}" for label, score in e.rule_scores) or "none")
                 + f"  -> the rules alone: {e.rules_label}")
    for label, notes in e.rule_notes:
        lines.append(f"  {label}: {'; '.join(notes)}")
    lines.append("")
    if e.model is None:
        lines.append("learned model: not available (the rules decide alone)")
    else:
        lines.append("learned model (top labels): " + ", ".join(f"{label} {p:.3f}" for label, p in e.model))
    lines.append("")
    lines.append(f"decision: {u.label} (by {e.decision.by}; confidence {u.confidence:.3f}"
                 f"{', confident' if u.confident else ', not confident'}"
                 f"{', may be a request' if u.may_be_request else ''})")
    lines.append(f"why: {u.reason}")
    if u.extras.get("ambiguous_with"):
        lines.append(f"ambiguous with: {u.extras['ambiguous_with']}")
    slots = [f"{name} {value}" for name, value in (("service", u.service), ("category", u.category),
                                                   ("date", u.date), ("part", u.part), ("item", u.item))
             if value is not None]
    if slots:
        lines.append("slots: " + ", ".join(slots))
    return "\n".join(lines)
