"""Scored keyword intents: from a normalized message and its rule hits to one `Understanding`.

How evidence combines (the vocabulary itself is data, config/nlp/keywords.yaml):

* Topic: each label sums the weights of its keywords found in the message; its objects
  ("电梯", "热水壶") count once a word of their `object_needs` set ("坏了") is there too.
  In a clause that tells of something already done ("修好了") no topic word counts; in one
  that tells of a service already had ("昨天理发的小伙子手艺真好") no booking word counts,
  unless the clause is a question. A message that asks nothing and tells of something
  fixed is news as a whole.
* booking:* labels need a word naming the service on its own (weight >= ANCHOR), and an ask:
  an `ask` or `book` word, a day still to come or a part of day, a broken/blunt object, or
  a message that is nothing but the service's name ("理发"). Several services listed without
  a booking word are an announcement. Booking words, asks and a named day add to the score;
  an existing booking, a cancellation, a question to the group and broadcast marks lower it.
* report:* labels add `ask` and `complaint` words (residents often only describe the
  problem, so no ask is needed); jokes lower them. inquiry:policy needs a question.
* cancel_booking needs something booked to refer to; query:today_activity needs a day to come
  (今天, 明天, 周四, 12月3号) and a question about what is on; it carries that day in `date`
  (None for today's), which the labelled files leave out (LABELS.md dates bookings only).
* Narration stops counting in a clause where something is broken again ("上回修好的水壶又坏了")
  or a try failed ("上回的理发没约上"); an ask word in a clause telling of something done is
  part of the story ("帮我妈把医保的事办好了").
* Every label is lowered by broadcast marks (forwarded news, adverts, 接龙).

The top label is taken when it reaches the threshold (STYLE §5); below it the message is
chit-chat. A top label closer than the margin to the runner-up is still taken (a resident's
request must not be dropped for being ambiguous between two kinds of request), with a low
confidence and the runner-up in `extras["ambiguous_with"]`, so a handler can ask.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nlp import segment
from nlp.dates import DayMention, find_days, find_part, local_now
from nlp.normalize import CLAUSE_BREAKS, normalize_parts
from nlp.rules import DEFAULT_USERDICT_PATH, LOWERING_CUES, RULE_LABELS, Entry, Hit, Rules, Settings, load_rules
from nlp.understanding import Part, Understanding

log = logging.getLogger("linli.nlp")

BOOKING_LABELS = tuple(label for label in RULE_LABELS if label.startswith("booking:"))
REPORT_LABELS = tuple(label for label in RULE_LABELS if label.startswith("report:"))
ITEM_LABELS = ("booking:appliance_repair", "booking:knife_sharpening")
CHITCHAT = "chitchat"
# Readings kept per process (a few MB at most) and the longest text kept: long texts seldom repeat.
MEMO_SIZE = 4096
MEMO_MAX_CHARS = 120
# A booking needs one word that names its service on its own (理发, 义诊, 磨刀); hints such as
# 医生 or 血压 only add to it ("医生说我这血压控制得不错" books nothing).
ANCHOR = 2.0

_SEPARATORS = re.compile(f"[{re.escape(CLAUSE_BREAKS)}]+")
# "1. 张 2箱 2. 王姐 1箱": a numbered sign-up list (接龙) even without the word.
_NUMBERED_LIST = re.compile(r"(?:^|\s)1[.、]\s*\S.*?\s2[.、]\s*\S")
_NOT_COUNTED = re.compile(r"[\s\W_]")
# "管不管", "发不发", "修不修": a question asked the A-not-A way.
# Only verbs of asking for something: "多不多", "好不好" ask after a state, not for a service.
_A_NOT_A = re.compile(r"([管发修来给办批补收退领让派换清交算装拆开用能会行报在])不\1")
# A place of the estate named by number: 7号楼, 3栋, 2单元, 三期, 5号院.
_NUMBERED_PLACE = re.compile(r"[\d一二三四五六七八九十]+\s?(?:号楼|号院|栋|幢|单元|期)")
# A household device no rule word names ("空气炸锅", "挂烫机", "小烤炉"): an appliance object
# (a shared one, "车库里的排风机", when a place of the estate is named).
_DEVICE = re.compile(r"[\u4e00-\u9fff]{1,3}?(?:机|炉|锅|煲|壶)")
_DEVICE_LEAD = "的个那这我你他她俺咱家里把给了是说台只口"
_NOT_DEVICES = frozenset({
    "手机", "司机", "飞机", "拖拉机", "打火机", "危机", "时机", "随机", "有机", "心机", "投机", "乘机", "趁机",
    "机会", "火锅", "铁锅", "背锅", "砂锅", "炒锅", "锅炉", "相机", "耳机", "收款机", "挖掘机", "电机", "机机",
    "单机", "专机", "转机", "停机", "关机", "开机", "死机", "登机", "班机", "军机", "战机", "生机", "商机",
})
DEVICE_WEIGHT = 1.0
# The sender speaking for themselves ("我想约", "给俺留一个", "咱家"): no announcement. "我社区",
# "我街道" are an office speaking of itself.
_FIRST_PERSON = re.compile(r"[我俺](?!社区|街道|单位|中心|站|局|市|区|院|所)|咱家|咱们家")
# A plan of the sender's own or their family's, told not asked ("我明天去理发", "我爸明天去量血压",
# "明天我陪我妈去剪头发", "到时候我去义诊那量个血压"): no booking without a booking word or a question.
# "我想去" is an ask (想 is not in the run); "我去不了" is a cancellation, "我去哪约" a question.
_PLAN = re.compile(
    r"(?<![想带帮给让叫])[我俺](?:妈|爸|老伴|婆婆|公公|奶奶|爷爷|家老爷子|家老太太)?"
    r"(?:明天|后天|今天|今晚|下午|上午|早上|明早|周[一二三四五六日天末]|到时候?|待会儿?|一会儿?)?"
    r"(?:要|就|也|得|会|准备|打算|自己)?(?:陪[^\s，。,！!？?]{0,4}?)?去(?!年|世|不了|不成|哪|不去)")
# How much a message told second-hand, or an invitation among neighbours, lowers the report labels
# (after halving their evidence: "刷到个视频 有人在楼道里给电动车充电着火了" is no report).
ASIDE_LOWERING = 1.5
# A mobile number: adverts ("专业疏通 ... 电话138...") and notices carry one, requests rarely.
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Weight of broadcast marks an announcement (which also takes every score to 0) or an advert
# with a phone number adds.
NOTICE_BROADCAST = 6.0
# How much thanks with no ask lowers a report label ("各位邻居 我家装修最后一周了 给大家添麻烦了").
THANKS_LOWERING = 1.0
PHONE_BROADCAST = 2.0
# How much a booking word with a service of its own lowers the report labels.
BOOKED_LOWERING = 1.0


@dataclass(frozen=True)
class _Clauses:
    """The clauses of a text: the runs between spaces and punctuation."""

    text: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> _Clauses:
        return cls(text, (0, *(m.end() for m in _SEPARATORS.finditer(text))))

    def index(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def pieces(self) -> Iterator[tuple[int, str, str]]:
        """(index, words, words with the separators after them) of each clause."""
        ends = (*self.starts[1:], len(self.text))
        for index, (start, end) in enumerate(zip(self.starts, ends, strict=True)):
            raw = self.text[start:end]
            yield index, _SEPARATORS.sub("", raw), raw


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


class Classifier:
    """Reads resident messages with the keyword rules; build one per process (or per test)."""

    def __init__(self, rules: Rules, userdict: Path | None = DEFAULT_USERDICT_PATH, warm: bool = True,
                 memo_size: int = MEMO_SIZE) -> None:
        self.rules = rules
        self.userdict = userdict
        self._segmenter: segment.Segmenter | None = None
        # Group chats repeat themselves ("收到", "好的", "谢谢", "+1", "今天有什么活动"): a reading
        # depends only on the text and the local day (dates are relative to today), so the last
        # readings are kept, keyed by both. Understanding is frozen; nothing changes a kept one.
        self._memo: OrderedDict[tuple[str, dt.date], Understanding] = OrderedDict()
        self._memo_size = memo_size
        if warm:
            self.warm()

    def warm(self) -> None:
        """Loads jieba now rather than on the first message that needs it."""
        if self._segmenter is None:
            self._segmenter = segment.segmenter(self.rules.token_chars, self.userdict)

    @classmethod
    def from_config(cls, path: Path | str | None = None, userdict: Path | str | None = None,
                    warm: bool = True) -> Classifier:
        """A classifier over the rules file at `path` (default config/nlp/keywords.yaml)."""
        return cls(load_rules(path), Path(userdict) if userdict is not None else DEFAULT_USERDICT_PATH, warm)

    def understand(self, text: str, now: dt.datetime) -> Understanding:
        """One label for `text` at `now`; never raises (anything unreadable is chit-chat)."""
        if not self._memo_size or not isinstance(text, str) or len(text) > MEMO_MAX_CHARS:
            return self.read(text, now)
        try:
            key = (text, local_now(now).date())
        except Exception:  # a bad `now`: read() reports it
            return self.read(text, now)
        found = self._memo.get(key)
        if found is not None:
            self._memo.move_to_end(key)
            return found
        found = self._memo[key] = self.read(text, now)
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return found

    def read(self, text: str, now: dt.datetime) -> Understanding:
        """`understand` without the memo: every rule runs."""
        try:
            return _summarize(self.analyze(text, now), self.rules.settings)
        except Exception:  # a message must never take the bot down; log it and move on
            log.exception("could not read a message; treating it as chit-chat")
            return Understanding(label=CHITCHAT, confidence=0.0, extras={"error": "unreadable"})

    def analyze(self, text: str, now: dt.datetime) -> Analysis:
        """The full scoring of one message (what `understand` summarizes); may raise on bad input."""
        quote, own = normalize_parts(text) if isinstance(text, str) else ("", "")
        if not own:
            return Analysis(own, quote, [], {}, {}, {})
        settings = self.rules.settings
        hidden: list[Hit] = []
        hits = self.rules.match(own, self._is_word, hidden)
        hits = _restore_under_lowering(hits, hidden)
        place = bool(_NUMBERED_PLACE.search(own))
        hits = _with_devices(own, hits, place or any(
            e.kind == "cue" and e.name == "place" for h in hits for e in h.entries))
        clauses = _Clauses.of(own)
        if not place:
            hits = _appliance_parts(hits, clauses)
        hits = _shared_appliances(hits, clauses)
        cues, narration, done = _cue_weights(hits, clauses)
        if place:
            cues["place"] += 1.0
        questions = _question_clauses(clauses, cues, settings.question_finals, hits)
        for index in _booking_clauses(hits, clauses):
            # "想让义诊的大夫给瞧瞧": a clause asking for the service tells of no visit.
            narration.pop(index, None)
        for index in questions:
            # "今天下午剪头发还排队吗" asks about the queue; a question does not tell of a past visit.
            narration.pop(index, None)
        today = local_now(now).date()
        days = find_days(own, now)
        for index in _again_clauses(hits, clauses) | _missed_clauses(hits, clauses):
            # "上回修好的水壶又坏了": the fault is now, whatever was done before; "上回的理发没约上":
            # no service was had.
            narration.pop(index, None)
        if cues.get("done", 0.0) > 0 and not _asks_outside(hits, clauses, done):
            # "昨天电梯坏了 今天已经修好了": nothing asked, something fixed: the whole message is news.
            # An ask word in the clause that tells of it is part of the story ("谢谢小王 帮我妈把
            # 医保的事办好了").
            # A clause calling off a booking is no news though ("我约的法律咨询不用了 事情解决了").
            calling_off = {clauses.index(h.start) for h in hits if not done.get(clauses.index(h.start))
                           and any(e.kind == "keyword" and e.name == "cancel_booking" for e in h.entries)}
            for index in range(len(clauses.starts)):
                if index not in calling_off:
                    done[index] = max(done[index], min(1.0, cues["done"]))
        if _NUMBERED_LIST.search(own):
            cues["broadcast"] += 2.0
        if _PHONE.search(own):
            cues["broadcast"] += PHONE_BROADCAST
        notice = cues.get("notice", 0.0) >= settings.notice_level and not _FIRST_PERSON.search(own)
        if notice:
            # "【通知】本周六上午社区开展义诊活动，欢迎居民参加": the community's own voice, news to all.
            cues["broadcast"] += NOTICE_BROADCAST
        if _comparing_notes(hits, clauses, cues):
            # "你们家暖气热不热 我家还行": a question to the neighbours, no request.
            cues["neighbourly"] += 2.0
        # A question word inside a longer keyword ("怎么" in "怎么办理") still makes a question,
        # though it adds no weight of its own.
        # Not one a mask hides, though ("谁能想到" is a figure of speech, its 谁/能 ask nothing).
        questioned = cues.get("ask", 0.0) > 0
        hidden_asks = [] if questioned else [h for h in hidden
                                             if any(e.kind == "cue" and e.name == "ask" for e in h.entries)]
        if hidden_asks:  # rare: the masks are looked for only then (a pass per mask cost ≈ 40 µs a message)
            masked = [span for term in self.rules.masks if term in own for span in _spans(own, term)]
            questioned = any(not any(s <= h.start and h.end <= t for s, t in masked) for h in hidden_asks)

        def counted(label: str, pos: int) -> float:
            """The share of a word that counts where it stands (none in "修好了" or "昨天理发的...")."""
            index = clauses.index(pos)
            return max(0.0, 1.0 - done[index] - (narration[index] if label in BOOKING_LABELS else 0.0))

        notes: dict[str, list[str]] = defaultdict(list)
        topic, anchored, objects = _topics(hits, counted, notes)
        hinted = _hints(hits, counted)
        fired = self._objects(hits, objects, topic, notes)
        if quote and cues.get("book", 0.0) >= 1 and not any(topic.get(b, 0.0) > 0 for b in BOOKING_LABELS):
            self._quote_services(quote, topic, anchored, notes)

        day = days[0] if days else None
        anchors = [h.start for h in hits
                   if any(e.kind in ("keyword", "object") and e.name in BOOKING_LABELS for e in h.entries)]
        part, part_span = find_part(own, day, anchors)
        bare = _bare(own, hits, days, part_span)
        whole_done = cues.get("done", 0.0) > 0 and all(done.get(i, 0.0) >= 1.0 for i in range(len(clauses.starts)))
        # Asks told inside a story ("昨天那个修电视的大爷真热心 还帮我调了台") ask nothing now.
        # Asks and booking words in a clause a thanks opens ("谢谢小刘上门帮我婆婆量血压") tell what
        # was done, too: they count neither for a request nor for a label.
        thanked_at = {clauses.index(h.start): h.start for h in reversed(hits)
                      if any(e.kind == "cue" and e.name == "thanks" for e in h.entries)}
        in_thanks = defaultdict(float)
        for h in hits:
            if thanked_at.get(clauses.index(h.start), len(own)) < h.start:
                for e in h.entries:
                    if e.kind == "cue" and e.name in ("ask", "book"):
                        in_thanks[e.name] += e.weight
        told = sum(e.weight for h in hits for e in h.entries
                   if e.kind == "cue" and e.name == "ask" and narration.get(clauses.index(h.start), 0.0) >= 1.0)
        if in_thanks:
            for name, weight in in_thanks.items():
                cues[name] = max(0.0, cues.get(name, 0.0) - weight)
            told = min(told, cues.get("ask", 0.0))
            if in_thanks.get("ask") and cues.get("ask", 0.0) <= 0:
                # "感谢网格员帮我妈申请了高龄津贴": the ask word is the thanks', no question is left.
                questioned = False
        # Seen or heard of ("听说隔壁小区的下水道堵了", "刷到个视频 ..."), or an invitation among
        # neighbours ("有人一起去义诊吗"): no request unless action is asked for (能不能, 管管, 派人,
        # 快来, 帮忙: a strong ask, or a question for the seen/heard case), nor a booking without a
        # strong booking word.
        strong_ask = cues.get("urgent", 0.0) > 0 or any(
            e.kind == "cue" and e.name == "ask" and (e.weight >= 1.5 or h.term in ("帮忙", "帮帮忙"))
            and narration.get(clauses.index(h.start), 0.0) < 1.0 for h in hits for e in h.entries)
        # Merely seen (看到, 0.5) at a place of the estate is a first-hand report.
        secondhand = (cues.get("hearsay", 0.0) >= (1.0 if cues.get("place", 0.0) > 0 else 0.5)
                      and not strong_ask and not questions)
        inviting = cues.get("invite", 0.0) > 0 and not strong_ask and cues.get("book", 0.0) < 1.5
        if secondhand or inviting:
            cues["aside"] = ASIDE_LOWERING
            notes["aside"].append("told second-hand" if secondhand else "an invitation among neighbours")
        # A plan of one's own or a booking already made, told ("我明天去理发", "约了周六上午剪头发 剪完去
        # 喝早茶", "我妈约了律师周五去"), or put off ("等好了再说吧", cue set `defer`, optional): no
        # booking unless a booking word or a question asks for one.
        if (inviting or _PLAN.search(own) or cues.get("existing_booking", 0.0) > 0
                or cues.get("defer", 0.0) > 0) and cues.get(
                "book", 0.0) < 1.5 and not questions and not strong_ask:
            cues["plan"] = 1.0
        request = _request({**cues, "ask": cues.get("ask", 0.0) - told}, topic, fired, whole_done)
        if request:
            notes["request"].append(f"a request to the community ({request})")
        named = frozenset(e.name for h in hits for e in h.entries
                          if e.kind in ("keyword", "object") and e.name in BOOKING_LABELS)
        context = _Context(cues, questioned, anchored | fired, fired, day, part, today, days, bare, hinted, request,
                           named)
        scores = _score(topic, context, settings, notes)
        if notice:
            # However many services, days and parts of day it names, an announcement asks nothing.
            for label in scores:
                if scores[label] > 0:
                    scores[label] = 0.0
                    notes[label].append("an announcement: asks nothing")
        if quote and cues.get("ask", 0.0) < 1 and cues.get("book", 0.0) < 1:
            # "「老孙：菜刀钝了找谁磨」 周六社区有磨刀的 我上回磨过": an answer to a quoted neighbour,
            # asking nothing, books nothing however much it names the service and its day.
            for label in BOOKING_LABELS:
                if scores.get(label, 0.0) > 0:
                    scores[label] = 0.0
                    notes[label].append("an answer under a quote: asks nothing")
        best = max(scores, key=lambda label: scores[label], default=None)
        items = _items(hits + hidden, counted)
        return Analysis(own, quote, hits, dict(cues), dict(topic), scores, dict(notes), day, part,
                        items.get(best) if best else None, bare, today)

    def _objects(self, hits: list[Hit], objects: list[tuple[Hit, str, float]], topic: dict[str, float],
                 notes: dict[str, list[str]]) -> set[str]:
        """Adds objects to their labels' topic; returns the labels whose objects met their need.

        A need word ("坏了", "钝") belongs to the nearest object that can have it: in
        "楼道灯坏了 ... 上楼全靠手机照着" it is the light that is broken.
        """
        if not objects:
            return set()
        needs = {label: rules.object_needs for label, rules in self.rules.labels.items()}
        owned: dict[str, float] = defaultdict(float)
        for hit in hits:
            for entry in hit.entries:
                if entry.kind != "cue":
                    continue
                candidates = [(h, label) for h, label, _ in objects if entry.name in needs.get(label, ())]
                if candidates:
                    _, label = min(candidates, key=lambda c: (_gap(c[0], hit), c[0].start > hit.start))
                    owned[label] += entry.weight
        weights: dict[str, float] = defaultdict(float)
        for _, label, weight in objects:
            weights[label] += weight
        fired: set[str] = set()
        for label, weight in weights.items():
            if owned.get(label, 0.0) > 0:
                need = min(owned[label], 1.5)
                topic[label] += weight + need
                fired.add(label)
                notes[label].append(f"objects +{weight:g} with {'/'.join(needs[label])} +{need:g}")
            elif topic.get(label, 0.0) > 0:
                topic[label] += weight
                notes[label].append(f"objects +{weight:g}")
        return fired

    def _quote_services(self, quote: str, topic: dict[str, float], anchored: set[str],
                        notes: dict[str, list[str]]) -> None:
        """"那我也约一个" under a quoted message about a service: the quote names the service."""
        factor = self.rules.settings.quote_factor
        for hit in self.rules.match(quote, self._is_word):
            for entry in hit.entries:
                if entry.kind == "keyword" and entry.name in BOOKING_LABELS:
                    topic[entry.name] += entry.weight * factor
                    if entry.weight >= ANCHOR:
                        anchored.add(entry.name)
                    notes[entry.name].append(f"{hit.term} (in the quote) +{entry.weight * factor:g}")

    def _is_word(self, text: str, start: int, end: int) -> bool:
        self.warm()
        assert self._segmenter is not None
        return self._segmenter.is_word(text, start, end)


# ---------------------------------------------------------------------------------------------
# Evidence


def _cue_weights(hits: list[Hit], clauses: _Clauses) -> tuple[dict[str, float], dict[int, float], dict[int, float]]:
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
_FAULT_CUES = frozenset({"fault", "blunt"})


def _comparing_notes(hits: list[Hit], clauses: _Clauses, cues: dict[str, float]) -> bool:
    """True for neighbours comparing notes ("你们家暖气热不热 我家还行", "你们谁家停电了吗 我家好好的").

    A `peers` word asks how it is at the others' homes; it is no request unless the community is
    named, something is asked hard (派人, 管管, 来修: an ask word of weight 1.5 or more) or a clause
    without a `peers` word tells of a fault or a problem, or complains ("我家一滴水都没有 咋回事").
    """
    if cues.get("peers", 0.0) <= 0 or cues.get("addressee", 0.0) > 0 or cues.get("urgent", 0.0) > 0:
        return False
    peer_clauses = {clauses.index(h.start) for h in hits
                    if any(e.kind == "cue" and e.name == "peers" for e in h.entries)}
    for hit in hits:
        for entry in hit.entries:
            if entry.kind == "cue" and entry.name == "ask" and entry.weight >= 1.5:
                return False
            if clauses.index(hit.start) in peer_clauses:
                continue
            if entry.kind == "cue" and (entry.name in _FAULT_CUES or entry.name in ("problem", "complaint", "ask")):
                return False
            if entry.kind == "keyword" and entry.name in REPORT_LABELS and entry.weight >= 1.5:
                return False
    return True


def _again_clauses(hits: list[Hit], clauses: _Clauses) -> set[int]:
    """Clauses where something is broken again ("又坏了", "又不转了"): a fault of now."""
    found: set[int] = set()
    for hit in hits:
        if hit.start > 0 and clauses.text[hit.start - 1] == "又" and any(
                e.kind == "cue" and e.name in _FAULT_CUES for e in hit.entries):
            found.add(clauses.index(hit.start))
    return found


def _asks_outside(hits: list[Hit], clauses: _Clauses, done: dict[int, float]) -> bool:
    """True when an `ask` or `book` word stands in a clause that tells of nothing done."""
    return any(e.kind == "cue" and e.name in ("ask", "book") and not done.get(clauses.index(h.start))
               for h in hits for e in h.entries)


def _missed_clauses(hits: list[Hit], clauses: _Clauses) -> set[int]:
    """Clauses telling of a try that failed ("没约上"): cue set `missed`, optional in the rules."""
    return {clauses.index(h.start) for h in hits if any(e.kind == "cue" and e.name == "missed" for e in h.entries)}


def _question_clauses(clauses: _Clauses, cues: dict[str, float], finals: str, hits: list[Hit]) -> set[int]:
    """Clauses that ask (吗, ?, ending in 不/没: 能修不, 还有号没, or A-not-A: 管不管, 发不发);
    each final particle and each A-not-A no ask word covers adds an ask."""
    questions: set[int] = set()
    asked_at = [(h.start, h.end) for h in hits if any(e.kind == "cue" and e.name == "ask" for e in h.entries)]
    for index, words, raw in clauses.pieces():
        if "吗" in raw or "?" in raw:
            questions.add(index)
        if len(words) > 1 and words[-1] in finals:
            cues["ask"] += 1.0
            questions.add(index)
    for m in _A_NOT_A.finditer(clauses.text):
        if not any(s <= m.start() < e for s, e in asked_at):
            cues["ask"] += 1.0
            questions.add(clauses.index(m.start()))
    return questions


def _booking_clauses(hits: list[Hit], clauses: _Clauses) -> set[int]:
    """Clauses holding a strong booking word ("想约", "预约", "想让"): they ask, they do not tell."""
    return {clauses.index(h.start) for h in hits
            if any(e.kind == "cue" and e.name == "book" and e.weight >= 1.5 for e in h.entries)}


def _restore_under_lowering(hits: list[Hit], hidden: list[Hit]) -> list[Hit]:
    """A service's word inside a longer lowering cue still counts: 律师 in "的律师" (narration) is
    a lawyer whether or not the clause tells of a visit; the cue only lowers it."""
    lowering = [h for h in hits
                if h.entries and all(e.kind == "cue" and e.name in LOWERING_CUES for e in h.entries)]
    if not lowering or not hidden:
        return hits
    back = []
    for h in hidden:
        meaning = tuple(e for e in h.entries if e.kind in ("keyword", "object") and e.name in BOOKING_LABELS)
        if meaning and any(c.start <= h.start and h.end <= c.end for c in lowering):
            back.append(Hit(h.term, h.start, h.end, meaning))
    if not back:
        return hits
    return sorted(hits + back, key=lambda h: (h.start, h.start - h.end))


def _with_devices(text: str, hits: list[Hit], shared: bool) -> list[Hit]:
    """Adds household devices no rule word names ("空气炸锅不工作了") as appliance objects, or as
    repair objects where a place of the estate is named ("车库里的排风机坏了")."""
    label = "report:repair" if shared else "booking:appliance_repair"
    taken = [(h.start, h.end) for h in hits if any(e.kind in ("keyword", "object", "mask") for e in h.entries)]
    found = []
    for m in _DEVICE.finditer(text):
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


def _shared_appliances(hits: list[Hit], clauses: _Clauses) -> list[Hit]:
    """A device word right after a place of the estate in its clause, with no home named before it
    there, is a shared fixture: "地下车库的排风扇不转了", "楼道里的灯泡" (report:repair), not
    "我家厨房的排风扇" (an appliance)."""
    places = [(clauses.index(h.start), h.end) for h in hits if any(e.kind == "cue" and e.name == "place"
                                                                   for e in h.entries)]
    if not places:
        return hits
    out = []
    for hit in hits:
        if any(e.kind == "object" and e.name == "booking:appliance_repair" for e in hit.entries) and not any(
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


def _appliance_parts(hits: list[Hit], clauses: _Clauses) -> list[Hit]:
    """A bare part word (灯) after a household appliance in the same clause is the appliance's
    part: its repair-object meaning becomes an appliance object (no place of the estate named)."""
    appliances = [clauses.index(h.start) for h in hits
                  if any(e.kind == "object" and e.name == "booking:appliance_repair" for e in h.entries)]
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


def _hints(hits: list[Hit], counted: Callable[[str, int], float]) -> dict[str, float]:
    """Sums of the labels' hint words (broad classes: 灯, 车, 老人) where they count."""
    hinted: dict[str, float] = defaultdict(float)
    for hit in hits:
        for entry in hit.entries:
            if entry.kind == "hint":
                hinted[entry.name] += entry.weight * counted(entry.name, hit.start)
    return hinted


def _request(cues: dict[str, float], topic: dict[str, float], fired: set[str], whole_done: bool) -> str:
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
    problem = (cues.get("problem", 0.0) > 0 or any(cues.get(n, 0.0) > 0 for n in _FAULT_CUES)
               or any(topic.get(label, 0.0) >= 1.5 for label in REPORT_LABELS) or bool(fired & set(REPORT_LABELS)))
    if asking and (place or problem):
        return "asks about " + ("a place" if place else "a problem")
    if place and (cues.get("problem", 0.0) > 0 or any(cues.get(n, 0.0) > 0 for n in _FAULT_CUES)):
        return "tells of a problem at a place"
    return ""


def _topics(hits: list[Hit], counted: Callable[[str, int], float], notes: dict[str, list[str]]
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


def _items(hits: list[Hit], counted: Callable[[str, int], float]) -> dict[str, str]:
    """Per label, the first object it names that counts, even inside a longer keyword ("菜刀钝")."""
    items: dict[str, str] = {}
    for hit in sorted(hits, key=lambda h: h.start):
        for entry in hit.entries:
            if entry.kind == "object" and counted(entry.name, hit.start) > 0:
                items.setdefault(entry.name, hit.term)
    return items


def _bare(text: str, hits: list[Hit], days: list[DayMention], part_span: tuple[int, int] | None) -> bool:
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


def _gap(a: Hit, b: Hit) -> int:
    """Characters between two hits (0 when they touch or overlap)."""
    return max(0, b.start - a.end, a.start - b.end)


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class _Context:
    """What besides the topic words decides the scores."""

    cues: dict[str, float]
    questioned: bool
    anchored: set[str]
    fired: set[str]  # labels whose objects met their need ("热水壶" + "坏了")
    day: DayMention | None
    part: Part | None
    today: dt.date
    days: list[DayMention]
    bare: bool
    hints: dict[str, float] = field(default_factory=dict)
    request: str = ""
    named: frozenset[str] = frozenset()  # booking labels whose words appear, counted or not


def _score(topic: dict[str, float], c: _Context, s: Settings, notes: dict[str, list[str]]) -> dict[str, float]:
    """Every label's score; a label missing here has no evidence at all."""
    scores: dict[str, float] = {}

    def put(label: str, value: float, why: str) -> None:
        scores[label] = round(value, 3)
        notes.setdefault(label, []).append(why)

    ask = min(c.cues.get("ask", 0.0), s.ask_cap)
    book = min(c.cues.get("book", 0.0), s.book_cap)
    broadcast = c.cues.get("broadcast", 0.0)
    existing = c.cues.get("existing_booking", 0.0)
    services = [b for b in BOOKING_LABELS if topic.get(b, 0.0) > 0]
    coming_day = c.day is not None and (c.day.date > c.today or c.part is not None)
    # Thanking and asking nothing ("谢谢小张 电风扇修好了", "给大家添麻烦了 多担待").
    thanked = c.cues.get("thanks", 0.0) > 0 and ask < 1
    listing = len(services) >= 2 and book < 1
    # Cancelling or asking about a booking outweighs the booking words it mentions.
    other_booking = 1.5 * topic.get("cancel_booking", 0.0) + topic.get("query:my_bookings", 0.0)
    for label in services:
        asked = book >= 1 or ask >= 1 or label in c.fired or coming_day or c.bare
        hinted_ask = coming_day and (ask >= 1 or book >= 1) and topic[label] >= ANCHOR + 0.5
        if label not in c.anchored and not (book >= 1.5 and topic[label] >= ANCHOR) and not hinted_ask:
            # (Hints worth more than a service word, with a day to come and an ask, will do:
            # "头发乱糟糟的 周六上午能给他拾掇拾掇不".)
            # Hints alone (医生, 血压) only book with an explicit booking word: "想找医生量一量 怎么预约".
            put(label, 0.0, "no service word of its own, only hints")
        elif not asked or listing:
            put(label, 0.0, "no ask" if not asked else "several services, no booking word: an announcement")
        elif c.cues.get("plan", 0.0) > 0 or c.cues.get("aside", 0.0) > 0 and book < 1.5:
            put(label, 0.0, "a plan, a booking already made or an invitation, told: nothing asked")
        elif thanked and book < 1.5 and not coming_day:
            # "感谢社区志愿者 上门给我妈理发 老人家开心得很": thanks for a service had, nothing asked.
            put(label, 0.0, "thanks for a service, nothing asked")
        else:
            value = topic[label] + book + ask + (s.date_bonus if coming_day else 0.0)
            value += s.part_bonus if c.part is not None else 0.0
            value -= 1.5 * existing + other_booking + c.cues.get("asking_group", 0.0) + broadcast
            put(label, value, f"book +{book:g} ask +{ask:g} day {c.day.date if c.day else '-'} part {c.part or '-'}"
                f" existing -{1.5 * existing:g} cancel/my-bookings -{other_booking:g}")

    if topic.get("cancel_booking", 0.0) > 0:
        # A service named even in a story ("热水壶自己好了 维修那个就不用来了") is what is cancelled.
        # So is one of a day to come that the sender asks to be let off ("明天的维修去不了 帮我退了").
        refers = (bool(services) or bool(c.named) or book > 0 or existing > 0
                  or topic.get("query:my_bookings", 0.0) > 0
                  or (coming_day and ask >= 1 and topic["cancel_booking"] >= 2.5))
        if refers:
            put("cancel_booking", topic["cancel_booking"] + 1.0 + 0.5 * existing - broadcast, "refers to a booking +1")
        else:
            put("cancel_booking", 0.0, "nothing booked to cancel")

    if topic.get("query:my_bookings", 0.0) > 0:
        put("query:my_bookings", topic["query:my_bookings"] + 0.5 * ask + existing
            - topic.get("cancel_booking", 0.0) - broadcast, "asks about own bookings")

    if c.days:
        # What is on at the community on a day: "今天有啥活动", "明天社区有什么活动", "周四干啥".
        # The bot answers from the weekly themes, so any day to come will do; a day gone by is
        # no question for it ("昨天活动拍的照片").
        base = topic.get("query:today_activity", 0.0)
        best_service = max((topic[b] for b in services), default=0.0)
        if best_service > 0 and ask > 0 and any(d.date == c.today for d in c.days):
            base += min(best_service, 1.5)  # "今天有磨刀吗"
        elif listing and ask > 0:
            base += min(best_service, 2.0)  # "明天是理发还是义诊啊": which service is on
        if base > 0 and c.bare:
            base += s.bare_bonus  # nothing but a day and "干啥": "周四干啥"
        if base > 0 and (c.questioned or base >= s.threshold):
            put("query:today_activity", base + ask - broadcast, f"day {c.days[0].date}, ask +{ask:g}")

    if topic.get("inquiry:policy", 0.0) > 0:
        if c.questioned:
            put("inquiry:policy", topic["inquiry:policy"] + ask - broadcast, f"ask +{ask:g} broadcast -{broadcast:g}")
        else:
            put("inquiry:policy", 0.0, "no question")

    humor = c.cues.get("humor", 0.0)
    neighbourly = 0.0 if c.cues.get("addressee", 0.0) > 0 else c.cues.get("neighbourly", 0.0)
    lift = min(ask + min(c.cues.get("complaint", 0.0), s.complaint_cap), s.ask_cap)
    # A broken household device or a blunt knife asked about is what the message wants done, even
    # for someone who cannot get about ("洗衣机坏了 ... 能上门看看吗 我腿脚不好"): a request on behalf
    # of someone has the label of what is asked.
    item_fired = 1.0 if c.fired & set(ITEM_LABELS) and (ask >= 1 or book >= 1) else 0.0
    # A service named and booked outright ("... 被骗签了理财合同 帮他约个法律咨询"): the trouble told is
    # why it is booked, so the report labels give way a little.
    booked = BOOKED_LOWERING if book >= 1.5 and any(b in c.anchored and scores.get(b, 0.0) > 0
                                                    for b in BOOKING_LABELS) else 0.0
    for label in REPORT_LABELS:
        if topic.get(label, 0.0) > 0:
            lower = (item_fired if label == "report:elderly_care" else 0.0) + booked
            if thanked and not c.request:
                lower += THANKS_LOWERING
            value = topic[label] + lift
            if c.cues.get("aside", 0.0) > 0:
                # Told second-hand or an invitation: half its weight, and lowered.
                value = value / 2 - c.cues["aside"]
            put(label, value - broadcast - humor - neighbourly - lower,
                f"ask+complaint +{lift:g} broadcast -{broadcast:g} humor -{humor:g} neighbourly -{neighbourly:g}")
    if c.request and max(scores.values(), default=0.0) < s.threshold:
        # A request to the community that no label is sure of: it is a report of some kind, not
        # chit-chat; the labels it has some evidence for (a keyword, or hints worth 1) are lifted,
        # each by its hints (broad word classes: 灯 -> repair, 车 -> parking, 老太 -> elderly care).
        for label in REPORT_LABELS:
            hint = min(c.hints.get(label, 0.0), s.hint_cap)
            if topic.get(label, 0.0) + hint >= 1.0:
                base = scores.get(label, lift - broadcast - humor - neighbourly)
                put(label, base + s.request_lift + hint, f"request +{s.request_lift:g} hints +{hint:g}")
    return scores


def _summarize(analysis: Analysis, s: Settings) -> Understanding:
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
        confidence=_confidence(label, ranked, s.threshold),
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


def _confidence(label: str, ranked: list[tuple[str, float]], threshold: float) -> float:
    """Softmax of the scores with chit-chat standing at the threshold: 0..1, 3 decimals."""
    values = [v for _, v in ranked] + [threshold]
    top = max(values)
    total = sum(math.exp(v - top) for v in values)
    chosen = threshold if label == CHITCHAT else dict(ranked)[label]
    return round(math.exp(chosen - top) / total, 3)


def _spans(text: str, term: str) -> list[tuple[int, int]]:
    """Where `term` occurs in `text`, without overlaps (what re.finditer of the escaped term gives)."""
    spans = []
    at = text.find(term)
    while at >= 0:
        spans.append((at, at + len(term)))
        at = text.find(term, at + len(term))
    return spans
