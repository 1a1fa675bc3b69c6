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
import re
from collections.abc import Iterator
from dataclasses import dataclass

from config.community import Community, RequestRules, cached_on
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
    words: re.Pattern[str] | None
    together: tuple[tuple[re.Pattern[str], ...], ...]
    unless: re.Pattern[str] | None


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    """One alternation of the words as normalized text reads them (a file written in Traditional
    still matches), longest first so that a longer word wins where two start together."""
    canon = sorted({w for w in (canonical(x) for x in words) if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, canon))) if canon else None


@dataclass(frozen=True)
class _Matcher:
    families: tuple[_Family, ...]
    # What any mention needs: a word of some family, or one of the rarest set of some `together`
    # entry. Most messages have none and are done after this one search.
    gate: re.Pattern[str] | None


def _matcher(rules: RequestRules) -> _Matcher:
    """The compiled cues of a community file, built once (and again only if its cues are replaced)."""
    def build() -> _Matcher:
        families, gate_words = [], []
        for cue in rules.urgent_cues:
            sets = tuple(tuple(p for p in (_pattern(s) for s in entry) if p is not None) for entry in cue.together)
            families.append(_Family(cue, _pattern(cue.words), sets, _pattern(cue.unless)))
            gate_words += cue.words
            for entry in cue.together:  # the set whose shortest word is longest: the rarest to occur
                gate_words += max(entry, key=lambda words: min(len(w) for w in words))
        return _Matcher(tuple(families), _pattern(gate_words))

    return cached_on(rules, "hazard_matcher", (rules.urgent_cues,), build)


def _mentions(family: _Family, text: str) -> Iterator[_Mention]:
    if family.unless is not None and family.unless.search(text):
        return
    if family.words is not None:
        for hit in family.words.finditer(text):
            yield _Mention(family.cue, hit.start(), hit.end())
    for entry in family.together:
        hits: list[list[tuple[int, int]]] = []
        for pattern in entry:
            found = [(m.start(), m.end()) for m in pattern.finditer(text)]
            if not found:
                break
            hits.append(found)
        else:
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
    matcher = _matcher(rules)
    if matcher.gate is None or not matcher.gate.search(text):
        return None
    mentions = sorted((m for f in matcher.families for m in _mentions(f, text)), key=lambda m: m.start)
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
