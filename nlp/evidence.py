"""What the keyword rules find in a message beyond its words: clauses, cue sums, questions, devices, objects.

nlp/classifier.py reads a message with these; nlp/scoring.py turns what they find into scores.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nlp.dates import DayMention
from nlp.normalize import CLAUSE_BREAKS
from nlp.rules import LOWERING_CUES, RULE_LABELS, Entry, Hit
from nlp.understanding import Part

BOOKING_LABELS = tuple(label for label in RULE_LABELS if label.startswith("booking:"))
REPORT_LABELS = tuple(label for label in RULE_LABELS if label.startswith("report:"))
ITEM_LABELS = ("booking:appliance_repair", "booking:knife_sharpening")
CHITCHAT = "chitchat"
# A booking needs one word that names its service on its own (理发, 义诊, 磨刀); hints such as
# 医生 or 血压 only add to it ("医生说我这血压控制得不错" books nothing).
ANCHOR = 2.0
# (kind, name) of a word naming a service: `not hit.names.isdisjoint(BOOKING_NAMES)`.
BOOKING_NAMES = frozenset((kind, label) for kind in ("keyword", "object") for label in BOOKING_LABELS)

_SEPARATORS = re.compile(f"[{re.escape(CLAUSE_BREAKS)}]+")
_NOT_COUNTED = re.compile(r"[\s\W_]")
# "管不管", "发不发", "修不修": a question asked the A-not-A way.
# Only verbs of asking for something: "多不多", "好不好" ask after a state, not for a service.
_A_NOT_A = re.compile(r"([管发修来给办批补收退领让派换清交算装拆开用能会行报在])不\1")
# A place of the estate named by number: 7号楼, 3栋, 2单元, 三期, 5号院.
NUMBERED_PLACE = re.compile(r"[\d一二三四五六七八九十]+\s?(?:号楼|号院|栋|幢|单元|期)")
# A household device no rule word names ("空气炸锅", "挂烫机", "小烤炉"): an appliance object
# (a shared one, "车库里的排风机", when a place of the estate is named).
_DEVICE = re.compile(r"[\u4e00-\u9fff]{1,3}?(?:机|炉|锅|煲|壶)")
_DEVICE_LAST = re.compile("[机炉锅煲壶]")  # what a device word ends in: no pattern run without one
_DEVICE_LEAD = "的个那这我你他她俺咱家里把给了是说台只口"
_NOT_DEVICES = frozenset({
    "手机", "司机", "飞机", "拖拉机", "打火机", "危机", "时机", "随机", "有机", "心机", "投机", "乘机", "趁机",
    "机会", "火锅", "铁锅", "背锅", "砂锅", "炒锅", "锅炉", "相机", "耳机", "收款机", "挖掘机", "电机", "机机",
    "单机", "专机", "转机", "停机", "关机", "开机", "死机", "登机", "班机", "军机", "战机", "生机", "商机",
})
DEVICE_WEIGHT = 1.0


@dataclass(frozen=True)
class Clauses:
    """The clauses of a text: the runs between spaces and punctuation."""

    text: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Clauses:
        return cls(text, (0, *(m.end() for m in _SEPARATORS.finditer(text))))

    def index(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def pieces(self) -> Iterator[tuple[int, str, str]]:
        """(index, words, words with the separators after them) of each clause."""
        ends = (*self.starts[1:], len(self.text))
        for index, (start, end) in enumerate(zip(self.starts, ends, strict=True)):
            raw = self.text[start:end]
            # A clause is its words and the run of separators after it (the first may be
            # separators only).
            yield index, raw.rstrip(CLAUSE_BREAKS), raw


@dataclass
class Analysis:
    """Everything the classifier worked out about one message; `Understanding` is its summary."""

    text: str
    quote: str
    hits: list[Hit]
    cues: dict[str, float]
    topic: dict[str, float]
    scores: dict[str, float]
    notes: dict[str, list[str]] = field(default_factory=dict)
    day: DayMention | None = None
    part: Part | None = None
    item: str | None = None
    bare: bool = False
    today: dt.date | None = None
    items: dict[str, str] = field(default_factory=dict)  # per label, the object it names ("热水壶")
    rest: str = ""  # the normalized text past READ_CHARS, which the rules do not read
    alarms: tuple[str, ...] = ()  # emergency words found in `rest`
    request: str = ""  # why the rules take it for a request to the community ("urgent", ...), or ""




def cue_weights(hits: list[Hit], clauses: Clauses) -> tuple[dict[str, float], dict[int, float], dict[int, float]]:
    """Cue sums over the message, and narration / done sums per clause."""
    cues: dict[str, float] = defaultdict(float)
    narration: dict[int, float] = defaultdict(float)
    done: dict[int, float] = defaultdict(float)
    for hit in hits:
        for entry in hit.entries:
            if entry.kind == "cue":
                cues[entry.name] += entry.weight
                if entry.name == "narration":
                    narration[clauses.index(hit.start)] += entry.weight
                elif entry.name == "done":
                    done[clauses.index(hit.start)] += entry.weight
    return cues, narration, done


# Cue sets saying that something is broken or blunt (what the repair objects need).
FAULT_CUES = frozenset({"fault", "blunt"})


def comparing_notes(hits: list[Hit], clauses: Clauses, cues: dict[str, float]) -> bool:
    """True for neighbours comparing notes ("你们家暖气热不热 我家还行", "你们谁家停电了吗 我家好好的").

    A `peers` word asks how it is at the others' homes; it is no request unless the community is
    named, something is asked hard (派人, 管管, 来修: an ask word of weight 1.5 or more) or a clause
    without a `peers` word tells of a fault or a problem, or complains ("我家一滴水都没有 咋回事").
    """
    if cues.get("peers", 0.0) <= 0 or cues.get("addressee", 0.0) > 0 or cues.get("urgent", 0.0) > 0:
        return False
    peer_clauses = {clauses.index(h.start) for h in hits
                    if ("cue", "peers") in h.names}
    for hit in hits:
        for entry in hit.entries:
            if entry.kind == "cue" and entry.name == "ask" and entry.weight >= 1.5:
                return False
            if clauses.index(hit.start) in peer_clauses:
                continue
            if entry.kind == "cue" and (entry.name in FAULT_CUES or entry.name in ("problem", "complaint", "ask")):
                return False
            if entry.kind == "keyword" and entry.name in REPORT_LABELS and entry.weight >= 1.5:
                return False
    return True


def again_clauses(hits: list[Hit], clauses: Clauses) -> set[int]:
    """Clauses where something is broken again ("又坏了", "又不转了"): a fault of now."""
    found: set[int] = set()
    for hit in hits:
        if hit.start > 0 and clauses.text[hit.start - 1] == "又" and any(
                e.kind == "cue" and e.name in FAULT_CUES for e in hit.entries):
            found.add(clauses.index(hit.start))
    return found


def asks_outside(hits: list[Hit], clauses: Clauses, done: dict[int, float]) -> bool:
    """True when an `ask` or `book` word stands in a clause that tells of nothing done."""
    return any(e.kind == "cue" and e.name in ("ask", "book") and not done.get(clauses.index(h.start))
               for h in hits for e in h.entries)


def missed_clauses(hits: list[Hit], clauses: Clauses) -> set[int]:
    """Clauses telling of a try that failed ("没约上"): cue set `missed`, optional in the rules."""
    return {clauses.index(h.start) for h in hits if ("cue", "missed") in h.names}


def question_clauses(clauses: Clauses, cues: dict[str, float], finals: str, hits: list[Hit]) -> set[int]:
    """Clauses that ask (吗, ?, ending in 不/没: 能修不, 还有号没, or A-not-A: 管不管, 发不发);
    each final particle and each A-not-A no ask word covers adds an ask."""
    questions: set[int] = set()
    asked_at = [(h.start, h.end) for h in hits if ("cue", "ask") in h.names]
    marked = "吗" in clauses.text or "?" in clauses.text
    for index, words, raw in clauses.pieces():
        if marked and ("吗" in raw or "?" in raw):
            questions.add(index)
        if len(words) > 1 and words[-1] in finals:
            cues["ask"] += 1.0
            questions.add(index)
    for m in _A_NOT_A.finditer(clauses.text):
        if not any(s <= m.start() < e for s, e in asked_at):
            cues["ask"] += 1.0
            questions.add(clauses.index(m.start()))
    return questions


def booking_clauses(hits: list[Hit], clauses: Clauses) -> set[int]:
    """Clauses holding a strong booking word ("想约", "预约", "想让"): they ask, they do not tell."""
    return {clauses.index(h.start) for h in hits
            if ("cue", "book") in h.names
            and any(e.kind == "cue" and e.name == "book" and e.weight >= 1.5 for e in h.entries)}


def restore_under_lowering(hits: list[Hit], hidden: list[Hit]) -> list[Hit]:
    """A service's word inside a longer lowering cue still counts: 律师 in "的律师" (narration) is
    a lawyer whether or not the clause tells of a visit; the cue only lowers it."""
    # The service words hidden first: most messages have none, and then the cues are not looked at.
    services = [(h, meaning) for h in hidden if not h.names.isdisjoint(BOOKING_NAMES)
                and (meaning := tuple(e for e in h.entries if (e.kind, e.name) in BOOKING_NAMES))]
    if not services:
        return hits
    lowering = [h for h in hits
                if h.entries and all(e.kind == "cue" and e.name in LOWERING_CUES for e in h.entries)]
    back = [Hit(h.term, h.start, h.end, meaning) for h, meaning in services
            if any(c.start <= h.start and h.end <= c.end for c in lowering)]
    if not back:
        return hits
    return sorted(hits + back, key=lambda h: (h.start, h.start - h.end))


def with_devices(text: str, hits: list[Hit], shared: bool) -> list[Hit]:
    """Adds household devices no rule word names ("空气炸锅不工作了") as appliance objects, or as
    repair objects where a place of the estate is named ("车库里的排风机坏了")."""
    if not _DEVICE_LAST.search(text):  # most messages
        return hits
    label = "report:repair" if shared else "booking:appliance_repair"
    taken: list[tuple[int, int]] | None = None  # found only once a device word is there
    found = []
    for m in _DEVICE.finditer(text):
        if taken is None:
            taken = [(h.start, h.end) for h in hits if any(e.kind in ("keyword", "object", "mask") for e in h.entries)]
        start = m.start()
        while start < m.end() - 2 and text[start] in _DEVICE_LEAD:
            start += 1
        word = text[start:m.end()]
        if len(word) < 2 or word in _NOT_DEVICES or word[-2:] in _NOT_DEVICES or text[start] in _DEVICE_LEAD:
            continue
        if any(s < m.end() and start < e for s, e in taken):
            continue
        found.append(Hit(word, start, m.end(), (Entry("object", label, DEVICE_WEIGHT),)))
    if not found:
        return hits
    return sorted(hits + found, key=lambda h: (h.start, h.start - h.end))


def shared_appliances(hits: list[Hit], clauses: Clauses) -> list[Hit]:
    """A device word right after a place of the estate in its clause, with no home named before it
    there, is a shared fixture: "地下车库的排风扇不转了", "楼道里的灯泡" (report:repair), not
    "我家厨房的排风扇" (an appliance)."""
    places = [(clauses.index(h.start), h.end) for h in hits if ("cue", "place") in h.names]
    if not places:
        return hits
    out = []
    for hit in hits:
        if ("object", "booking:appliance_repair") in hit.names and not any(
                e.kind == "object" and e.name == "report:repair" for e in hit.entries):
            index = clauses.index(hit.start)
            before = clauses.text[clauses.starts[index]:hit.start]
            if "家" not in before and any(i == index and end <= hit.start for i, end in places):
                hit = Hit(hit.term, hit.start, hit.end, tuple(
                    Entry("object", "report:repair", e.weight)
                    if e.kind == "object" and e.name == "booking:appliance_repair" else e for e in hit.entries))
        out.append(hit)
    return out


# Parts a household device has too: "热水壶按下去灯不亮" is the kettle's light, not a lamp of the estate.
_DEVICE_PARTS = frozenset({"灯", "灯泡", "指示灯"})


def appliance_parts(hits: list[Hit], clauses: Clauses) -> list[Hit]:
    """A bare part word (灯) after a household appliance in the same clause is the appliance's
    part: its repair-object meaning becomes an appliance object (no place of the estate named)."""
    appliances = [clauses.index(h.start) for h in hits
                  if ("object", "booking:appliance_repair") in h.names]
    if not appliances:
        return hits
    out = []
    for hit in hits:
        if hit.term in _DEVICE_PARTS and any(i == clauses.index(hit.start) for i in appliances) and any(
                e.kind == "object" and e.name == "report:repair" for e in hit.entries):
            hit = Hit(hit.term, hit.start, hit.end, tuple(
                Entry("object", "booking:appliance_repair", e.weight)
                if e.kind == "object" and e.name == "report:repair" else e
                for e in hit.entries if not (e.kind == "hint" and e.name == "report:repair")))
        out.append(hit)
    return out


def hint_sums(hits: list[Hit], counted: Callable[[str, int], float]) -> dict[str, float]:
    """Sums of the labels' hint words (broad classes: 灯, 车, 老人) where they count."""
    hinted: dict[str, float] = defaultdict(float)
    for hit in hits:
        for entry in hit.entries:
            if entry.kind == "hint":
                hinted[entry.name] += entry.weight * counted(entry.name, hit.start)
    return hinted


def request_kind(cues: dict[str, float], topic: dict[str, float], fired: set[str], whole_done: bool) -> str:
    """Why the message is a request to the community ("" when it is not).

    Asking (an ask or urgent word, or naming the community) about a place of the estate or a
    problem (a fault, a problem word, a report word); or, without asking, a problem at a place
    of the estate told as a complaint. Not in news, adverts, jokes, questions to the neighbours,
    thanks without an ask, or a message telling only of something done.
    """
    urgent = cues.get("urgent", 0.0) > 0
    addressed = cues.get("addressee", 0.0) > 0
    if whole_done or cues.get("broadcast", 0.0) >= 1.5 or cues.get("humor", 0.0) > 0 or cues.get("aside", 0.0) > 0:
        return ""
    if urgent:
        return "urgent"
    asking = cues.get("ask", 0.0) >= 1 or addressed
    if cues.get("neighbourly", 0.0) > 0 and not addressed:
        return ""
    if cues.get("thanks", 0.0) > 0 and cues.get("ask", 0.0) < 1:
        # Naming the community while thanking it ("辛苦网格员了") asks nothing.
        return ""
    place = cues.get("place", 0.0) > 0
    problem = (cues.get("problem", 0.0) > 0 or any(cues.get(n, 0.0) > 0 for n in FAULT_CUES)
               or any(topic.get(label, 0.0) >= 1.5 for label in REPORT_LABELS) or bool(fired & set(REPORT_LABELS)))
    if asking and (place or problem):
        return "asks about " + ("a place" if place else "a problem")
    if place and (cues.get("problem", 0.0) > 0 or any(cues.get(n, 0.0) > 0 for n in FAULT_CUES)):
        return "tells of a problem at a place"
    return ""


def topic_sums(hits: list[Hit], counted: Callable[[str, int], float], notes: dict[str, list[str]]
            ) -> tuple[dict[str, float], set[str], list[tuple[Hit, str, float]]]:
    """Keyword sums per label, the labels with a full-weight strong word, and the objects found."""
    topic: dict[str, float] = defaultdict(float)
    anchored: set[str] = set()
    objects: list[tuple[Hit, str, float]] = []
    for hit in hits:
        for entry in hit.entries:
            if entry.kind not in ("keyword", "object"):
                continue
            share = counted(entry.name, hit.start)
            weight = entry.weight * share
            if weight <= 0:
                notes[entry.name].append(f"{hit.term}: told as past/done, not counted")
            elif entry.kind == "object":
                objects.append((hit, entry.name, weight))
            else:
                topic[entry.name] += weight
                if entry.weight >= ANCHOR and share == 1.0:
                    anchored.add(entry.name)
                notes[entry.name].append(f"{hit.term} +{weight:g}")
    return topic, anchored, objects


def items_named(hits: list[Hit], counted: Callable[[str, int], float]) -> dict[str, str]:
    """Per label, the first object it names that counts, even inside a longer keyword ("菜刀钝")."""
    items: dict[str, str] = {}
    for hit in sorted(hits, key=lambda h: h.start):
        for entry in hit.entries:
            if entry.kind == "object" and counted(entry.name, hit.start) > 0:
                items.setdefault(entry.name, hit.term)
    return items


def is_bare(text: str, hits: list[Hit], days: list[DayMention], part_span: tuple[int, int] | None) -> bool:
    """True when the message is nothing but rule words, days and parts of day ("理发", "我的预约")."""
    if len(text) > 16:
        return False
    covered = bytearray(len(text))
    # A word that only lowers ("真热闹", "哈哈") names nothing: "今天的活动真热闹" is not bare.
    spans = [(h.start, h.end) for h in hits
             if not all(e.kind == "cue" and e.name in LOWERING_CUES for e in h.entries)]
    spans += [(d.start, d.end) for d in days]
    if part_span:
        spans.append(part_span)
    for start, end in spans:
        covered[start:end] = b"\x01" * (end - start)
    left = sum(1 for i, ch in enumerate(text) if not covered[i] and not _NOT_COUNTED.match(ch))
    return left <= 1


def gap(a: Hit, b: Hit) -> int:
    """Characters between two hits (0 when they touch or overlap)."""
    return max(0, b.start - a.end, a.start - b.end)


def spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where `term` occurs in `text`, without overlaps (what re.finditer of the escaped term gives)."""
    spans = []
    at = text.find(term)
    while at >= 0:
        spans.append((at, at + len(term)))
        at = text.find(term, at + len(term))
    return spans
