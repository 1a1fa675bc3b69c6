"""The one place a message's label is decided, from the learned model's probabilities and the rules' reading.

`decide()` takes, in this order:

1. **An emergency past the read length.** The rules read the first READ_CHARS of a message; an
   `urgent` word or a strong report:safety word (燃气味, 起火) in the rest (`analysis.alarms`) makes
   the message report:safety, whatever the rest says.
2. **Urgent words the rules are sure of.** When the rules' request detector found an `urgent`
   word (救命, 被困, 快来人) and their label is a report, that label wins: an emergency must never
   be missed, and the words that mark one are few and listed.
3. **The model.** The label of highest probability, where any label other than chit-chat must
   beat chit-chat by `request_margin` (a bot that answers chit-chat gets muted).
4. **The rules step in** where they are sure (their label scores `rules_step_in.rules_score` or
   more) and either the model is unsure (top probability below `rules_step_in.below`) or its top
   label is the rules' own but lost to chit-chat's margin: the community's own words in
   keywords.yaml count before the corpus has examples of them, and two readers agreeing outweigh
   the margin.

Without a model (not trained yet, or `linli eval --rules-only`) the rules decide alone, as they
did before the model: their top label at `settings.threshold`, else chit-chat.

Before all of them, a message made only of calls for attention ("在么在么", "有人吗??", "怎么还没人回啊":
`pings` in config/nlp/normalize.yaml) is chit-chat: nothing is asked yet, and said to the bot it
gets the menu.

Every number is data: config/nlp/model.yaml (`decision:`) and keywords.yaml (`settings:`).
The slots (service, category, day, part of day, item) always come from the rules and the date
parser, for whichever label won: a booking the model found where the rules named no service is
still that label's service.
"""

from __future__ import annotations

import itertools
import math
import operator
from dataclasses import dataclass

from nlp.evidence import CHITCHAT, ITEM_LABELS, Analysis
from nlp.features import DecisionSettings
from nlp.normalize import only_pings
from nlp.rules import Settings
from nlp.understanding import LABELS, Understanding, is_request_label

SAFETY = "report:safety"
_probability = operator.itemgetter(1)


def _shown(item: tuple[str, float]) -> bool:
    return item[1] >= 0.005  # labels below half a percent are left out of `ranked`
_REQUEST_LABELS = frozenset(label for label in LABELS if is_request_label(label))


@dataclass(frozen=True)
class Decision:
    """A label, how sure, and why."""

    label: str
    confidence: float  # the model's probability of `label` (the rules' softmax without a model)
    ranked: tuple[tuple[str, float], ...]  # labels in the running, best first
    reason: str
    by: str  # "model", "rules", "urgent", "alarm", "ping"
    rules_label: str  # what the rules alone would say
    ambiguous_with: str | None = None
    confident: bool = True
    may_be_request: bool = False


def rules_reading(analysis: Analysis, s: Settings) -> tuple[str, list[tuple[str, float]]]:
    """The rules' own label (top score at the threshold, else chit-chat) and their ranked scores."""
    ranked = sorted(((k, v) for k, v in analysis.scores.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    label = ranked[0][0] if ranked and ranked[0][1] >= s.threshold else CHITCHAT
    return label, ranked


def decide(analysis: Analysis, probabilities: dict[str, float] | None, s: Settings,
           d: DecisionSettings) -> Decision:
    """The label of one message (see the module docstring for the order of the steps)."""
    rules_label, rules_ranked = rules_reading(analysis, s)
    rules_score = rules_ranked[0][1] if rules_ranked else 0.0
    if not analysis.alarms and only_pings(analysis.text):
        return Decision(CHITCHAT, 1.0, ((CHITCHAT, 1.0),), f"only a call for attention: {analysis.text}", "ping",
                        rules_label)
    if probabilities is None:
        return _rules_alone(analysis, rules_label, rules_ranked, s)
    ranked = sorted(probabilities.items(), key=_probability, reverse=True)
    top, top_p = ranked[0]
    chitchat_p = probabilities.get(CHITCHAT, 0.0)
    best = next((item for item in ranked if item[0] != CHITCHAT), (CHITCHAT, 0.0))
    model_label, model_p = (CHITCHAT, chitchat_p) if chitchat_p + d.request_margin >= best[1] else best
    if analysis.alarms:
        label, by = SAFETY, "alarm"
        reason = f"emergency words past the first part of a long message: {'、'.join(analysis.alarms)}"
    elif analysis.request == "urgent" and rules_label.startswith("report:"):
        label, by = rules_label, "urgent"
        reason = f"urgent words, and the rules read {rules_label} ({rules_score:g})"
    elif rules_label != CHITCHAT and rules_score >= d.rules_step_in.rules_score and (
            top_p < d.rules_step_in.below or (model_label == CHITCHAT and top == rules_label)):
        label, by = rules_label, "rules"
        why = (f"the model is unsure (top {top} {top_p:.2f} < {d.rules_step_in.below:g})"
               if top_p < d.rules_step_in.below else f"the model leans the same way ({top} {top_p:.2f})")
        reason = (f"{why} and the rules are sure: {rules_label} scores {rules_score:g}"
                  f" >= {d.rules_step_in.rules_score:g}")
    else:
        label, by = model_label, "model"
        if label == CHITCHAT and top != CHITCHAT:
            reason = (f"the model's top label {top} ({top_p:.2f}) does not beat chit-chat"
                      f" ({probabilities[CHITCHAT]:.2f}) by {d.request_margin:g}")
        else:
            reason = f"the model: {label} {model_p:.2f}"
    confidence = probabilities.get(label, 0.0)
    runner_up = next(((k, p) for k, p in ranked if k != label), None)
    ambiguous = runner_up[0] if runner_up and confidence - runner_up[1] < d.ambiguous_margin else None
    # An emergency read from its listed words is sure whatever the model's probability: it must never
    # wait for staff as "unsure" (待确认) nor be answered with the menu.
    # A request label is sure when the message is surely a request, whichever category: read as
    # 停车 0.54 and 安全 0.46 it is a request at 1.0, and is filed (staff correct a category with one
    # click); parked in 待确认 it would meet silence.
    request_ps = [p for k, p in ranked if k in _REQUEST_LABELS]  # best first
    request_mass = sum(request_ps)
    sureness = request_mass if is_request_label(label) else confidence
    confident = sureness >= d.confident or by in ("urgent", "alarm")
    request_p = request_ps[0] if request_ps else 0.0
    may_be_request = (request_p >= d.may_be_request and label == CHITCHAT) or (
        is_request_label(label) and not confident)
    shown = tuple((k, round(p, 3)) for k, p in itertools.takewhile(_shown, ranked))
    return Decision(label, round(confidence, 3), shown,
                    reason, by, rules_label, ambiguous if label != CHITCHAT else None, confident, may_be_request)


def _rules_alone(analysis: Analysis, label: str, ranked: list[tuple[str, float]], s: Settings) -> Decision:
    by, reason = "rules", (f"the rules: {label} scores {ranked[0][1]:g} >= {s.threshold:g}" if label != CHITCHAT
                           else f"the rules: no label reaches {s.threshold:g}")
    if analysis.alarms and label != SAFETY:
        label, by = SAFETY, "alarm"
        reason = f"emergency words past the first part of a long message: {'、'.join(analysis.alarms)}"
    ambiguous = None
    if label != CHITCHAT and len(ranked) > 1 and ranked[0][0] == label and ranked[0][1] - ranked[1][1] < s.margin:
        ambiguous = ranked[1][0]
    confidence = rules_confidence(label, ranked, s.threshold)
    return Decision(label, confidence, (*ranked, (CHITCHAT, s.threshold)), reason, by, label, ambiguous)


def understanding(analysis: Analysis, decision: Decision) -> Understanding:
    """The `Understanding` handlers get: the decision, and the slots the rules found for its label."""
    label = decision.label
    extras: dict[str, str] = {}
    if analysis.quote:
        extras["quote"] = analysis.quote
    if decision.ambiguous_with:
        extras["ambiguous_with"] = decision.ambiguous_with
    keyword, item = ("keyword", label), ("object", label)
    keywords = tuple(h.term for h in analysis.hits if keyword in h.names or item in h.names)
    booking_like = label.startswith("booking:") or label == "cancel_booking"
    day = analysis.day if booking_like else None
    if label == "query:today_activity" and analysis.day and analysis.day.date != analysis.today:
        day = analysis.day  # "明天有啥活动": the handler answers for that day; today's stays None
    kind, _, name = label.partition(":")
    return Understanding(
        label=label,
        confidence=decision.confidence,
        service=name if kind == "booking" else None,
        category=name if kind == "report" else ("policy" if label == "inquiry:policy" else None),
        date=day.date if day else None,
        part=analysis.part if booking_like else None,
        keywords=keywords,
        ranked=decision.ranked,
        text=analysis.text + analysis.rest,
        item=analysis.items.get(label) if label in ITEM_LABELS else None,
        weekday_named=bool(day and day.weekday_named),
        extras=extras,
        reason=decision.reason,
        confident=decision.confident,
        may_be_request=decision.may_be_request,
    )


def rules_confidence(label: str, ranked: list[tuple[str, float]], threshold: float) -> float:
    """Softmax of the scores with chit-chat standing at the threshold: 0..1, 3 decimals."""
    values = [v for _, v in ranked] + [threshold]
    top = max(values)
    total = sum(math.exp(v - top) for v in values)
    chosen = threshold if label == CHITCHAT else dict(ranked).get(label, 0.0)
    return round(math.exp(chosen - top) / total, 3)
