"""Each label's score from the evidence of one message (the keyword rules' own reading)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nlp.dates import DayMention
from nlp.evidence import ANCHOR, BOOKING_LABELS, ITEM_LABELS, REPORT_LABELS
from nlp.rules import Settings
from nlp.understanding import Part

# How much thanks with no ask lowers a report label ("各位邻居 我家装修最后一周了 给大家添麻烦了").
THANKS_LOWERING = 1.0
# How much a booking word with a service of its own lowers the report labels.
BOOKED_LOWERING = 1.0


@dataclass(frozen=True)
class Context:
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


def score_labels(topic: dict[str, float], c: Context, s: Settings, notes: dict[str, list[str]]) -> dict[str, float]:
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
