"""Hazards: whether a message reports an emergency happening now (the staff group is alerted at once,
whatever label the classifier gave it), only worries about one ("万一着火"), or asks about one
("要是家里燃气泄漏了应该打什么电话", "怎么检查燃气泄漏": answered from the community file, not filed).

The cues are data (`requests.urgent_cues` in the community file): families of words that say an
emergency alone (燃气味, 晕倒) or together within a few characters ("a person" + "cannot get out":
小孩 … 出不来), each with the look-alikes that cancel it (轮胎漏气, 火灾隐患). They are read on the
normalized text (nlp.normalize: Traditional as Simplified), so 電梯困人 and 著火 are understood.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from config.community import Community, RequestRules
from config.request_rules import UrgentCue
from handlers import texts_requests as texts
from handlers.base import Context
from handlers.privacy import mask_name, mask_text
from nlp.location import extract_location
from nlp.normalize import canonical
from storage.models_requests import Request


@dataclass(frozen=True)
class Hazard:
    """What a message says about a hazard: which family, whether it is happening now (`urgent`), or
    a question about it (`question`). A message that only worries is no Hazard at all."""

    cue: UrgentCue
    urgent: bool
    question: bool


@dataclass(frozen=True)
class _Mention:
    cue: UrgentCue
    start: int
    end: int


@dataclass(frozen=True)
class _Family:
    cue: UrgentCue
    words: tuple[str, ...]
    together: tuple[tuple[tuple[str, ...], ...], ...]
    unless: tuple[str, ...]


def _words(words: list[str]) -> tuple[str, ...]:
    return tuple(w for w in (canonical(x) for x in words) if w)


# Per rules object (pydantic models with lists are not hashable): id -> (the object, its families).
_FAMILIES: dict[int, tuple[RequestRules, tuple[_Family, ...]]] = {}


def _families(rules: RequestRules) -> tuple[_Family, ...]:
    """The cue words as normalized text reads them (a file written in Traditional still matches)."""
    cached = _FAMILIES.get(id(rules))
    if cached is None or cached[0] is not rules:
        if len(_FAMILIES) > 64:
            _FAMILIES.clear()
        families = tuple(
            _Family(cue, _words(cue.words), tuple(tuple(_words(s) for s in entry) for entry in cue.together),
                    _words(cue.unless))
            for cue in rules.urgent_cues
        )
        cached = _FAMILIES[id(rules)] = (rules, families)
    return cached[1]


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


def _mentions(family: _Family, text: str) -> Iterator[_Mention]:
    if any(w in text for w in family.unless):
        return
    for word in family.words:
        for start in _occurrences(text, word):
            yield _Mention(family.cue, start, start + len(word))
    for entry in family.together:
        hits = [[(s, s + len(w)) for w in words for s in _occurrences(text, w)] for words in entry]
        if not all(hits):
            continue
        for combo in itertools.product(*hits):
            first, last = min(s for s, _ in combo), max(s for s, _ in combo)
            if last - first <= family.cue.within:
                yield _Mention(family.cue, first, max(e for _, e in combo))


def _hypothetical(rules: RequestRules, text: str, mention: _Mention) -> bool:
    """"万一着火", "要是家里燃气泄漏了": a "what if" word shortly before the mention, or inside it."""
    before = text[max(0, mention.start - rules.hypothetical_within):mention.end]
    return any(h in before for h in rules.hypothetical_cues)


def read_hazard(rules: RequestRules, text: str) -> Hazard | None:
    """The hazard a normalized text reports (urgent) or asks about (question); None for no hazard or a
    mere worry. A question is one with a question cue ("打什么电话", "怎么检查") whose hazard is
    hypothetical, or that says nothing of now (no `present_cues` such as 了 / 快来, and no place)."""
    mentions = sorted((m for f in _families(rules) for m in _mentions(f, text)), key=lambda m: m.start)
    if not mentions:
        return None
    real = [m for m in mentions if not _hypothetical(rules, text, m)]
    asks = any(q in text for q in rules.hazard_question_cues)
    question = asks and (not real or (not any(p in text for p in rules.present_cues)
                                      and extract_location(text).is_empty))
    if question:
        return Hazard(mentions[0].cue, urgent=False, question=True)
    if real:
        return Hazard(real[0].cue, urgent=True, question=False)
    return None


def is_urgent(rules: RequestRules, text: str) -> bool:
    """An emergency happening now (not a worry, not a question about one)."""
    hazard = read_hazard(rules, text)
    return hazard is not None and hazard.urgent


def hazard_answer(community: Community, cue: UrgentCue) -> str:
    """What to do and whom to call, from the community file (its `emergency_numbers`)."""
    numbers = [n for n in (community.emergency_number(i) for i in cue.numbers) if n is not None]
    if not numbers:
        numbers = [n for n in community.emergency_numbers if n.number in ("119", "120", "110")]
    return texts.hazard_answer(cue.advice, [(n.name, n.number) for n in numbers])


def alert_staff(ctx: Context, request: Request, *, place: str, grid: str) -> None:
    """A new urgent request: the staff group is told at once (the reporter's name and words masked)."""
    m = ctx.message
    ctx.tell_staff(texts.urgent_alert(request.id, request.category, place, grid, mask_name(m.sender_name),
                                      mask_text(m.text), ctx.community.requests.web_url))


def alert_staff_escalated(ctx: Context, request: Request) -> None:
    """A known request became urgent with this message (a neighbour added a hazard)."""
    m = ctx.message
    ctx.tell_staff(texts.urgent_escalated(request.id, request.category, mask_name(m.sender_name),
                                          mask_text(m.text), ctx.community.requests.web_url))


def alert_staff_again(ctx: Context, request: Request) -> None:
    """Another urgent message about a request already urgent: staff hear it at once too."""
    m = ctx.message
    ctx.tell_staff(texts.urgent_again(request.id, request.category, mask_name(m.sender_name), mask_text(m.text),
                                      request.affected, ctx.community.requests.web_url))
