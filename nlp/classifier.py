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

import datetime as dt
import logging
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

from nlp import segment
from nlp.chains import last_entry
from nlp.dates import booking_day, find_days, local_now
from nlp.day_parts import find_part, part_from
from nlp.decide import Decision, decide, understanding
from nlp.evidence import (
    ANCHOR,
    BOOKING_LABELS,
    BOOKING_NAMES,
    CHITCHAT,
    FAULT_CUES,
    NUMBERED_PLACE,
    Analysis,
    Clauses,
    again_clauses,
    appliance_parts,
    asks_outside,
    booking_clauses,
    comparing_notes,
    cue_weights,
    gap,
    hint_sums,
    is_bare,
    items_named,
    missed_clauses,
    question_clauses,
    request_kind,
    restore_under_lowering,
    shared_appliances,
    spans,
    topic_sums,
    with_devices,
)
from nlp.features import DecisionSettings
from nlp.model import LearnedModel, ModelSources, load_or_train
from nlp.normalize import BOT_NAMES, MOBILE, READ_CHARS, normalize_parts, replies_to
from nlp.quotes import (
    AGREE_MAX_CHARS,
    agrees,
    answers_the_bot,
    books_the_quoted,
    opens_agreeing,
    picked_part,
    quote_day,
    quoted_service,
)
from nlp.rules import DEFAULT_RULES_PATH, DEFAULT_USERDICT_PATH, Hit, Rules, load_rules
from nlp.scoring import Context, score_labels
from nlp.understanding import Understanding

log = logging.getLogger("linli.nlp")

# Readings kept per process (a few MB at most) and the longest text kept: long texts seldom repeat.
MEMO_SIZE = 4096
MEMO_MAX_CHARS = 120
# "1. 张 2箱 2. 王姐 1箱": a numbered sign-up list (接龙) even without the word.
_NUMBERED_LIST = re.compile(r"(?:^|\s)1[.、]\s*\S.*?\s2[.、]\s*\S")
# The sender speaking for themselves ("我想约", "给俺留一个", "咱家"): no announcement. "我社区",
# "我街道" are an office speaking of itself.
_FIRST_PERSON = re.compile(r"[我俺](?!社区|街道|单位|中心|站|局|市|区|院|所)|咱家|咱们家")
# A plan of the sender's own or their family's, told not asked ("我明天去理发", "我爸明天去量血压",
# "明天我陪我妈去剪头发", "到时候我去义诊那量个血压"): no booking without a booking word or a question.
# "我想去" is an ask (想 is not in the run); "我去不了" is a cancellation, "我去哪约" a question.
_PLAN = re.compile(  # (?=[我俺]) lets the regex engine skip other places fast (nlp/dates.py)
    r"(?=[我俺])(?<![想带帮给让叫])[我俺](?:妈|爸|老伴|婆婆|公公|奶奶|爷爷|家老爷子|家老太太)?"
    r"(?:明天|后天|今天|今晚|下午|上午|早上|明早|周[一二三四五六日天末]|到时候?|待会儿?|一会儿?)?"
    r"(?:要|就|也|得|会|准备|打算|自己)?(?:陪[^\s，。,！!？?]{0,4}?)?去(?!年|世|不了|不成|哪|不去)")
# How much a message told second-hand, or an invitation among neighbours, lowers the report labels
# (after halving their evidence: "刷到个视频 有人在楼道里给电动车充电着火了" is no report).
ASIDE_LOWERING = 1.5
# Weight of broadcast marks an announcement (which also takes every score to 0) or an advert
# with a phone number adds.
NOTICE_BROADCAST = 6.0
PHONE_BROADCAST = 2.0


@dataclass(frozen=True)
class Words:
    """What the rules find in a message before scoring it (`Classifier.words`)."""

    text: str  # the normalized text the rules read (the first READ_CHARS; the quote first when agreed)
    quote: str  # a quoted message replied to, normalized ("" when none)
    rest: str  # the normalized text past READ_CHARS, searched only for an emergency
    agreed: bool  # the reply takes up the quote ("同问", "不对 我要下午" to the bot): read with it
    hits: list[Hit]
    hidden: list[Hit]  # words a mask or a longer word hid (an ask word inside "谁能想到")
    place: bool  # a numbered place (3号楼, 502室)
    clauses: Clauses | None  # None when there is no text
    lead: int = 0  # characters of the quote read before the reply (all of it, or the bot's service)


class Classifier:
    """Reads resident messages with the keyword rules and the learned model; build one per process
    (or per test).

    `model`: the learned model (nlp/model.py), or `ModelSources` to load (or train) it on first use,
    or None to read with the rules alone.
    """

    def __init__(self, rules: Rules, userdict: Path | None = DEFAULT_USERDICT_PATH, warm: bool = True,
                 memo_size: int = MEMO_SIZE, model: LearnedModel | ModelSources | None = None) -> None:
        self.rules = rules
        self.userdict = userdict
        self._segmenter: segment.Segmenter | None = None
        self._model: LearnedModel | None = model if isinstance(model, LearnedModel) else None
        self._model_sources = model if isinstance(model, ModelSources) else None
        # Group chats repeat themselves ("收到", "好的", "谢谢", "+1", "今天有什么活动"): a reading
        # depends only on the text and the local day (dates are relative to today), so the last
        # readings are kept, keyed by both. Understanding is frozen; nothing changes a kept one.
        self._memo: OrderedDict[tuple[str, dt.date], Understanding] = OrderedDict()
        self._memo_size = memo_size
        if warm:
            self.warm()

    def warm(self) -> None:
        """Loads jieba and the learned model now rather than on the first message that needs them."""
        if self._segmenter is None:
            self._segmenter = segment.segmenter(self.rules.token_chars, self.userdict)
        if self._model_sources is not None:
            sources, self._model_sources = self._model_sources, None  # tried once: a failure is logged
            self._model = load_or_train(sources)

    @property
    def model(self) -> LearnedModel | None:
        """The learned model (loaded or trained on first use), or None: the rules read alone."""
        self.warm()
        return self._model

    def use_model(self, model: LearnedModel) -> None:
        """Serves `model` from now on (a model retrained with staff corrections, bot/relearn.py).

        Both assignments happen between two messages (the caller runs on the event loop, as
        `understand` does): no message is read half by the old model and half by the new one, and
        no reading of the old model is served from the memo afterwards.
        """
        self._model_sources = None
        self._model = model
        self._memo = OrderedDict()

    @classmethod
    def from_config(cls, path: Path | str | None = None, userdict: Path | str | None = None,
                    warm: bool = True, learned: bool = True) -> Classifier:
        """A classifier over the rules file at `path` (default config/nlp/keywords.yaml) and, unless
        `learned` is False, the model trained from nlp/corpus/ (which does not depend on the rules)."""
        rules_path = Path(path) if path is not None else DEFAULT_RULES_PATH
        userdict_path = Path(userdict) if userdict is not None else DEFAULT_USERDICT_PATH
        sources = ModelSources() if learned else None
        return cls(load_rules(rules_path), userdict_path, warm, model=sources)

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
            analysis = self.analyze(text, now)
            return understanding(analysis, self.decide(analysis))
        except Exception:  # a message must never take the bot down; log it and move on
            log.exception("could not read a message; treating it as chit-chat")
            return Understanding(label=CHITCHAT, confidence=0.0, extras={"error": "unreadable"})

    def decide(self, analysis: Analysis) -> Decision:
        """The label of an analysed message: the learned model and the rules (nlp/decide.py)."""
        model = self.model
        if model is None or not analysis.text:
            return decide(analysis, None, self.rules.settings, DecisionSettings())
        return decide(analysis, model.probabilities(analysis.text, analysis.hits), self.rules.settings,
                      model.settings.decision)

    def words(self, text: str) -> Words:
        """The text the rules read and the words they find in it, before any scoring: what
        training reads of a message (nlp/train.py) and where `analyze` starts. May raise on bad input."""
        quote, whole = normalize_parts(text) if isinstance(text, str) else ("", "")
        agreed, lead = False, ""
        if quote and len(whole) <= AGREE_MAX_CHARS:
            reply_hits = self.rules.match(whole, self._is_word)
            # "同问" under a question: the sender asks it again; "帮我也约一个" under a service: that
            # service (nlp/quotes.py). The reply's own day still comes first (`own_from` in analyze).
            quote_hits = self.rules.match(quote, self._is_word)
            agreed = agrees(whole, reply_hits) or opens_agreeing(whole, reply_hits) or books_the_quoted(
                whole, reply_hits, quote_hits)
            if agreed:
                lead = f"{quote} "
            elif replies_to(text) in BOT_NAMES and answers_the_bot(whole, reply_hits, quote_hits):
                # Of the bot's words only the service's name is read with the reply: its "您已预约",
                # "提醒" and "名额已满" are the bot's, not what the resident asks (nlp/quotes.py).
                agreed, lead = True, f"{quoted_service(quote_hits)} "
        if agreed:
            whole = lead + whole
        # The rules read the first READ_CHARS; the rest of a long message is only searched for
        # an emergency ("... 对了 楼道里一股燃气味" at the end of a long story).
        own, rest = whole[:READ_CHARS], whole[READ_CHARS:]
        if not own:
            return Words(own, quote, rest, agreed, [], [], False, None, len(lead))
        hidden: list[Hit] = []
        hits = self.rules.match(own, self._is_word, hidden)
        hits = restore_under_lowering(hits, hidden)
        place = bool(NUMBERED_PLACE.search(own))
        hits = with_devices(own, hits, place or any(
            e.kind == "cue" and e.name == "place" for h in hits for e in h.entries))
        clauses = Clauses.of(own)
        if not place:
            hits = appliance_parts(hits, clauses)
        hits = shared_appliances(hits, clauses)
        return Words(own, quote, rest, agreed, hits, hidden, place, clauses, len(lead))

    def analyze(self, text: str, now: dt.datetime) -> Analysis:
        """The full scoring of one message (what `understand` summarizes); may raise on bad input."""
        words = self.words(text)
        own, quote, rest, agreed, hits, hidden, place = (
            words.text, words.quote, words.rest, words.agreed, words.hits, words.hidden, words.place)
        own_from = words.lead
        alarms = self._alarms(rest) if rest else ()
        if words.clauses is None:
            return Analysis(own, quote, [], {}, {}, {})
        clauses = words.clauses
        settings = self.rules.settings
        cues, narration, done = cue_weights(hits, clauses)
        if place:
            cues["place"] += 1.0
        questions = question_clauses(clauses, cues, settings.question_finals, hits)
        for index in booking_clauses(hits, clauses):
            # "想让义诊的大夫给瞧瞧": a clause asking for the service tells of no visit.
            narration.pop(index, None)
        for index in questions:
            # "今天下午剪头发还排队吗" asks about the queue; a question does not tell of a past visit.
            narration.pop(index, None)
        now = local_now(now)
        today = now.date()
        days = find_days(own, now)
        for index in again_clauses(hits, clauses) | missed_clauses(hits, clauses):
            # "上回修好的水壶又坏了": the fault is now, whatever was done before; "上回的理发没约上":
            # no service was had.
            narration.pop(index, None)
        if cues.get("done", 0.0) > 0 and not asks_outside(hits, clauses, done):
            # "昨天电梯坏了 今天已经修好了": nothing asked, something fixed: the whole message is news.
            # An ask word in the clause that tells of it is part of the story ("谢谢小王 帮我妈把
            # 医保的事办好了").
            # A clause calling off a booking is no news though ("我约的法律咨询不用了 事情解决了").
            calling_off = {clauses.index(h.start) for h in hits if not done.get(clauses.index(h.start))
                           and ("keyword", "cancel_booking") in h.names}
            for index in range(len(clauses.starts)):
                if index not in calling_off:
                    done[index] = max(done[index], min(1.0, cues["done"]))
        if _NUMBERED_LIST.search(own):
            cues["broadcast"] += 2.0
        if MOBILE.search(own) and not _FIRST_PERSON.search(own) and not any(
                cues.get(name, 0.0) > 0 for name in (*FAULT_CUES, "problem")):
            # An advert's number ("专业疏通 ... 电话138..."); a resident who leaves their number with
            # a problem ("楼道灯坏了好几天了 我电话139...") is still asking.
            cues["broadcast"] += PHONE_BROADCAST
        notice = cues.get("notice", 0.0) >= settings.notice_level and not _FIRST_PERSON.search(own)
        if notice:
            # "【通知】本周六上午社区开展义诊活动，欢迎居民参加": the community's own voice, news to all.
            cues["broadcast"] += NOTICE_BROADCAST
        if comparing_notes(hits, clauses, cues):
            # "你们家暖气热不热 我家还行": a question to the neighbours, no request.
            cues["neighbourly"] += 2.0
        # A question word inside a longer keyword ("怎么" in "怎么办理") still makes a question,
        # though it adds no weight of its own.
        # Not one a mask hides, though ("谁能想到" is a figure of speech, its 谁/能 ask nothing).
        questioned = cues.get("ask", 0.0) > 0
        hidden_asks = [] if questioned else [h for h in hidden
                                             if ("cue", "ask") in h.names]
        if hidden_asks:  # rare: the masks are looked for only then (a pass per mask cost ≈ 40 µs a message)
            masked = [span for term in self.rules.masks if term in own for span in spans(own, term)]
            questioned = any(not any(s <= h.start and h.end <= t for s, t in masked) for h in hidden_asks)

        def counted(label: str, pos: int) -> float:
            """The share of a word that counts where it stands (none in "修好了" or "昨天理发的...")."""
            index = clauses.index(pos)
            return max(0.0, 1.0 - done[index] - (narration[index] if label in BOOKING_LABELS else 0.0))

        notes: dict[str, list[str]] = defaultdict(list)
        topic, anchored, objects = topic_sums(hits, counted, notes)
        hinted = hint_sums(hits, counted)
        fired = self._objects(hits, objects, topic, notes)
        if quote and cues.get("book", 0.0) >= 1 and not any(topic.get(b, 0.0) > 0 for b in BOOKING_LABELS):
            self._quote_services(quote, topic, anchored, notes)

        anchors = [h.start for h in hits if not h.names.isdisjoint(BOOKING_NAMES)]
        # A story may name several days ("今天…下周六上午能不能给她约一个"): the booking's is the one
        # nearest the words naming the service or booking it.
        day = booking_day([d for d in days if d.start >= own_from] or days,
                          anchors + [h.start for h in hits if ("cue", "book") in h.names], own)
        part, part_span = find_part(own, day, anchors)
        if own_from:
            # A reply read with the quote it takes up: its own part of day comes first, as its day
            # does ("能不能推到下午" under "明天上午9点…"), or the session it picks ("第二场").
            mine = part_from(own, own_from)
            picked = picked_part(quote, own[own_from:]) if mine is None else None
            if mine is not None:
                part, part_span = mine
            elif picked is not None:
                # Picking one of the sessions the bot offered books it: the ask is the bot's question.
                part = picked
                cues["book"] = max(cues.get("book", 0.0), 1.0)
        entry = last_entry(own)
        if entry is not None:
            # A sign-up chain pasted back (nlp/chains.py): the last entry is the sender's, and its own
            # day and part of day are the booking's.
            day = booking_day([d for d in days if d.start >= entry], anchors) or day
            part, part_span = part_from(own, entry) or (part, part_span)
        bare = is_bare(own, hits, days, part_span)
        whole_done = cues.get("done", 0.0) > 0 and all(done.get(i, 0.0) >= 1.0 for i in range(len(clauses.starts)))
        # Asks told inside a story ("昨天那个修电视的大爷真热心 还帮我调了台") ask nothing now.
        # Asks and booking words in a clause a thanks opens ("谢谢小刘上门帮我婆婆量血压") tell what
        # was done, too: they count neither for a request nor for a label.
        thanked_at = {clauses.index(h.start): h.start for h in reversed(hits)
                      if ("cue", "thanks") in h.names}
        in_thanks = defaultdict(float)
        for h in hits if thanked_at else ():
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
        heard = cues.get("hearsay", 0.0) >= (1.0 if cues.get("place", 0.0) > 0 else 0.5)
        # Somewhere else (老家, 公司, 酒店: cue set `elsewhere`) and at no numbered place of the estate:
        # another place's trouble is news, as what was seen or heard of is.
        away = cues.get("elsewhere", 0.0) >= 1.0 and not place
        secondhand = (heard or away) and not strong_ask and not questions
        inviting = cues.get("invite", 0.0) > 0 and not strong_ask and cues.get("book", 0.0) < 1.5
        if secondhand or inviting:
            cues["aside"] = ASIDE_LOWERING
            notes["aside"].append(("told second-hand" if heard else "somewhere else") if secondhand
                                  else "an invitation among neighbours")
        # A plan of one's own or a booking already made, told ("我明天去理发", "约了周六上午剪头发 剪完去
        # 喝早茶", "我妈约了律师周五去"), or put off ("等好了再说吧", cue set `defer`, optional): no
        # booking unless a booking word or a question asks for one.
        if (inviting or _PLAN.search(own) or cues.get("existing_booking", 0.0) > 0
                or cues.get("defer", 0.0) > 0) and cues.get(
                "book", 0.0) < 1.5 and not questions and not strong_ask:
            cues["plan"] = 1.0
        request = request_kind({**cues, "ask": cues.get("ask", 0.0) - told}, topic, fired, whole_done)
        if request:
            notes["request"].append(f"a request to the community ({request})")
        named = frozenset(e.name for h in hits for e in h.entries
                          if e.kind in ("keyword", "object") and e.name in BOOKING_LABELS)
        context = Context(cues, questioned, anchored | fired, fired, day, part, today, days, bare, hinted, request,
                           named)
        scores = score_labels(topic, context, settings, notes)
        if notice:
            # However many services, days and parts of day it names, an announcement asks nothing.
            for label in scores:
                if scores[label] > 0:
                    scores[label] = 0.0
                    notes[label].append("an announcement: asks nothing")
        if quote and not agreed and cues.get("ask", 0.0) < 1 and cues.get("book", 0.0) < 1:
            # "「老孙：菜刀钝了找谁磨」 周六社区有磨刀的 我上回磨过": an answer to a quoted neighbour,
            # asking nothing, books nothing however much it names the service and its day.
            for label in BOOKING_LABELS:
                if scores.get(label, 0.0) > 0:
                    scores[label] = 0.0
                    notes[label].append("an answer under a quote: asks nothing")
        best = max(scores, key=lambda label: scores[label], default=None)
        items = items_named(hits + hidden, counted)
        if quote and day is None and own_from < len(quote):
            # "我也约一个" under "本周六上午义诊…": the booking is for the quote's day (nlp/quotes.py).
            quoted_day, quoted_part = quote_day(quote, now)
            if quoted_day is not None:
                day, part = quoted_day, part or quoted_part
        return Analysis(own, quote, hits, dict(cues), dict(topic), scores, dict(notes), day, part,
                        items.get(best) if best else None, bare, today, items, rest, alarms, request)

    def _alarms(self, text: str) -> tuple[str, ...]:
        """The emergency words in `text`: `urgent` cue words, and report:safety keywords of at least
        `settings.emergency_weight` (燃气味, 起火). A plain scan: no context lowers them here."""
        level = self.rules.settings.emergency_weight
        return tuple(dict.fromkeys(
            hit.term for hit in self.rules.match(text) for e in hit.entries
            if (e.kind == "cue" and e.name == "urgent") or (
                e.kind == "keyword" and e.name == "report:safety" and e.weight >= level)))

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
                    _, label = min(candidates, key=lambda c: (gap(c[0], hit), c[0].start > hit.start))
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
