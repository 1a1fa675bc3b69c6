"""nlp/decide.py: the one function that turns the model's probabilities and the rules' scores into a label."""

from __future__ import annotations

import datetime as dt

import pytest

from nlp.dates import DayMention
from nlp.decide import decide, understanding
from nlp.evidence import Analysis
from nlp.features import DecisionSettings, RulesStepIn
from nlp.rules import Settings

RULES = Settings()  # threshold 2.5
D = DecisionSettings(request_margin=0.4, confident=0.6, ambiguous_margin=0.15, may_be_request=0.2,
                     rules_step_in=RulesStepIn(below=0.5, rules_score=3.5))


def analysis(scores: dict[str, float] | None = None, **kw) -> Analysis:  # type: ignore[no-untyped-def]
    return Analysis(text=kw.pop("text", "一条消息"), quote="", hits=[], cues={}, topic={}, scores=scores or {}, **kw)


def probs(**given: float) -> dict[str, float]:
    """Probabilities with the rest spread evenly over chit-chat."""
    out = {label.replace("__", ":"): p for label, p in given.items()}
    out.setdefault("chitchat", max(0.0, 1.0 - sum(out.values())))
    return out


@pytest.mark.parametrize(
    ("scores", "p", "label", "by"),
    [
        # the model decides ...
        ({}, probs(report__repair=0.9), "report:repair", "model"),
        ({"report:repair": 6.0}, probs(report__dispute=0.8), "report:dispute", "model"),
        # ... but a request must beat chit-chat by the margin
        ({}, probs(report__repair=0.6, chitchat=0.4), "chitchat", "model"),
        ({}, probs(report__repair=0.75, chitchat=0.25), "report:repair", "model"),
        # the rules step in where they are sure and the model is unsure ...
        ({"booking:haircut": 4.0}, probs(booking__haircut=0.3, booking__free_clinic=0.3, chitchat=0.4),
         "booking:haircut", "rules"),
        # ... or leans their way but lost to the margin
        ({"report:repair": 3.5}, probs(report__repair=0.6, chitchat=0.4), "report:repair", "rules"),
        # not where they are unsure themselves
        ({"report:repair": 3.0}, probs(report__repair=0.6, chitchat=0.4), "chitchat", "model"),
        # nor where the model is sure of something else
        ({"report:repair": 9.0}, probs(report__safety=0.9), "report:safety", "model"),
    ],
)
def test_who_decides(scores: dict[str, float], p: dict[str, float], label: str, by: str) -> None:
    got = decide(analysis(scores), p, RULES, D)
    assert (got.label, got.by) == (label, by), got.reason
    assert got.confidence == round(p.get(label, 0.0), 3)


def test_urgent_words_the_rules_are_sure_of_win() -> None:
    a = analysis({"report:repair": 4.0}, request="urgent")
    got = decide(a, probs(chitchat=0.9, report__repair=0.1), RULES, D)
    assert (got.label, got.by) == ("report:repair", "urgent")
    assert "urgent" in got.reason
    # Sure, whatever the model's probability: an emergency is neither kept for staff nor answered with the menu.
    assert got.confidence == 0.1 and got.confident and not got.may_be_request


def test_an_emergency_past_the_read_length_is_safety_with_or_without_a_model() -> None:
    a = analysis({}, alarms=("燃气味",), rest="……楼道里一股燃气味")
    for p in (probs(chitchat=1.0), None):
        got = decide(a, p, RULES, D)
        assert (got.label, got.by) == ("report:safety", "alarm")
        assert "燃气味" in got.reason
        assert got.confident and not got.may_be_request
    assert understanding(a, decide(a, None, RULES, D)).text.endswith("燃气味")


def test_confident_ambiguous_and_may_be_a_request() -> None:
    sure = decide(analysis(), probs(report__repair=0.95), RULES, D)
    assert sure.confident and not sure.may_be_request and sure.ambiguous_with is None
    # Surely a request, unsure only of which kind: filed (staff correct a category), not parked.
    close = decide(analysis(), probs(report__repair=0.5, report__safety=0.45, chitchat=0.05), RULES, D)
    assert (close.label, close.ambiguous_with, close.confident, close.may_be_request) == (
        "report:repair", "report:safety", True, False)
    # Unsure whether it is a request at all (a booking reads nearly as well): kept for staff.
    doubt = decide(analysis(), probs(report__repair=0.5, booking__haircut=0.42, chitchat=0.08), RULES, D)
    assert (doubt.label, doubt.ambiguous_with, doubt.confident, doubt.may_be_request) == (
        "report:repair", "booking:haircut", False, True)
    kept = decide(analysis(), probs(report__sanitation=0.45, chitchat=0.55), RULES, D)
    assert (kept.label, kept.may_be_request, kept.ambiguous_with) == ("chitchat", True, None)
    idle = decide(analysis(), probs(chitchat=0.97, report__repair=0.03), RULES, D)
    assert not idle.may_be_request and idle.confident


def test_the_rules_alone_decide_as_before() -> None:
    got = decide(analysis({"booking:haircut": 4.0, "booking:free_clinic": 3.5}), None, RULES, D)
    assert (got.label, got.by, got.ambiguous_with) == ("booking:haircut", "rules", "booking:free_clinic")
    assert got.ranked[-1] == ("chitchat", RULES.threshold)
    assert decide(analysis({"report:repair": 2.0}), None, RULES, D).label == "chitchat"


def test_slots_come_from_the_rules_for_the_label_that_won() -> None:
    """The model's booking with no service word in the rules still gets its service, day and part."""
    day = DayMention(dt.date(2026, 11, 28), 0, 2, weekday_named=True)
    a = analysis({}, day=day, part="am", today=dt.date(2026, 11, 25), items={"booking:appliance_repair": "热水壶"})
    u = understanding(a, decide(a, probs(booking__appliance_repair=0.9), RULES, D))
    assert (u.label, u.service, u.category, u.date, u.part, u.item, u.weekday_named) == (
        "booking:appliance_repair", "appliance_repair", None, dt.date(2026, 11, 28), "am", "热水壶", True)
    r = understanding(a, decide(a, probs(report__repair=0.9), RULES, D))
    assert (r.category, r.service, r.date, r.part, r.item) == ("repair", None, None, None, None)
