"""Fresh messages written (and labelled by LABELS.md) after the dev set was tuned on, as a floor.

Since session 5 these files live in nlp/corpus/ under names that say what they hold (round 2 is
everyday_mix_a.jsonl, round 9 hearsay_plans_invitations.jsonl, ...: nlp/corpus/README.md has the
table), and the learned model is trained on all of them. So their scores here are inflated twice
over (the rules were tuned on them, the model trained on them): these floors only catch a change
that breaks what already worked. The honest figures are the untouched scores below and in
nlp/corpus/README.md, and cross-validation (tests/nlp/test_crossval.py, `linli eval --cv 5`).

fresh_round2.jsonl (168) was written and scored before the second round of rule changes, and
fresh_round2b.jsonl (97) and fresh_round2c.jsonl (68) each after a round of them, untouched at
first: their first scores are the honest estimate of accuracy on new messages (87.5%, 88.7%,
86.8%). They were tuned on afterwards, so they are now a regression floor, not an estimate:
the floors sit a little below what the rules reach, so a change that loses ground fails here.

fresh_round3.jsonl (189, 40% chit-chat, requests mostly in words the rules did not know) scored
73.0% untouched before the third round (the "request to the community" detector, hint words,
A-not-A questions, unnamed household devices); fresh_round3b.jsonl (96), written after that
round and scored untouched, 85.4% (79.2% with the rules before the round). Both were then tuned on.

fresh_round4.jsonl (149, 48% chit-chat: community notices naming a service and a day, neighbours
comparing notes, follow-ups on unfixed faults, quoted replies, adverts) scored 87.9% untouched
before the fourth round, chit-chat taken as a request 20.8% (15/72); fresh_round4b.jsonl (70), written
after that round and scored untouched, 91.4% (90.0% with the rules before the round), chit-chat taken
as a request 8.8% (3/34). Both were then tuned on.

fresh_round5.jsonl (201, dev.jsonl's style and mix: 29% chit-chat, ten of each booking and report
label, a quarter of bookings naming a day and part, Traditional, quoted replies, 接龙, long
voice-to-text) scored 92.0% untouched before the fifth round, chit-chat taken as a request 8.5%
(5/59), request taken as chit-chat 3.5% (5/142), date+part 100%; fresh_round5b.jsonl (100), written
after that round and scored untouched, 89.0% (the same with the rules before the round), request
taken as chit-chat 8.6% (6/70), date+part 92.0% (23/25). Both were then tuned on.

fresh_round6.jsonl (200, 30% chit-chat, written in residents' personas: an old voice-typist with
dialect words 俺/咋整/中不中/嘎哈/侬/要得/巴适, a young parent's abbreviations, a migrant worker's
工钱/包工头/押金, a retired cadre's 烦请/恳请/予以, Traditional, quoted replies, requests on behalf)
scored 93.5% untouched before the sixth round, chit-chat taken as a request 8.3% (5/60), request
taken as chit-chat 5.7% (8/140), date+part 98.0% (49/50); fresh_round6b.jsonl (100), written after
that round and scored untouched, 90.0% (90.0% with the rules before the round), chit-chat taken as a
request 6.7% (2/30), request taken as chit-chat 11.4% (8/70), date+part 92.0% (23/25). Both were then
tuned on.

fresh_round7.jsonl (160, 26% chit-chat, on the boundaries between labels: shared facility vs in-home
appliance (home plumbing, wiring and power are repair; anything plugged in is an appliance), safety
vs parking/repair, dispute vs sanitation, elderly care vs policy, legal aid vs dispute, clinic vs
elderly care, cancel vs my-bookings; every date form with variants and traps; chit-chat with the
risky words 拖走/拿药/节目/有课/陌生人/理论) scored 95.6% untouched before the seventh round,
chit-chat taken as a request 4.9% (2/41), request taken as chit-chat 1.7% (2/119), date+part 98.2%
(55/56); fresh_round7b.jsonl (80), written after that round and scored untouched, 93.8% (the same
with the rules before the round), chit-chat taken as a request 10.0% (2/20), request taken as
chit-chat 1.7% (1/60), date+part 96.0% (24/25). Both were then tuned on. Decisions taken there:
下下周X is two calendar weeks on, 明后天 / 元旦 / lunar dates (十二月初三) name no day, 午后 is pm,
中午 / 早点 / 晚点儿 name no part.

fresh_round8.jsonl (210: 150 chit-chat naming services, facilities and policies but asking nothing
-- thanks, notices, adverts with phone numbers, 接龙, stories told after the fact, quoted replies,
questions to the neighbours, sales, lost-and-found -- and 60 requests in the same everyday words as a
recall guard) scored 90.0% untouched before the eighth round, chit-chat taken as a request 14.0%
(21/150), request taken as chit-chat 0.0% (0/60), date+part 100% (22/22). Then tuned on (settled
or in-hand faults as `done`, relayed group news and repair-shop adverts as broadcast, asks inside a
thanks clause told, not asked).

fresh_round9.jsonl (60: 40 chit-chat -- things seen or heard second-hand (听说/看到/刷到/新闻里),
first-person plans and bookings already made (我明天去理发, 约了周六上午剪头发), invitations among
neighbours (有人一起去义诊吗), 谁能想到 -- and 20 requests in the same words: 看见...快派人来, 我想约,
帮我约, 我约了啥) scored 71.7% untouched before the ninth round, chit-chat taken as a request 42.5%
(17/40), request taken as chit-chat 0.0% (0/20). Then tuned on (cue sets `hearsay` and `invite`,
first-person plans, masked ask words ask nothing).

fresh_round10.jsonl (200, dev.jsonl's mix: 29% chit-chat, ten of each booking and report label, 13
policy questions, a quarter of bookings without a day; vocabulary chosen to differ from dev.jsonl:
appliance brands (美的/格力/苏泊尔), 剃头/戗菜刀/园艺剪, 新农合/廉租房/退役军人/残疾证/生育津贴/创业担保
贷款, pests (蚂蚁/蛾子/耗子/臭虫), noise (麻将/钢琴/鹦鹉), stalls on the road, Sichuan/Shanghai/
Cantonese words, Traditional in 8%) scored 93.0% untouched before the tenth round, chit-chat taken as
a request 10.3% (6/58), request taken as chit-chat 4.9% (7/142), date+part 98.0% (49/50). Then tuned
on (whole word families: tests with a qualifier 空腹血糖, smoke, stalls and cars that cannot get
through, car makes as parking hints, instruments and singing as noise, lectures as events,
cue set `defer` for putting it off, blame told with 是…弄坏的, money received as done, an ask word
inside a thanks clause asks no question, lowering cue words do not make a message bare, northern
parts of day 后晌/头午). fresh_round10b.jsonl (80, the same mix, written after that round and scored
untouched) scored 93.8% (75/80; the same with the rules before the round), chit-chat taken as a
request 0.0% (0/23), request taken as chit-chat 5.3% (3/57), date+part 100% (20/20). Then tuned on
(bookings made before referred to, "是哪天" asks, receiving a notice is no notice, a service booked
outright lowers the report labels a little). Left as a judgement call: a loose billboard over the
gate (r10b_031) read as a repair, labelled safety; a message counting fans worn out last summer
(r10_199) read as an appliance repair.

fresh_round11.jsonl (160, dev.jsonl's mix: 29% chit-chat, eight of each booking and report label,
10 policy questions, a quarter of bookings without a day; written as a careful annotator about a
residential estate in winter: 暖气/地暖, frozen pipes, ice and snow, fireworks, 年货, cleaning before
the Spring Festival, flu and vaccines, old people falling, parcel lockers, charging piles, 物业费,
garbage sorting, pets, delivery e-bikes, school runs; indirect requests (complaints, questions to
the group, a neighbour's problem forwarded), the request in the last sentence, and chit-chat naming
all of these) scored 96.9% untouched before the eleventh round (155/160), chit-chat taken as a
request 6.4% (3/47), request taken as chit-chat 1.8% (2/113), date+part 100% (40/40). Then tuned
on (word families: a relayed outage notice 贴了通知/存点水, sympathy 真不容易 as thanks, garbage
sorting as a programme and a code scan that fails as masks, 地暖 and frozen pipes 冻住/冻上了,
fireworks 烟花/炮仗 and ice 融雪剂/撒盐/冰面, burning rubbish, 把路都堵, whether a booking went
through 成功没有/没收到消息). Left as a judgement call: "修好的电暖器又坏了 算了 不修了 直接买个新的"
(f11-021) reads as cancelling a repair, labelled chit-chat (nothing booked is named).
fresh_round11b.jsonl (60, the same mix and winter themes, written after that round and scored
untouched) scored 93.3% (56/60; 95.0% with the rules before the round: the new 烟花 word took spent
fireworks litter for a hazard), chit-chat taken as a request 5.9% (1/17), request taken as chit-chat
2.3% (1/43), date+part 100% (15/15). Then tuned on (what is left of fireworks 鞭炮纸/烟花筒/纸屑 is
rubbish, icicles and things coming down 冰柱/冰锥/往下掉/砸碎, risky heating 电炉取暖/煤炉/生炉子 and
wires lying about 拖在地上, the idiom 不挪窝 masked).
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp.cli import _as_labelled
from nlp.corpus_files import CORPUS_DIR
from nlp.evaluation import evaluate, format_report

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # LABELS.md's reference
HERE = CORPUS_DIR
FILES = ("everyday_mix_a.jsonl", "everyday_mix_b.jsonl", "everyday_mix_c.jsonl", "unknown_words.jsonl",
         "unknown_words_b.jsonl", "notices_and_neighbours.jsonl", "notices_and_neighbours_b.jsonl",
         "dev_style_mix.jsonl", "dev_style_mix_b.jsonl", "resident_personas.jsonl", "resident_personas_b.jsonl",
         "label_boundaries.jsonl", "label_boundaries_b.jsonl", "chitchat_naming_services.jsonl",
         "hearsay_plans_invitations.jsonl", "other_vocabulary.jsonl", "other_vocabulary_b.jsonl",
         "winter_estate.jsonl", "winter_estate_b.jsonl",
         # The lead's three spot checks (60 + 60 + 40), each scored untouched before a round:
         # 93.3% (round 1), 93.3% (round 2), 92.5% (round 3).
         "lead_spot_checks.jsonl")


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_config()


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (HERE / name).read_text(encoding="utf-8").splitlines() if line.strip()]


# Chit-chat-heavy by design: its own floor, below the others'. Rounds 10 and 11 sit a little below what
# the rules reach on them after tuning.
FLOORS = {"chitchat_naming_services.jsonl": 0.97, "hearsay_plans_invitations.jsonl": 0.95,
          "other_vocabulary.jsonl": 0.97, "other_vocabulary_b.jsonl": 0.97,
          "winter_estate.jsonl": 0.97, "winter_estate_b.jsonl": 0.97}


@pytest.mark.parametrize("name", FILES)
def test_each_fresh_set(classifier: Classifier, name: str) -> None:
    report = evaluate(_rows(name), lambda text: _as_labelled(classifier.understand(text, NOW)))
    wrong = {f"{gold}->{got}": ids for (gold, got), ids in report.confusions.items()}
    assert report.accuracy.share >= FLOORS.get(name, 0.95), (name, report.accuracy, wrong)
    assert report.date_accuracy.share >= 0.95, (name, report.date_errors)


def test_fresh_sets_together(classifier: Classifier) -> None:
    rows = [row for name in FILES for row in _rows(name)]
    assert len(rows) >= 2600
    report = evaluate(rows, lambda text: _as_labelled(classifier.understand(text, NOW)))
    print()
    print(format_report(report))
    assert report.accuracy.share >= 0.97, report.accuracy
    assert report.chit_as_request.share <= 0.03, report.chit_as_request
    assert report.request_as_chit.share <= 0.03, report.request_as_chit
    assert report.date_accuracy.share >= 0.97, report.date_errors


def test_fresh_set_ids_are_unique() -> None:
    ids = [row["id"] for name in FILES for row in _rows(name)]
    assert len(ids) == len(set(ids))
